package dev.ebb.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Over random sequences of edits and time steps: a backend that had weight on a route is in the config at
 * every instant before the drain deadline (the time it lost the weight + the route's drain timeout), and is
 * gone after every deadline has passed, unless a route names it or it got weight again.
 */
class DrainPropertiesTest {
  static final List<String> ROUTES = List.of("a", "b");
  static final List<String> BACKENDS = List.of("v1", "v2", "v3");
  static final Map<String, Duration> TIMEOUT = Map.of("a", Duration.ofSeconds(60), "b", Duration.ofSeconds(150));
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /** One route's settings in one edit; null stable means the route is absent. */
  record RouteSpec(String stable, String canary, int weight) {}

  /** One edit: the routes, extra backends kept in the file, and how long after the previous edit it comes. */
  record Step(Map<String, RouteSpec> routes, Set<String> extraBackends, int advanceSeconds) {}

  @Provide
  Arbitrary<List<Step>> edits() {
    Arbitrary<RouteSpec> route = Combinators.combine(
        Arbitraries.of(BACKENDS).injectNull(0.2),
        Arbitraries.of(BACKENDS).injectNull(0.4),
        Arbitraries.of(0, 1, 2500, 5000, 10_000)).as(RouteSpec::new);
    Arbitrary<Step> step = Combinators.combine(
        Arbitraries.maps(Arbitraries.of(ROUTES), route).ofMaxSize(2),
        Arbitraries.subsetOf(BACKENDS),
        Arbitraries.integers().between(0, 120)).as(Step::new);
    return step.list().ofMinSize(1).ofMaxSize(25);
  }

  static Model model(Step s) {
    List<Route> routes = new ArrayList<>();
    Set<String> backends = new TreeSet<>(s.extraBackends());
    s.routes().forEach((name, spec) -> {
      if (spec.stable() == null) {
        return;
      }
      Optional<String> canary = Optional.ofNullable(spec.canary()).filter(c -> !c.equals(spec.stable()));
      routes.add(new Route(name, List.of(name + ".example.com"), Protocol.GRPC, "/", "edge",
          new Rollout(spec.stable(), canary, canary.isPresent() ? spec.weight() : 0), TIMEOUT.get(name),
          Duration.ZERO, Optional.empty()));
      backends.add(spec.stable());
      canary.ifPresent(backends::add);
    });
    return new Model(List.of(ListenerSpec.DEFAULT), routes,
        backends.stream().map(b -> new Backend(b, List.of(Endpoint.ready("10.0.0." + (b.charAt(1) - '0'), 80))))
            .toList());
  }

  @Property(tries = 300)
  void backendsStayUntilTheirDeadlineAndLeaveAfterIt(@ForAll("edits") List<Step> steps) {
    DrainState state = DrainState.EMPTY;
    Instant now = T0;
    List<Instant> times = new ArrayList<>();
    List<Map<String, Set<String>>> weighted = new ArrayList<>(); // per step: route -> backends with weight
    for (Step step : steps) {
      now = now.plusSeconds(step.advanceSeconds());
      Model m = model(step);
      RolloutEngine.Result r = RolloutEngine.step(m, state, now);
      state = r.next();
      times.add(now);
      Map<String, Set<String>> w = new HashMap<>();
      r.desired().routes().forEach(rs -> w.put(rs.route().name(),
          rs.weights().stream().filter(x -> x.weight() > 0).map(DesiredState.WeightedBackend::backend)
              .collect(Collectors.toSet())));
      weighted.add(w);
      Set<String> present = r.desired().backends().stream().map(b -> b.backend().name())
          .collect(Collectors.toSet());
      Set<String> named = m.routes().stream().flatMap(x -> x.backendNames().stream()).collect(Collectors.toSet());
      int i = times.size() - 1;
      for (String backend : BACKENDS) {
        Optional<Instant> deadline = latestDeadline(backend, weighted, times);
        boolean weightedNow = weighted.get(i).values().stream().anyMatch(s -> s.contains(backend));
        boolean mustBePresent = weightedNow || named.contains(backend)
            || deadline.map(d -> times.get(i).isBefore(d)).orElse(false);
        assertThat(present.contains(backend))
            .as("step %d at +%ss: %s (deadline %s, named %s)", i, Duration.between(T0, times.get(i)).toSeconds(),
                backend, deadline, named)
            .isEqualTo(mustBePresent);
      }
      // the engine's next wake-up is the earliest open deadline
      r.desired().nextChange().ifPresent(next -> assertThat(next).isAfter(times.get(i)));
    }
  }

  /**
   * The latest deadline among the drains of {@code backend}: for each route, if the backend had weight at
   * some step and lost it at a later step s (and has not had it since), the drain runs from times[s].
   */
  static Optional<Instant> latestDeadline(String backend, List<Map<String, Set<String>>> weighted,
      List<Instant> times) {
    int last = weighted.size() - 1;
    Optional<Instant> latest = Optional.empty();
    for (String route : ROUTES) {
      int lastWeighted = -1;
      for (int s = 0; s <= last; s++) {
        if (weighted.get(s).getOrDefault(route, Set.of()).contains(backend)) {
          lastWeighted = s;
        }
      }
      if (lastWeighted < 0 || lastWeighted == last) {
        continue;
      }
      Instant start = times.get(lastWeighted + 1);
      Instant deadline = start.plus(TIMEOUT.get(route));
      if (latest.isEmpty() || deadline.isAfter(latest.get())) {
        latest = Optional.of(deadline);
      }
    }
    return latest;
  }
}
