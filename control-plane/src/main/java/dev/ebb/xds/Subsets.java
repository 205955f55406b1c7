package dev.ebb.xds;

import dev.ebb.publish.Res;
import dev.ebb.publish.XdsSnapshot;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The part of a view a state-of-the-world stream asked for by name, computed once for every stream that asks for
 * the same names (the stream tracker interns name lists, so those streams hold the very same list). When the names
 * cover the whole view, the part is the view's own map and version. A part is a shared map, so the difference to
 * what a stream ACKed is computed once too ({@link Diffs}). Keyed by the identity of the view's map and of the
 * name list. Two generations: a publish keeps the parts of the maps it did not change, and forgets the rest at
 * the next publish.
 */
final class Subsets {
  /**
   * Resources of a view that a list of names selects, and the version of a response holding exactly them, computed
   * only when needed: a stream that already holds these very resources needs no version to know it is up to date.
   */
  static final class Subset {
    private final SortedMap<String, Res> resources;
    private volatile String version;

    Subset(SortedMap<String, Res> resources, String version) {
      this.resources = resources;
      this.version = version;
    }

    SortedMap<String, Res> resources() {
      return resources;
    }

    /** The version if already known (the view's own, or computed for an earlier stream), else null. */
    String knownVersion() {
      return version;
    }

    String version() {
      String v = version;
      if (v == null) {
        v = XdsSnapshot.versionOf(resources.values());
        version = v;
      }
      return v;
    }
  }

  private record Key(Map<String, Res> all, List<String> names) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.all == all && k.names == names;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(all) * 31 + System.identityHashCode(names);
    }
  }

  /** A name list by identity (the stream tracker interns them). */
  private record Names(List<String> names) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Names n && n.names == names;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(names);
    }
  }

  private volatile Map<Key, Subset> current = new ConcurrentHashMap<>();
  private volatile Map<Key, Subset> previous = new ConcurrentHashMap<>();
  /**
   * This generation's parts by name list, and the last generation's: kept as the parts are made, so that a publish
   * does not walk every part (thousands, one or more per proxyless node). A part made while a publish rolls may land
   * in either generation; it is then only kept for one generation more or less.
   */
  private volatile Map<Names, List<Subset>> currentByNames = new ConcurrentHashMap<>();
  private volatile Map<Names, List<Subset>> previousByNames = Map.of();
  /**
   * The maps handed out by {@link #of} in this generation and in the last: shared by streams, so worth remembering
   * differences against.
   */
  private volatile Map<Map<String, Res>, Boolean> sharedNow = newIdentitySet();
  private volatile Map<Map<String, Res>, Boolean> sharedBefore = newIdentitySet();

  Subset of(SortedMap<String, Res> all, String allVersion, List<String> names) {
    Key key = new Key(all, names);
    Map<Key, Subset> now = current;
    Subset s = now.get(key);
    if (s == null) {
      s = now.computeIfAbsent(key, k -> {
        Subset kept = previous.get(k); // the view's map did not change at the last publish
        Subset made = kept != null ? kept : unchangedOrNew(compute(all, allVersion, names), names);
        sharedNow.put(made.resources(), Boolean.TRUE);
        currentByNames.merge(new Names(names), List.of(made), Subsets::both);
        return made;
      });
    }
    return s;
  }

  private static List<Subset> both(List<Subset> a, List<Subset> b) {
    List<Subset> all = new java.util.ArrayList<>(a.size() + b.size());
    all.addAll(a);
    all.addAll(b);
    return all;
  }

  private static Map<Map<String, Res>, Boolean> newIdentitySet() {
    return Collections.synchronizedMap(new java.util.IdentityHashMap<>());
  }

  /**
   * A part whose resources are the very objects of a part of the last generation for the same names (the view's map
   * changed elsewhere: one route of a thousand) is that part: same map, version known, no hashing again.
   */
  private Subset unchangedOrNew(Subset made, List<String> names) {
    if (made.knownVersion() != null) {
      return made;
    }
    List<Subset> before = previousByNames.get(new Names(names));
    if (before != null) {
      for (Subset s : before) {
        if (sameResources(s.resources(), made.resources())) {
          return s;
        }
      }
    }
    return made;
  }

  private static boolean sameResources(Map<String, Res> a, Map<String, Res> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (Map.Entry<String, Res> e : a.entrySet()) {
      if (b.get(e.getKey()) != e.getValue()) {
        return false;
      }
    }
    return true;
  }

  boolean isShared(Map<String, Res> map) {
    return sharedNow.containsKey(map) || sharedBefore.containsKey(map);
  }

  /** At a publish: the parts of the last generation stay findable for one more. Constant time. */
  void roll() {
    previous = current;
    current = new ConcurrentHashMap<>();
    previousByNames = currentByNames;
    currentByNames = new ConcurrentHashMap<>();
    sharedBefore = sharedNow;
    sharedNow = newIdentitySet();
  }

  static Subset compute(SortedMap<String, Res> all, String allVersion, List<String> names) {
    SortedMap<String, Res> subset = new TreeMap<>();
    for (String n : names) {
      Res r = all.get(n);
      if (r != null) {
        subset.put(n, r);
      }
    }
    if (subset.size() == all.size()) {
      return new Subset(all, allVersion); // every resource of the view: the view's own map, shared with wildcards
    }
    return new Subset(Collections.unmodifiableSortedMap(subset), null);
  }
}
