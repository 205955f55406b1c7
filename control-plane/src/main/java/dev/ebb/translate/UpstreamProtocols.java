package dev.ebb.translate;

import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Protocol;
import dev.ebb.rollout.DesiredState;
import dev.ebb.rollout.DesiredState.BackendState;
import dev.ebb.rollout.DesiredState.Drain;
import dev.ebb.rollout.DesiredState.RouteState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which backends Envoy reaches over HTTP/2, and the backends whose routes disagree about it. Pure.
 *
 * <p>A backend is one Envoy cluster, and a cluster has one upstream protocol: HTTP/2 as soon as a {@code grpc}
 * route sends it streams or drains from it (a draining backend keeps the protocol it had: a changed cluster would
 * be rebuilt and its load uncounted). A {@code websocket} or {@code http} route that shares such a backend then
 * reaches it over HTTP/2 as well, which a backend that speaks only HTTP/1.1 refuses. The input is valid (a
 * backend that speaks both works), so this is a warning, naming the backend and every route on each side. It is
 * given while a websocket or http route sends the backend new streams (not while it only drains from it).
 *
 * @param http2Backends names of the backends whose clusters speak HTTP/2 upstream
 * @param warnings one per backend shared by a grpc route and a websocket or http route, sorted by backend
 */
public record UpstreamProtocols(Set<String> http2Backends, List<ConfigError> warnings) {
  public UpstreamProtocols {
    http2Backends = Set.copyOf(http2Backends);
    warnings = List.copyOf(warnings);
  }

  /** A route that sends a backend streams, or drains from it. */
  private record User(String route, Protocol protocol, boolean draining) {}

  /** The backends whose clusters speak HTTP/2 upstream: what the translator needs, without the warnings. */
  public static Set<String> http2Backends(DesiredState state) {
    Set<String> http2 = new java.util.HashSet<>();
    for (RouteState r : state.routes()) {
      if (r.route().protocol() == Protocol.GRPC) {
        http2.addAll(r.route().backendNames());
      }
    }
    for (BackendState b : state.backends()) {
      for (Drain d : b.drains()) {
        if (d.protocol() == Protocol.GRPC) {
          http2.add(b.backend().name());
        }
      }
    }
    return http2;
  }

  /**
   * Whether {@link #of} gives the same for both: the same routes in the same order with the same protocols and
   * backends, and the same drains. Cheaper than {@link #of} (no sets, no messages): a weight change keeps it.
   */
  public static boolean sameInputs(DesiredState a, DesiredState b) {
    if (a.routes().size() != b.routes().size() || a.backends().size() != b.backends().size()) {
      return false;
    }
    for (int i = 0; i < a.routes().size(); i++) {
      var x = a.routes().get(i).route();
      var y = b.routes().get(i).route();
      if (x != y && (x.protocol() != y.protocol() || !x.name().equals(y.name())
          || !x.backendNames().equals(y.backendNames()))) {
        return false;
      }
    }
    for (int i = 0; i < a.backends().size(); i++) {
      BackendState x = a.backends().get(i);
      BackendState y = b.backends().get(i);
      if (!x.backend().name().equals(y.backend().name()) || !x.drains().equals(y.drains())) {
        return false;
      }
    }
    return true;
  }

  public static UpstreamProtocols of(DesiredState state) {
    Set<String> http2Backends = http2Backends(state);
    // only a backend that speaks HTTP/2 and gets new streams from a websocket or http route is worth a closer look
    Set<String> shared = new java.util.HashSet<>();
    for (RouteState r : state.routes()) {
      if (r.route().protocol() != Protocol.GRPC) {
        r.route().backendNames().stream().filter(http2Backends::contains).forEach(shared::add);
      }
    }
    if (shared.isEmpty()) {
      return new UpstreamProtocols(http2Backends, List.of());
    }
    SortedMap<String, SortedMap<String, User>> users = new TreeMap<>();
    for (RouteState r : state.routes()) {
      for (String b : r.route().backendNames()) {
        if (!shared.contains(b)) {
          continue;
        }
        users.computeIfAbsent(b, k -> new TreeMap<>())
            .put(r.route().name(), new User(r.route().name(), r.route().protocol(), false));
      }
    }
    for (BackendState b : state.backends()) {
      if (!shared.contains(b.backend().name())) {
        continue;
      }
      for (Drain d : b.drains()) {
        users.computeIfAbsent(b.backend().name(), k -> new TreeMap<>())
            .putIfAbsent(d.route(), new User(d.route(), d.protocol(), true));
      }
    }
    List<ConfigError> warnings = new ArrayList<>();
    users.forEach((backend, byRoute) -> {
      List<User> grpc = byRoute.values().stream().filter(u -> u.protocol() == Protocol.GRPC).toList();
      // a websocket or http route that only drains from the backend sends it no new stream: nothing to warn about
      List<User> others = byRoute.values().stream().filter(u -> u.protocol() != Protocol.GRPC && !u.draining())
          .toList();
      if (!grpc.isEmpty() && !others.isEmpty()) {
        warnings.add(warning(backend, grpc, others));
      }
    });
    return new UpstreamProtocols(http2Backends, warnings);
  }

  /**
   * {@code backend chat-v1: protocol: shared by grpc route rpc and websocket route chat: its cluster speaks HTTP/2
   * (for gRPC) to all of them, so route chat reaches chat-v1 over HTTP/2 too, which a backend that speaks only
   * HTTP/1.1 refuses; give each protocol a backend of its own}
   */
  static ConfigError warning(String backend, List<User> grpc, List<User> others) {
    List<String> sides = new ArrayList<>();
    sides.addAll(describe(grpc));
    sides.addAll(describe(others));
    Set<String> protocols = new TreeSet<>();
    grpc.forEach(u -> protocols.add(u.protocol().wireName()));
    others.forEach(u -> protocols.add(u.protocol().wireName()));
    List<String> affected = others.stream().map(User::route).toList();
    return ConfigError.of("backend " + backend, "protocol", String.join(", ", protocols),
        "shared by " + join(sides) + ": its cluster speaks HTTP/2 (for gRPC) to all of them, so "
            + (affected.size() == 1 ? "route " : "routes ") + join(affected) + " reach" + (affected.size() == 1
            ? "es " : " ") + backend + " over HTTP/2 too, which a backend that speaks only HTTP/1.1 refuses;"
            + " give each protocol a backend of its own");
  }

  /** "grpc route rpc", "websocket routes a, b (draining)", by protocol in the order given. */
  private static List<String> describe(List<User> users) {
    Map<Protocol, List<String>> byProtocol = new TreeMap<>();
    for (User u : users) {
      byProtocol.computeIfAbsent(u.protocol(), p -> new ArrayList<>())
          .add(u.route() + (u.draining() ? " (draining)" : ""));
    }
    List<String> out = new ArrayList<>();
    byProtocol.forEach((p, names) -> out.add(p.wireName() + (names.size() == 1 ? " route " : " routes ")
        + String.join(", ", names)));
    return out;
  }

  private static String join(List<String> parts) {
    if (parts.size() <= 1) {
      return String.join("", parts);
    }
    return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
  }
}
