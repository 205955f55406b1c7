package dev.ebb.rollout;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Route;
import dev.ebb.rollout.DesiredState.BackendState;
import dev.ebb.rollout.DesiredState.RouteState;
import dev.ebb.rollout.DesiredState.WeightedBackend;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Pure: (model, now) to desired state. Weights come from each route's rollout; every backend a route names
 * (a canary at weight 0 too, so that it stays warm) gets a cluster.
 */
public final class RolloutEngine {
  private RolloutEngine() {}

  public static DesiredState desired(Model model, Instant now) {
    Map<String, Backend> byName = model.backendsByName();
    Map<String, BackendState> backends = new TreeMap<>();
    List<RouteState> routes = new ArrayList<>();
    for (Route r : model.routes()) {
      routes.add(new RouteState(r, weights(r)));
      r.backendNames().forEach(name -> {
        Backend b = byName.get(name);
        if (b != null) {
          backends.put(name, new BackendState(b, List.of()));
        }
      });
    }
    return new DesiredState(model.listeners(), routes, new ArrayList<>(backends.values()), Optional.empty());
  }

  /** Non-zero weights only, sorted by backend name: a route never lists a backend it sends nothing. */
  static List<WeightedBackend> weights(Route r) {
    Map<String, Integer> w = new TreeMap<>();
    if (r.rollout().stableWeightBasisPoints() > 0) {
      w.put(r.rollout().stable(), r.rollout().stableWeightBasisPoints());
    }
    r.rollout().canary().filter(c -> r.rollout().canaryWeightBasisPoints() > 0)
        .ifPresent(c -> w.put(c, r.rollout().canaryWeightBasisPoints()));
    return w.entrySet().stream().map(e -> new WeightedBackend(e.getKey(), e.getValue())).toList();
  }
}
