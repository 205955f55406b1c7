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
 * (true for grpc-java and Envoy 1.37+). Nodes that disconnect are forgotten.
 */
public final class LoadTracker {
  /** One cluster's figures on one node, as of its last report. */
  record NodeCluster(long inProgress, long successTotal, long errorTotal, Deque<Instant> zeroReports) {}

  /** One node's reports. */
  static final class NodeLoad {
    final String nodeId;
    int reports;
    Instant lastReport;
    final Map<String, NodeCluster> clusters = new HashMap<>();

    NodeLoad(String nodeId) {
      this.nodeId = nodeId;
    }
  }

  /** Totals of one cluster over every reporting node. */
  public record ClusterTotals(long openStreams, long successTotal, long errorTotal, int reportingNodes) {}

  private final Clock clock;
  private final Map<Long, NodeLoad> nodes = new ConcurrentHashMap<>();
  private volatile Set<String> tracked = Set.of();

  public LoadTracker(Clock clock) {
    this.clock = clock;
  }

  /** The clusters Ebb asks reports for; a cluster a node leaves out is 0 there. */
  public void track(Set<String> clusters) {
    tracked = Set.copyOf(clusters);
  }

  public Set<String> tracked() {
    return tracked;
  }

  void opened(long stream, String nodeId) {
    nodes.put(stream, new NodeLoad(nodeId));
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

  /**
   * Whether a draining cluster may go before its deadline: at least one node reports, and every reporting
   * node sent at least two reports since {@code since}, each with zero streams in progress on it.
   */
  /** The reason recorded with an early drain end. */
  public String idleReason() {
    int n = reporting().size();
    return "load reports: none of the " + n + " reporting node" + (n == 1 ? "" : "s")
        + " had a stream in progress or started on it, in two reports each since the drain began";
  }

  public boolean idleSince(String cluster, Instant since) {
    List<NodeLoad> reporting = reporting();
    if (reporting.isEmpty()) {
      return false;
    }
    for (NodeLoad n : reporting) {
      synchronized (n) {
        NodeCluster c = n.clusters.get(cluster);
        if (c == null) {
          // never named in this node's reports (not even as tracked): only its reports since count
          return false;
        }
        long zerosSince = c.zeroReports().stream().filter(t -> !t.isBefore(since)).count();
        if (zerosSince < 2) {
          return false;
        }
      }
    }
    return true;
  }
}
