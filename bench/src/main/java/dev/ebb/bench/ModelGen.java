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
 * is mid-rollout (stable backend i, canary backend i-1 at a weight), so half of the routes shift.
 */
final class ModelGen {
  static final int ENDPOINTS_PER_BACKEND = 10;

  private ModelGen() {}

  /** @param shift the canary weight of the mid-rollout routes, in basis points; {@code portBump} moves one endpoint */
  static Model model(int routes, int shift, int portBump) {
    List<Route> rs = new ArrayList<>();
    List<Backend> bs = new ArrayList<>();
    for (int i = 0; i < routes; i++) {
      Optional<String> canary = i % 2 == 1 ? Optional.of(backend(i - 1)) : Optional.empty();
      rs.add(new Route("r" + i, List.of("r" + i + ".example.com"), i % 3 == 0 ? Protocol.GRPC : Protocol.WEBSOCKET,
          "/", "edge", new Rollout(backend(i), canary, canary.isPresent() ? shift : 0), Duration.ofMinutes(15),
          Duration.ofHours(1), Optional.empty()));
      List<Endpoint> eps = new ArrayList<>();
      for (int e = 0; e < ENDPOINTS_PER_BACKEND; e++) {
        int port = 8080 + (i == 0 && e == 0 ? portBump : 0);
        eps.add(new Endpoint("10." + (i / 250) + "." + (i % 250) + "." + (e + 1), port, "zone-" + (e % 3),
            dev.ebb.api.model.EndpointState.READY));
      }
      bs.add(new Backend(backend(i), eps));
    }
    return new Model(List.of(ListenerSpec.DEFAULT), rs, bs);
  }

  static String backend(int i) {
    return "b" + i;
  }

  /** The same workload as the file source's YAML. */
  static String yaml(int routes, int shift, int portBump) {
    Model m = model(routes, shift, portBump);
    StringBuilder sb = new StringBuilder("routes:\n");
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
