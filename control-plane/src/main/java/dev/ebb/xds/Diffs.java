package dev.ebb.xds;

import dev.ebb.publish.Res;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What changed between two resource maps, computed once and shared by every stream that holds the same map: most
 * nodes of a group ACKed the very same shared view map, so one change costs one comparison per group instead of
 * one scan of every name per stream. Keyed by the identity of both maps; cleared at every publish.
 */
final class Diffs {
  /**
   * Resources of {@code to} that are new or differ from {@code from} (in the order of {@code to}), and names of
   * {@code from} not in {@code to}. The same change as a map and its delta signature are made once, on first use,
   * for every stream that gets exactly this change.
   */
  static final class Diff {
    private final List<Res> changed;
    private final List<String> removed;
    private final boolean added;
    private volatile java.util.SortedMap<String, Res> changedMap;
    private volatile String signature;

    Diff(List<Res> changed, List<String> removed, boolean added) {
      this.changed = changed;
      this.removed = removed;
      this.added = added;
    }

    /** Whether a changed resource is new (its name is not in {@code from}). */
    boolean added() {
      return added;
    }

    /** The shared map of the changed resources if {@link #changedMap()} has made it, else null. */
    java.util.SortedMap<String, Res> changedMapIfMade() {
      return changedMap;
    }

    List<Res> changed() {
      return changed;
    }

    List<String> removed() {
      return removed;
    }

    /** The changed resources by name (unmodifiable, shared). */
    java.util.SortedMap<String, Res> changedMap() {
      java.util.SortedMap<String, Res> m = changedMap;
      if (m == null) {
        java.util.TreeMap<String, Res> t = new java.util.TreeMap<>();
        changed.forEach(r -> t.put(r.name(), r));
        m = java.util.Collections.unmodifiableSortedMap(t);
        changedMap = m;
      }
      return m;
    }

    /** {@code XdsSnapshot.versionOf(changedMap().values(), removed())}, computed once. */
    String signature() {
      String s = signature;
      if (s == null) {
        s = dev.ebb.publish.XdsSnapshot.versionOf(changedMap().values(), removed);
        signature = s;
      }
      return s;
    }
  }

  private record Key(Map<String, Res> from, Map<String, Res> to) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.from == from && k.to == to;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(from) * 31 + System.identityHashCode(to);
    }
  }

  private final Map<Key, Diff> cache = new ConcurrentHashMap<>();

  Diff between(Map<String, Res> from, Map<String, Res> to) {
    return cache.computeIfAbsent(new Key(from, to), k -> compute(from, to));
  }

  /** The difference of these two maps if already known (computed for some stream since the publish), else null. */
  Diff cached(Map<String, Res> from, Map<String, Res> to) {
    return cache.get(new Key(from, to));
  }

  void clear() {
    cache.clear();
  }

  static Diff compute(Map<String, Res> from, Map<String, Res> to) {
    List<Res> changed = new ArrayList<>();
    boolean added = false;
    for (Res r : to.values()) {
      Res before = from.get(r.name());
      if (before == null || !before.hash().equals(r.hash())) {
        changed.add(r);
        added |= before == null;
      }
    }
    List<String> removed = new ArrayList<>();
    for (String n : from.keySet()) {
      if (!to.containsKey(n)) {
        removed.add(n);
      }
    }
    return new Diff(List.copyOf(changed), List.copyOf(removed), added);
  }
}
