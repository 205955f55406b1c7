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
  /** Resources of {@code to} that are new or differ from {@code from}, and names of {@code from} not in {@code to}. */
  record Diff(List<Res> changed, List<String> removed) {}

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
    for (Res r : to.values()) {
      Res before = from.get(r.name());
      if (before == null || !before.hash().equals(r.hash())) {
        changed.add(r);
      }
    }
    List<String> removed = new ArrayList<>();
    for (String n : from.keySet()) {
      if (!to.containsKey(n)) {
        removed.add(n);
      }
    }
    return new Diff(List.copyOf(changed), List.copyOf(removed));
  }
}
