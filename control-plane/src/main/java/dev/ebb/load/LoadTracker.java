package dev.ebb.load;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Open streams per cluster, from the load reports of every node with an open LRS stream. A node counts as
 * reporting once it has sent one report; a cluster missing from its report counts as 0 open streams there
 * (true for grpc-java, gRPC C-core and Envoy 1.37+). Nodes that disconnect are forgotten. What each client family
 * leaves out of its reports is in docs/COMPATIBILITY.md; two traps decide the rules here:
 * gRPC C-core sends no second report in a row when nothing changed (so silence after a zero report is zero), and
 * grpc-js-xds leaves out a locality whose only load is streams already open (so its zero proves nothing: while
 * such a node reports, drains run to their deadline).
 */
public final class LoadTracker {
  /** One cluster's figures on one node, as of its last report. */
  record NodeCluster(long inProgress, long successTotal, long errorTotal, Deque<Instant> zeroReports) {}

  /** One node's reports. */
  static final class NodeLoad {
    final String nodeId;
    /** Its reports leave out idle long-lived streams: they can never show a drain idle. */
    final boolean omitsIdleStreams;
    int reports;
    Instant lastReport;
    final Map<String, NodeCluster> clusters = new HashMap<>();

    NodeLoad(String nodeId, boolean omitsIdleStreams) {
      this.nodeId = nodeId;
      this.omitsIdleStreams = omitsIdleStreams;
    }
  }

  /** Totals of one cluster over every reporting node. */
  public record ClusterTotals(long openStreams, long successTotal, long errorTotal, int reportingNodes) {}

  private final Clock clock;
  private final Map<Long, NodeLoad> nodes = new ConcurrentHashMap<>();
  private volatile Set<String> tracked = Set.of();

  /** grpc-js-xds's {@code node.user_agent_name}: it skips localities with no call started in the interval. */
  static final String GRPC_JS = "gRPC Node Pure JS";

  private volatile java.time.Duration interval = java.time.Duration.ofSeconds(10);

  public LoadTracker(Clock clock) {
    this.clock = clock;
  }

  /** The report interval nodes are asked for: silence of two intervals after a zero report counts as zero. */
  void interval(java.time.Duration interval) {
    this.interval = interval;
  }

  /** The clusters Ebb asks reports for; a cluster a node leaves out is 0 there. */
  public void track(Set<String> clusters) {
    tracked = Set.copyOf(clusters);
  }

  public Set<String> tracked() {
    return tracked;
  }

  void opened(long stream, String nodeId, String userAgentName) {
    nodes.put(stream, new NodeLoad(nodeId, GRPC_JS.equals(userAgentName)));
  }

  void closed(long stream) {
    nodes.remove(stream);
  }

  /**
   * One report: per cluster (summed over localities) streams in progress, then successful, failed and issued
   * requests since the last report.
   */
  void report(long stream, Map<String, long[]> byCluster) {
    NodeLoad n = nodes.get(stream);
    if (n == null) {
      return;
    }
    Instant now = clock.instant();
    synchronized (n) {
      n.reports++;
      n.lastReport = now;
      Set<String> names = new java.util.HashSet<>(tracked);
      names.addAll(byCluster.keySet());
      names.addAll(n.clusters.keySet());
      for (String c : names) {
        long[] v = byCluster.getOrDefault(c, new long[4]);
        NodeCluster before = n.clusters.get(c);
        Deque<Instant> zeros = before == null ? new ArrayDeque<>() : before.zeroReports();
        // idle: nothing in progress, and no new stream started since the last report (a node that has not
        // applied new weights yet may still start short calls there)
        if (v[0] == 0 && (v.length < 4 || v[3] == 0)) {
          zeros.addLast(now);
          while (zeros.size() > 4) {
            zeros.removeFirst();
          }
        } else {
          zeros.clear();
        }
        long success = (before == null ? 0 : before.successTotal()) + v[1];
        long error = (before == null ? 0 : before.errorTotal()) + v[2];
        n.clusters.put(c, new NodeCluster(v[0], success, error, zeros));
      }
    }
  }

  private List<NodeLoad> reporting() {
    return nodes.values().stream().filter(n -> n.reports > 0).toList();
  }

  public int reportingNodes() {
    return reporting().size();
  }

  /** Totals per cluster over all reporting nodes (clusters tracked or reported). */
  public Map<String, ClusterTotals> totals() {
    Map<String, long[]> sums = new TreeMap<>();
    List<NodeLoad> reporting = reporting();
    for (NodeLoad n : reporting) {
      synchronized (n) {
        n.clusters.forEach((c, v) -> {
          long[] s = sums.computeIfAbsent(c, k -> new long[3]);
          s[0] += v.inProgress();
          s[1] += v.successTotal();
          s[2] += v.errorTotal();
        });
      }
    }
    Map<String, ClusterTotals> out = new TreeMap<>();
    sums.forEach((c, s) -> out.put(c, new ClusterTotals(s[0], s[1], s[2], reporting.size())));
    return out;
  }

  /** Open streams of a cluster over all reporting nodes; empty when no node reports. */
  public java.util.OptionalLong openStreams(String cluster) {
    List<NodeLoad> reporting = reporting();
    if (reporting.isEmpty()) {
      return java.util.OptionalLong.empty();
    }
    long sum = 0;
    for (NodeLoad n : reporting) {
      synchronized (n) {
        NodeCluster c = n.clusters.get(cluster);
        sum += c == null ? 0 : c.inProgress();
      }
    }
    return java.util.OptionalLong.of(sum);
  }

  /** The reason recorded with an early drain end. */
  public String idleReason() {
    int n = reporting().size();
    return "load reports: none of the " + n + " reporting node" + (n == 1 ? "" : "s")
        + " had a stream in progress or started on it since the drain began";
  }

  /**
   * Whether a draining cluster may go before its deadline: at least one node reports, and every reporting
   * node reported zero streams in progress and none started on it since {@code since}: in two reports, or in its
   * last report followed by two intervals of silence (gRPC C-core does not repeat an empty report). A node whose
   * reports leave out idle streams (grpc-js-xds) keeps every drain to its deadline.
   */
  public boolean idleSince(String cluster, Instant since) {
    List<NodeLoad> reporting = reporting();
    if (reporting.isEmpty()) {
      return false;
    }
    Instant now = clock.instant();
    for (NodeLoad n : reporting) {
      synchronized (n) {
        if (n.omitsIdleStreams) {
          return false;
        }
        NodeCluster c = n.clusters.get(cluster);
        if (c == null) {
          // never named in this node's reports (not even as tracked): only its reports since count
          return false;
        }
        long zerosSince = c.zeroReports().stream().filter(t -> !t.isBefore(since)).count();
        boolean lastWasZero = zerosSince > 0 && c.zeroReports().peekLast().equals(n.lastReport);
        boolean silentSince = lastWasZero && !now.isBefore(n.lastReport.plus(interval.multipliedBy(2)));
        if (zerosSince < 2 && !silentSince) {
          return false;
        }
      }
    }
    return true;
  }
}
