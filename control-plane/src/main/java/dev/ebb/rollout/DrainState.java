package dev.ebb.rollout;

import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.Protocol;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What the rollout engine remembers from one run to the next, and across restarts: which backends had a
 * share of a route's new streams (with their last known endpoints, in case their entry vanishes), and which
 * drain since when.
 */
public record DrainState(SortedMap<RouteBackend, Active> active, SortedMap<RouteBackend, DrainRecord> drains,
    SortedMap<RouteBackend, EarlyEnd> endedEarly) {
  public static final DrainState EMPTY = new DrainState(new TreeMap<>(), new TreeMap<>());

  public DrainState {
    active = naturalOrder(active);
    drains = naturalOrder(drains);
    endedEarly = naturalOrder(endedEarly);
  }

  /**
   * A read-only copy in the keys' natural order, whatever order the given map keeps ({@link #equals} walks two
   * states side by side); linear when the given map is in natural order already.
   */
  private static <V> SortedMap<RouteBackend, V> naturalOrder(SortedMap<RouteBackend, V> m) {
    TreeMap<RouteBackend, V> copy = new TreeMap<>();
    copy.putAll(m);
    return java.util.Collections.unmodifiableSortedMap(copy);
  }

  public DrainState(SortedMap<RouteBackend, Active> active, SortedMap<RouteBackend, DrainRecord> drains) {
    this(active, drains, new TreeMap<>());
  }

  /**
   * The decision that a drain ended before its deadline (load reports showed it idle), kept until that deadline
   * so that every replica, and this one after a restart, ends the same drain (the one that started at
   * {@code start}) instead of deciding again from its own reports.
   */
  public record EarlyEnd(Instant start, Instant deadline, Instant at, String reason) {}

  /** The same state with these early-end records added (another replica's decisions). */
  public DrainState withEndedEarly(java.util.Map<RouteBackend, EarlyEnd> more) {
    SortedMap<RouteBackend, EarlyEnd> all = new TreeMap<>(endedEarly);
    all.putAll(more);
    return new DrainState(active, drains, all);
  }

  /** One backend of one route. */
  public record RouteBackend(String route, String backend) implements Comparable<RouteBackend> {
    /**
     * By route, then backend. Written out: every build looks up each route's backends in sorted maps, and
     * {@code Comparator.comparing} shares its call sites with every other such comparator in the JVM, so the JIT
     * cannot inline the key extractors (measured: {@code TranslateBench.oneRouteRolloutStep}, docs/PERFORMANCE.md).
     */
    @Override
    public int compareTo(RouteBackend o) {
      int byRoute = route.compareTo(o.route);
      return byRoute != 0 ? byRoute : backend.compareTo(o.backend);
    }
  }

  /**
   * A backend with weight > 0 on a route: the route's drain timeout and protocol, and the backend's endpoints.
   */
  public record Active(Duration drainTimeout, List<Endpoint> endpoints, Protocol protocol) {
    public Active {
      endpoints = List.copyOf(endpoints);
    }
  }

  /**
   * A drain: since when, for how long, every endpoint the backend had since (kept until the deadline), and the
   * route's protocol (a draining gRPC backend keeps its HTTP/2 cluster even when its route is gone).
   */
  public record DrainRecord(Instant start, Duration timeout, List<Endpoint> endpoints, Protocol protocol) {
    public DrainRecord {
      endpoints = endpoints.stream().sorted(Endpoint.ORDER).toList();
    }

    public Instant deadline() {
      return start.plus(timeout);
    }
  }

  /**
   * The same entries in the same maps. The pipeline compares every build's state with the last one: walking the
   * sorted maps side by side is linear, where the maps' own equals looks each key up in the other map.
   */
  @Override
  public boolean equals(Object o) {
    return o == this || o instanceof DrainState d && sameEntries(active, d.active) && sameEntries(drains, d.drains)
        && sameEntries(endedEarly, d.endedEarly);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(active, drains, endedEarly);
  }

  /** Equal as maps: both are sorted by the keys' natural order, so equal maps list equal entries in turn. */
  private static boolean sameEntries(SortedMap<RouteBackend, ?> a, SortedMap<RouteBackend, ?> b) {
    if (a.size() != b.size()) {
      return false;
    }
    var i = a.entrySet().iterator();
    var j = b.entrySet().iterator();
    while (i.hasNext()) {
      var x = i.next();
      var y = j.next();
      if (!x.getKey().equals(y.getKey()) || !java.util.Objects.equals(x.getValue(), y.getValue())) {
        return false;
      }
    }
    return true;
  }

  /** Same drains, ignoring endpoint states: what must survive a restart. */
  public Map<RouteBackend, Instant> drainStarts() {
    Map<RouteBackend, Instant> starts = new TreeMap<>();
    drains.forEach((k, v) -> starts.put(k, v.start()));
    return starts;
  }
}
