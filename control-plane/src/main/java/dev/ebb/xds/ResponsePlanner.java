package dev.ebb.xds;

import dev.ebb.publish.Res;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Pure: which resources a stream gets next for one type, given what it asked for, what it was sent and ACKed, and
 * the current view of its node group. No I/O, no clock, no mutation of its inputs: the stream tracker
 * ({@link XdsCache}) applies a plan and sends it.
 *
 * <p>The rules it encodes: a response only when its content differs from the last one on the stream (so a
 * NACKed version is not sent again in a loop, while a re-subscription is answered); listeners and clusters whole,
 * endpoints and routes only what the client lacks; endpoints in full after a cluster change (Envoy re-warms);
 * make-before-break (a RouteConfiguration waits until its clusters are ACKed by a node that subscribes to all
 * clusters).
 */
public final class ResponsePlanner {
  private ResponsePlanner() {}

  /**
   * What to send now, and what the stream's state becomes.
   *
   * @param sent what the client has once it ACKs this response (its new {@code sent})
   * @param version the version the response carries
   * @param resources the resources in the response (SotW: possibly fewer than {@code sent})
   * @param removed delta only: names the client must drop
   * @param changed delta only: the changes, by name (applied to what the client tracks on ACK)
   * @param respond false when the state changes but nothing needs to go out (the client's names shrank)
   */
  public record Plan(Map<String, Res> sent, String version, Collection<Res> resources, List<String> removed,
      Map<String, Res> changed, String signature, boolean respond) {}

  /** What a state-of-the-world stream asked for and has, for one type. */
  public record SotwInput(TypeUrl type, boolean wildcard, List<String> requested,
      Map<String, Res> sent, String sentVersion, Map<String, Res> acked, boolean rewarmEndpoints) {}

  /** What a delta stream asked for and has, for one type. */
  public record DeltaInput(TypeUrl type, boolean wildcard, Map<String, String> tracked, Set<String> pending,
      Map<String, Res> sent, Map<String, Res> acked, String sentVersion, String nackedSignature,
      Set<String> rewarming) {}

  /** What the node subscribing to all clusters has ACKed of them (for make-before-break); empty: no hold. */
  public record ClusterAcks(boolean wildcard, Map<String, Res> acked) {
    static final ClusterAcks NONE = new ClusterAcks(false, Map.of());
  }

  /** What changed between two maps; computed once per pair of shared maps (see {@link Diffs}). */
  public interface DiffSource {
    DiffSource SCAN = (from, to) -> Diffs.compute(from, to);

    Diffs.Diff between(Map<String, Res> from, Map<String, Res> to);
  }

  /** The part of a view a list of names selects; computed once for every stream with the same names (see {@link Subsets}). */
  public interface SubsetSource {
    SubsetSource COMPUTE = Subsets::compute;

    Subsets.Subset of(SortedMap<String, Res> all, String allVersion, List<String> names);
  }

  public static Optional<Plan> sotw(SotwInput in, XdsSnapshot.View view, ClusterAcks clusters) {
    return sotw(in, view, clusters, DiffSource.SCAN, SubsetSource.COMPUTE);
  }

  public static Optional<Plan> sotw(SotwInput in, XdsSnapshot.View view, ClusterAcks clusters, DiffSource diffs,
      SubsetSource subsets) {
    SortedMap<String, Res> all = view.of(in.type());
    Map<String, Res> candidate;
    String version;
    Subsets.Subset subset = null;
    if (in.wildcard()) {
      candidate = all; // shared by every stream with the same view
      version = view.version(in.type());
    } else {
      // names that cover the whole view (Envoy's EDS) give the view's own map, shared like a wildcard's
      subset = subsets.of(all, view.version(in.type()), in.requested());
      candidate = subset.resources();
      version = subset.knownVersion();
    }
    if (in.type() == TypeUrl.ROUTE) {
      Map<String, Res> held = holdRoutesForUnackedClusters(view, candidate, in.sent(), clusters);
      if (held != candidate) {
        candidate = held;
        version = null;
        subset = null;
      }
    }
    boolean resendEndpoints = in.type() == TypeUrl.ENDPOINT && in.rewarmEndpoints() && !candidate.isEmpty();
    if (version == null) {
      version = subset != null ? subset.version() : XdsSnapshot.versionOf(candidate.values());
    }
    if (version.equals(in.sentVersion()) && !resendEndpoints) {
      return Optional.empty();
    }
    if (candidate.isEmpty() && !in.wildcard() && in.sentVersion() == null) {
      return Optional.empty(); // names that do not exist (yet): wait rather than answer with nothing
    }
    // Listeners and clusters: always the whole state. Endpoints and routes: only what the client does not have
    // (xDS allows partial state-of-the-world responses for these types), except when Envoy re-warms clusters.
    Collection<Res> toSend;
    if (in.type().wildcardByDefault() || resendEndpoints || in.sentVersion() == null) {
      toSend = candidate.values();
    } else {
      // a request for this type is open because the client answered our last response: what it ACKed is what
      // it has. The difference between two shared maps is computed once for every stream that holds them.
      toSend = diffs.between(in.acked(), candidate).changed();
    }
    return Optional.of(new Plan(candidate, version, toSend, List.of(), Map.of(), "", !toSend.isEmpty()));
  }

  public static Optional<Plan> delta(DeltaInput in, XdsSnapshot.View view, ClusterAcks clusters) {
    return delta(in, view, clusters, DiffSource.SCAN);
  }

  public static Optional<Plan> delta(DeltaInput in, XdsSnapshot.View view, ClusterAcks clusters, DiffSource diffs) {
    SortedMap<String, Res> all = view.of(in.type());
    boolean rewarm = !in.rewarming().isEmpty();
    if (in.sent() == all && in.acked() == all && in.pending().isEmpty() && in.sentVersion() != null && !rewarm) {
      return Optional.empty(); // the node has exactly this view (the same shared map): nothing to compare
    }
    // whether the client's names cover every name of the view (then it ends up with exactly the view)
    boolean coversAll;
    List<String> removed = null;
    Map<String, Res> changed;
    Diffs.Diff shared = null;
    if (in.tracked() instanceof TrackedVersions t && in.pending().isEmpty() && !rewarm
        && (in.wildcard() || t.base() == in.acked())) {
      // the client has exactly a shared map: the change is the difference between two shared maps, computed once
      // for every stream that holds them, not a scan of every name per stream
      Diffs.Diff d = diffs.between(t.base(), all);
      // a name of the view the client lacks is in the difference (it is new to the client's map): so the client's
      // names cover the view when every changed name is one it has; no scan of every name per stream
      boolean hasEveryChanged = in.wildcard() || !d.added();
      if (hasEveryChanged) {
        // the client gets exactly the shared change: its map and signature are made once for all such streams
        shared = d;
        changed = d.changedMap();
      } else {
        changed = new TreeMap<>();
        for (Res r : d.changed()) {
          if (t.base().containsKey(r.name())) {
            changed.put(r.name(), r);
          }
        }
      }
      coversAll = in.wildcard() || hasEveryChanged;
      removed = d.removed();
    } else {
      changed = new TreeMap<>();
      Set<String> scope = new TreeSet<>();
      if (in.wildcard()) {
        scope.addAll(all.keySet());
      } else {
        scope.addAll(in.tracked().keySet());
        scope.addAll(in.pending());
      }
      for (String n : scope) {
        Res r = all.get(n);
        if (r != null && (!r.hash().equals(in.tracked().get(n)) || in.rewarming().contains(n))) {
          changed.put(n, r);
        }
      }
      coversAll = in.wildcard() || scope.containsAll(all.keySet());
    }
    if (in.type() == TypeUrl.ROUTE) {
      Map<String, Res> held = holdRoutesForUnackedClusters(view, changed, in.sent(), clusters);
      if (held != changed) {
        changed = new TreeMap<>(held);
        shared = null;
        // a held route the client already has at that version needs no update (every other one differs from it)
        changed.entrySet().removeIf(e -> e.getValue().hash().equals(in.tracked().get(e.getKey())));
      }
    }
    if (removed == null) {
      removed = in.tracked().keySet().stream().filter(n -> !all.containsKey(n)).sorted().toList();
    }
    boolean first = in.sentVersion() == null;
    if (changed.isEmpty() && removed.isEmpty() && !first) {
      return Optional.empty();
    }
    if (changed.size() == all.size() && (in.type() != TypeUrl.ROUTE || sameResources(changed, all))) {
      // every resource of the view (a first sync): the view's own map, not a copy per stream that the stream keeps
      // until its next response
      changed = all;
    }
    String signature = shared != null ? shared.signature() : XdsSnapshot.versionOf(changed.values(), removed);
    if (signature.equals(in.nackedSignature())) {
      return Optional.empty(); // exactly what the client rejected: wait for a new config
    }
    boolean holding = in.type() == TypeUrl.ROUTE && clusters.wildcard()
        && clusters.acked() != view.of(TypeUrl.CLUSTER)
        && !view.routeClusters().values().stream().allMatch(clusters.acked().keySet()::containsAll);
    Map<String, Res> after;
    String version;
    if (!holding && coversAll) {
      after = all; // the client will have exactly this view: share it
      version = view.version(in.type());
    } else {
      TreeMap<String, Res> merged = new TreeMap<>(in.sent());
      merged.putAll(changed);
      removed.forEach(merged::remove);
      after = merged;
      version = XdsSnapshot.versionOf(after.values());
    }
    return Optional.of(new Plan(after, version, changed.values(), removed, changed, signature, true));
  }

  /** Same names, each mapped to the very same resource object. */
  private static boolean sameResources(Map<String, Res> a, Map<String, Res> b) {
    for (Map.Entry<String, Res> e : a.entrySet()) {
      if (b.get(e.getKey()) != e.getValue()) {
        return false;
      }
    }
    return a.size() == b.size();
  }

  /**
   * Make-before-break for nodes that subscribe to every cluster: a RouteConfiguration that names a cluster the
   * node has not ACKed is replaced by the version last sent (or left out) until the CDS ACK arrives.
   */
  static Map<String, Res> holdRoutesForUnackedClusters(XdsSnapshot.View view, Map<String, Res> candidate,
      Map<String, Res> previouslySent, ClusterAcks clusters) {
    if (!clusters.wildcard()) {
      return candidate; // proxyless gRPC asks for clusters by name only once a route names them
    }
    if (clusters.acked() == view.of(TypeUrl.CLUSTER)) {
      return candidate; // the node ACKed exactly this snapshot's clusters (the shared map): nothing to hold
    }
    Set<String> acked = clusters.acked().keySet();
    Map<String, Res> result = candidate;
    List<String> held = new ArrayList<>();
    for (String name : candidate.keySet()) {
      Set<String> needed = view.routeClusters().getOrDefault(name, Set.of());
      if (!acked.containsAll(needed)) {
        if (result == candidate) {
          result = new TreeMap<>(candidate);
        }
        held.add(name);
        Res previous = previouslySent.get(name);
        if (previous != null) {
          result.put(name, previous);
        } else {
          result.remove(name);
        }
      }
    }
    return result;
  }
}
