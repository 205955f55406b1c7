package dev.ebb.xds;

import dev.ebb.publish.Res;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Delta: the versions a client has, as a read-only view of a shared resource map (the view it ACKed). Most delta
 * clients of a group have exactly the group's view: they share its map instead of each holding a copy of every
 * name and version. {@link #mutable} copies before a change.
 */
final class TrackedVersions extends AbstractMap<String, String> {
  private final Map<String, Res> base;

  TrackedVersions(Map<String, Res> base) {
    this.base = base;
  }

  Map<String, Res> base() {
    return base;
  }

  @Override
  public String get(Object key) {
    Res r = base.get(key);
    return r == null ? null : r.hash();
  }

  @Override
  public boolean containsKey(Object key) {
    return base.containsKey(key);
  }

  @Override
  public int size() {
    return base.size();
  }

  @Override
  public Set<String> keySet() {
    return base.keySet();
  }

  @Override
  public Set<Entry<String, String>> entrySet() {
    return new AbstractSet<>() {
      @Override
      public Iterator<Entry<String, String>> iterator() {
        Iterator<Res> it = base.values().iterator();
        return new Iterator<>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Entry<String, String> next() {
            Res r = it.next();
            return Map.entry(r.name(), r.hash());
          }
        };
      }

      @Override
      public int size() {
        return base.size();
      }
    };
  }

  /** A map that may be changed: the same map, or a copy of a shared view. */
  static Map<String, String> mutable(Map<String, String> m) {
    return m instanceof HashMap<String, String> h ? h : new HashMap<>(m);
  }

  /** The shared form when {@code tracked} holds exactly the versions of {@code acked}, else {@code tracked}. */
  static Map<String, String> compact(Map<String, String> tracked, Map<String, Res> acked) {
    if (tracked instanceof TrackedVersions t && t.base == acked) {
      return tracked;
    }
    if (tracked.size() != acked.size()) {
      return tracked;
    }
    for (Res r : acked.values()) {
      if (!r.hash().equals(tracked.get(r.name()))) {
        return tracked;
      }
    }
    return new TrackedVersions(acked);
  }
}
