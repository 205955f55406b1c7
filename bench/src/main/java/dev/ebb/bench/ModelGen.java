package dev.ebb.bench;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The benchmark's workload: R routes and R backends of 10 endpoints each (R x 10 endpoints); every odd route
 * is mid-rollout (stable backend i, canary backend i-1 at a weight), so half of the routes can shift. Route
 * {@link #HOT} is the one a rollout step moves on its own (the one-route change); the many-route change moves
 * every mid-rollout route; the endpoint change moves the port of backend b0's first endpoint.
 */
final class ModelGen {
  static final int ENDPOINTS_PER_BACKEND = 10;
  /** The route a one-route change (a rollout step) shifts: r1, stable b1, canary b0. */
  static final int HOT = 1;
  /** The backend whose first endpoint an endpoint change moves (the canary of the hot route). */
  static final String MOVED_BACKEND = "b0";
  static final int BASE_PORT = 8080;

  private ModelGen() {}

  /** Every mid-rollout route at {@code shift} basis points. */
  static Model model(int routes, int shift, int portBump) {
    return model(routes, shift, shift, portBump);
  }

  /**
   * @param shift the canary weight of the mid-rollout routes other than {@link #HOT}, in basis points
   * @param hotShift the canary weight of route {@link #HOT}
   * @param portBump added to the port of the first endpoint of {@link #MOVED_BACKEND}
   */
  static Model model(int routes, int shift, int hotShift, int portBump) {
    List<Route> rs = new ArrayList<>();
    List<Backend> bs = new ArrayList<>();
    for (int i = 0; i < routes; i++) {
      Optional<String> canary = i % 2 == 1 ? Optional.of(backend(i - 1)) : Optional.empty();
      rs.add(new Route("r" + i, List.of(host(i)), i % 3 == 0 ? Protocol.GRPC : Protocol.WEBSOCKET,
          "/", "edge", new Rollout(backend(i), canary, canaryWeight(i, shift, hotShift)), Duration.ofMinutes(15),
          Duration.ofHours(1), Optional.empty()));
      List<Endpoint> eps = new ArrayList<>();
      for (int e = 0; e < ENDPOINTS_PER_BACKEND; e++) {
        int port = BASE_PORT + (i == 0 && e == 0 ? portBump : 0);
        eps.add(new Endpoint("10." + (i / 250) + "." + (i % 250) + "." + (e + 1), port, "zone-" + (e % 3),
            dev.ebb.api.model.EndpointState.READY));
      }
      bs.add(new Backend(backend(i), eps));
    }
    return new Model(List.of(ListenerSpec.DEFAULT), rs, bs);
  }

  /** The canary weight route {@code i} carries on the wire (0: the route has no canary). */
  static int canaryWeight(int i, int shift, int hotShift) {
    if (i % 2 == 0) {
      return 0;
    }
    return i == HOT ? hotShift : shift;
  }

  static String backend(int i) {
    return "b" + i;
  }

  static String host(int i) {
    return "r" + i + ".example.com";
  }

  /** The clusters a proxyless client of route {@code i} asks for: the backends its route names. */
  static List<String> backendsOf(int i) {
    return i % 2 == 1 ? List.of(backend(i - 1), backend(i)) : List.of(backend(i));
  }

  /**
   * The same workload as the file source's YAML; with {@code scoped}, the listener scopes its routes by host
   * (SRDS: one RouteConfiguration per host).
   */
  static String yaml(int routes, int shift, int hotShift, int portBump, boolean scoped) {
    Model m = model(routes, shift, hotShift, portBump);
    StringBuilder sb = new StringBuilder();
    if (scoped) {
      ListenerSpec l = ListenerSpec.DEFAULT;
      sb.append("listeners:\n  - name: ").append(l.name()).append("\n    port: ").append(l.port())
          .append("\n    routeScoping: host\n");
    }
    sb.append("routes:\n");
    for (Route r : m.routes()) {
      sb.append("  - name: ").append(r.name()).append('\n')
          .append("    hosts: [\"").append(r.hosts().get(0)).append("\"]\n")
          .append("    protocol: ").append(r.protocol().wireName()).append('\n')
          .append("    stable: ").append(r.rollout().stable()).append('\n');
      r.rollout().canary().ifPresent(c -> sb.append("    canary: ").append(c).append('\n')
          .append("    canaryWeight: ").append(dev.ebb.api.text.Weights.formatPercent(r.rollout()
              .canaryWeightBasisPoints())).append('\n'));
    }
    sb.append("backends:\n");
    for (Backend b : m.backends()) {
      sb.append("  - name: ").append(b.name()).append("\n    endpoints: [");
      for (int i = 0; i < b.endpoints().size(); i++) {
        Endpoint e = b.endpoints().get(i);
        sb.append(i == 0 ? "" : ", ").append('"').append(e.address()).append(':').append(e.port()).append('"');
      }
      sb.append("]\n");
    }
    return sb.toString();
  }
}
