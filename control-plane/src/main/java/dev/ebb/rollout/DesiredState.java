package dev.ebb.rollout;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Route;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What Envoy and gRPC clients should have now: each route with the weights in effect, and every backend
 * that must be in the config (taking new streams, or draining), sorted by name.
 *
 * @param nextChange the next instant at which this state changes by itself (a drain deadline)
 * @param secrets the certificates of TLS listeners, passed through from the model
 */
public record DesiredState(
    List<ListenerSpec> listeners,
    List<RouteState> routes,
    List<BackendState> backends,
    Optional<Instant> nextChange,
    List<dev.ebb.api.model.TlsSecret> secrets) {

  public DesiredState {
    listeners = List.copyOf(listeners);
    routes = List.copyOf(routes);
    backends = List.copyOf(backends);
    secrets = List.copyOf(secrets);
  }

  public DesiredState(List<ListenerSpec> listeners, List<RouteState> routes, List<BackendState> backends,
      Optional<Instant> nextChange) {
    this(listeners, routes, backends, nextChange, List.of());
  }

  /**
   * A route and the backends it lists, with their share of NEW streams in basis points (sum 10,000); a backend of
   * the route at weight 0 is listed too while it exists (gRPC clients keep it warm).
   */
  public record RouteState(Route route, List<WeightedBackend> weights) {
    public RouteState {
      weights = List.copyOf(weights);
    }

    /**
     * The one place a backend's share is read: every backend the route names, in the route's order, with its
     * share of new streams in basis points (0 for one listed at 0, or one whose entry is missing). /status, the
     * status annotation and the metrics all show this.
     */
    public java.util.Map<String, Integer> shares() {
      java.util.Map<String, Integer> shares = new java.util.LinkedHashMap<>();
      for (String b : route.backendNames()) {
        shares.put(b, weights.stream().filter(w -> w.backend().equals(b)).mapToInt(WeightedBackend::weight).sum());
      }
      return shares;
    }
  }

  /** A backend with a share of new streams, in basis points. */
  public record WeightedBackend(String backend, int weight) {}

  /**
   * A backend whose cluster is in the config.
   *
   * @param drains the drains holding it (empty when some route still sends it new streams)
   */
  public record BackendState(Backend backend, List<Drain> drains) {
    public BackendState {
      drains = List.copyOf(drains);
    }

    public boolean draining() {
      return !drains.isEmpty();
    }
  }

  /** A backend that stopped receiving a route's new streams at {@code start}; it leaves at {@code deadline}. */
  public record Drain(String route, String backend, Instant start, Instant deadline,
      dev.ebb.api.model.Protocol protocol) {}
}
