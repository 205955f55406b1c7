package dev.ebb.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.rollout.DesiredState.BackendState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The drain rules of SPEC section 2, on fixed instants: a 15-minute drain is tested in microseconds. */
class RolloutEngineTest {
  static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
  static final Duration DRAIN = Duration.ofMinutes(15);

  static Route route(String name, String stable, String canary, int weightBp) {
    return new Route(name, List.of(name + ".example.com"), Protocol.WEBSOCKET, "/", "edge",
        new Rollout(stable, Optional.ofNullable(canary), canary == null ? 0 : weightBp), DRAIN, Duration.ofHours(1),
        Optional.empty());
  }

  static Backend backend(String name, String... addresses) {
    return new Backend(name, Arrays.stream(addresses).map(a -> Endpoint.ready(a, 8080)).toList());
  }

  static Model model(List<Route> routes, Backend... backends) {
    return new Model(List.of(ListenerSpec.DEFAULT), routes, List.of(backends));
  }

  /** Runs the engine over a sequence of (model, time) and keeps the state, like the pipeline does. */
  static final class Run {
    DrainState state = DrainState.EMPTY;
    DesiredState desired;
    List<RolloutEngine.EndedDrain> ended = List.of();

    Run at(Instant now, Model m) {
      RolloutEngine.Result r = RolloutEngine.step(m, state, now);
      state = r.next();
      desired = r.desired();
      ended = r.ended();
      return this;
    }

    Map<String, BackendState> backends() {
      return desired.backends().stream().collect(Collectors.toMap(b -> b.backend().name(), b -> b));
    }

    Map<String, Integer> weights(String route) {
      return desired.routes().stream().filter(r -> r.route().name().equals(route)).findFirst().orElseThrow()
          .weights().stream().collect(Collectors.toMap(DesiredState.WeightedBackend::backend,
              DesiredState.WeightedBackend::weight));
    }
  }

  final Backend v1 = backend("v1", "10.0.0.1", "10.0.0.2");
  final Backend v2 = backend("v2", "10.0.1.1");

  @Test
  void promotionDrainsTheOldStableUntilItsTimeout() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 2000)), v1, v2));
    assertThat(run.weights("chat")).containsOnly(Map.entry("v1", 8000), Map.entry("v2", 2000));
    assertThat(run.desired.nextChange()).isEmpty();

    Instant promoted = T0.plusSeconds(60);
    run.at(promoted, model(List.of(route("chat", "v2", null, 0)), v1, v2));
    assertThat(run.weights("chat")).containsOnly(Map.entry("v2", 10_000));
    BackendState draining = run.backends().get("v1");
    assertThat(draining.drains()).singleElement().satisfies(d -> {
      assertThat(d.start()).isEqualTo(promoted);
      assertThat(d.deadline()).isEqualTo(promoted.plus(DRAIN));
    });
    assertThat(draining.backend().endpoints()).isEqualTo(v1.endpoints());
    assertThat(run.desired.nextChange()).contains(promoted.plus(DRAIN));

    run.at(promoted.plus(DRAIN).minusMillis(1), model(List.of(route("chat", "v2", null, 0)), v1, v2));
    assertThat(run.backends()).containsKey("v1");
    run.at(promoted.plus(DRAIN), model(List.of(route("chat", "v2", null, 0)), v1, v2));
    assertThat(run.backends()).containsOnlyKeys("v2");
    assertThat(run.desired.nextChange()).isEmpty();
  }

  @Test
  void weightToZeroDrainsTheCanaryButKeepsItsClusterWarm() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000)), v1, v2));
    run.at(T0.plusSeconds(1), model(List.of(route("chat", "v1", "v2", 0)), v1, v2));
    // listed at 0: no new streams, but gRPC clients keep the cluster warm
    assertThat(run.weights("chat")).containsOnly(Map.entry("v1", 10_000), Map.entry("v2", 0));
    assertThat(run.backends().get("v2").draining()).isTrue();
    run.at(T0.plusSeconds(1).plus(DRAIN), model(List.of(route("chat", "v1", "v2", 0)), v1, v2));
    assertThat(run.backends().get("v2").draining()).isFalse();
    assertThat(run.backends()).containsKey("v2");
  }

  /**
   * Issue 14.5: a canary rolled back to 0 drains, and when that drain ends its cluster stays (the route lists it
   * at 0%); the end says so, instead of reading like a removal. A canary removed from the route leaves.
   */
  @Test
  void theEndOfADrainSaysWhetherTheClusterStays() {
    Model rolledBack = model(List.of(route("chat", "v1", "v2", 0)), v1, v2);
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000)), v1, v2));
    run.at(T0.plusSeconds(1), rolledBack);
    run.at(T0.plusSeconds(1).plus(DRAIN), rolledBack);
    assertThat(run.ended).singleElement().satisfies(e -> {
      assertThat(e.outcome()).isEqualTo(RolloutEngine.EndedDrain.Outcome.EXPIRED);
      assertThat(e.keptBy()).contains("chat");
    });
    assertThat(run.backends()).containsKey("v2");

    Model removed = model(List.of(route("chat", "v1", null, 0)), v1, v2);
    Run gone = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000)), v1, v2));
    gone.at(T0.plusSeconds(1), removed);
    gone.at(T0.plusSeconds(1).plus(DRAIN), removed);
    assertThat(gone.ended).singleElement().satisfies(e -> assertThat(e.keptBy()).isEmpty());
    assertThat(gone.backends()).doesNotContainKey("v2");
  }

  @Test
  void sharesListEveryBackendOfTheRouteWithItsBasisPoints() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 0)), v1, v2));
    assertThat(run.desired.routes().get(0).shares()).containsExactly(Map.entry("v1", 10_000), Map.entry("v2", 0));
    run.at(T0, model(List.of(route("chat", "v1", "v2", 2550)), v1, v2));
    assertThat(run.desired.routes().get(0).shares()).containsExactly(Map.entry("v1", 7450), Map.entry("v2", 2550));
  }

  @Test
  void weightAgainCancelsTheDrainAndALaterLossStartsAFreshOne() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000)), v1, v2));
    run.at(T0.plusSeconds(10), model(List.of(route("chat", "v1", "v2", 0)), v1, v2));
    assertThat(run.backends().get("v2").draining()).isTrue();
    run.at(T0.plusSeconds(20), model(List.of(route("chat", "v1", "v2", 100)), v1, v2));
    assertThat(run.backends().get("v2").draining()).isFalse();
    assertThat(run.state.drains()).isEmpty();
    run.at(T0.plusSeconds(30), model(List.of(route("chat", "v1", "v2", 0)), v1, v2));
    assertThat(run.backends().get("v2").drains().get(0).start()).isEqualTo(T0.plusSeconds(30));
  }

  @Test
  void removedCanaryRouteAndBackendEntryAllDrain() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000), route("feed", "v3", null, 0)),
        v1, v2, backend("v3", "10.0.3.1")));
    // canary removed from chat, route feed removed, backend v3's entry removed, all in one edit
    run.at(T0.plusSeconds(5), model(List.of(route("chat", "v1", null, 0)), v1, v2));
    assertThat(run.backends()).containsOnlyKeys("v1", "v2", "v3");
    assertThat(run.backends().get("v2").draining()).isTrue();
    BackendState v3 = run.backends().get("v3");
    assertThat(v3.drains()).singleElement().satisfies(d -> assertThat(d.route()).isEqualTo("feed"));
    assertThat(v3.backend().endpoints()).containsExactly(new Endpoint("10.0.3.1", 8080, "", EndpointState.DRAINING));
    assertThat(run.desired.routes()).extracting(r -> r.route().name()).containsExactly("chat");
    run.at(T0.plusSeconds(5).plus(DRAIN), model(List.of(route("chat", "v1", null, 0)), v1, v2));
    assertThat(run.backends()).containsOnlyKeys("v1");
  }

  @Test
  void endpointsThatVanishDuringADrainStayDrainingUntilTheDeadline() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000)), v1, v2));
    run.at(T0.plusSeconds(1), model(List.of(route("chat", "v2", null, 0)), v1, v2));
    // one pod of v1 goes away, one new appears, while v1 drains
    Backend v1Later = backend("v1", "10.0.0.2", "10.0.0.9");
    run.at(T0.plusSeconds(2), model(List.of(route("chat", "v2", null, 0)), v1Later, v2));
    assertThat(run.backends().get("v1").backend().endpoints()).containsExactly(
        new Endpoint("10.0.0.1", 8080, "", EndpointState.DRAINING),
        Endpoint.ready("10.0.0.2", 8080),
        Endpoint.ready("10.0.0.9", 8080));
    // and v1's whole entry disappears: everything it had is kept, DRAINING
    run.at(T0.plusSeconds(3), model(List.of(route("chat", "v2", null, 0)), v2));
    assertThat(run.backends().get("v1").backend().endpoints()).extracting(Endpoint::address, Endpoint::state)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("10.0.0.1", EndpointState.DRAINING),
            org.assertj.core.groups.Tuple.tuple("10.0.0.2", EndpointState.DRAINING),
            org.assertj.core.groups.Tuple.tuple("10.0.0.9", EndpointState.DRAINING));
  }

  @Test
  void aBackendSharedByTwoRoutesDrainsIndependentlyAndStaysWhileEitherNeedsIt() {
    Run run = new Run().at(T0, model(List.of(route("a", "v1", null, 0), route("b", "v1", null, 0)), v1, v2));
    run.at(T0.plusSeconds(10), model(List.of(route("a", "v2", null, 0), route("b", "v1", null, 0)), v1, v2));
    assertThat(run.backends().get("v1").drains()).extracting(DesiredState.Drain::route).containsExactly("a");
    run.at(T0.plusSeconds(20), model(List.of(route("a", "v2", null, 0), route("b", "v2", null, 0)), v1, v2));
    assertThat(run.backends().get("v1").drains()).extracting(DesiredState.Drain::route, DesiredState.Drain::start)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("a", T0.plusSeconds(10)),
            org.assertj.core.groups.Tuple.tuple("b", T0.plusSeconds(20)));
    run.at(T0.plusSeconds(10).plus(DRAIN), model(List.of(route("a", "v2", null, 0), route("b", "v2", null, 0)),
        v1, v2));
    assertThat(run.backends().get("v1").drains()).extracting(DesiredState.Drain::route).containsExactly("b");
    run.at(T0.plusSeconds(20).plus(DRAIN), model(List.of(route("a", "v2", null, 0), route("b", "v2", null, 0)),
        v1, v2));
    assertThat(run.backends()).containsOnlyKeys("v2");
  }

  @Test
  void aLongerDrainTimeoutSetDuringADrainExtendsIt() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", null, 0)), v1, v2));
    run.at(T0.plusSeconds(1), model(List.of(route("chat", "v2", null, 0)), v1, v2));
    Route longer = route("chat", "v2", null, 0);
    longer = new Route(longer.name(), longer.hosts(), longer.protocol(), longer.pathPrefix(), longer.listener(),
        longer.rollout(), Duration.ofHours(1), longer.idleTimeout(), longer.maxStreamDuration());
    run.at(T0.plusSeconds(2), model(List.of(longer), v1, v2));
    assertThat(run.backends().get("v1").drains().get(0).deadline()).isEqualTo(T0.plusSeconds(1).plus(
        Duration.ofHours(1)));
  }

  @Test
  void sameInputsGiveTheSameState() {
    List<Model> edits = new ArrayList<>(List.of(model(List.of(route("chat", "v1", "v2", 5000)), v1, v2),
        model(List.of(route("chat", "v2", null, 0)), v1, v2)));
    Run a = new Run();
    Run b = new Run();
    for (int i = 0; i < edits.size(); i++) {
      a.at(T0.plusSeconds(i), edits.get(i));
      b.at(T0.plusSeconds(i), edits.get(i));
    }
    assertThat(a.state).isEqualTo(b.state);
    assertThat(a.desired).isEqualTo(b.desired);
  }

  @Test
  void idleLoadReportsEndADrainEarlyButNeverOneThatKnowsNoEndpoints() {
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000)), v1, v2));
    run.at(T0.plusSeconds(1), model(List.of(route("chat", "v1", null, 0)), v1, v2));
    RolloutEngine.Result early = RolloutEngine.step(model(List.of(route("chat", "v1", null, 0)), v1, v2), run.state,
        T0.plusSeconds(30), (backend, since) -> backend.equals("v2") && !since.isAfter(T0.plusSeconds(1)));
    assertThat(early.desired().backends()).extracting(b -> b.backend().name()).containsExactly("v1");
    assertThat(early.ended()).singleElement().satisfies(e -> assertThat(e.outcome())
        .isEqualTo(RolloutEngine.EndedDrain.Outcome.IDLE));
    // restored without endpoints (its backend vanished while Ebb was down): only the deadline ends it
    var drains = new java.util.TreeMap<>(run.state.drains());
    drains.replaceAll((k, d) -> new DrainState.DrainRecord(d.start(), d.timeout(), List.of(), d.protocol()));
    DrainState restored = new DrainState(run.state.active(), drains);
    RolloutEngine.Result kept = RolloutEngine.step(model(List.of(route("chat", "v1", null, 0)), v1), restored,
        T0.plusSeconds(30), (backend, since) -> true);
    assertThat(kept.desired().backends()).extracting(b -> b.backend().name()).containsExactly("v1", "v2");
  }

  @Test
  void anEarlyEndIsRecordedUntilTheDeadlineAndARecordEndsOnlyTheDrainItNames() {
    Model promoted = model(List.of(route("chat", "v1", null, 0)), v1, v2);
    Run run = new Run().at(T0, model(List.of(route("chat", "v1", "v2", 5000)), v1, v2));
    run.at(T0.plusSeconds(1), promoted);
    // the leader sees v2 idle: the drain ends, and the decision is recorded with its start and reason
    RolloutEngine.IdleSignal idle = new RolloutEngine.IdleSignal() {
      @Override
      public boolean idleSince(String backend, Instant since) {
        return backend.equals("v2");
      }

      @Override
      public String reason(String backend) {
        return "test: 3 reporting nodes idle";
      }
    };
    RolloutEngine.Result leader = RolloutEngine.step(promoted, run.state, T0.plusSeconds(30), idle);
    var key = new DrainState.RouteBackend("chat", "v2");
    assertThat(leader.next().endedEarly()).containsOnlyKeys(key);
    assertThat(leader.next().endedEarly().get(key)).isEqualTo(new DrainState.EarlyEnd(T0.plusSeconds(1),
        T0.plusSeconds(1).plus(DRAIN), T0.plusSeconds(30), "test: 3 reporting nodes idle"));

    // a follower with the same drain and no load reports of its own ends it by the record alone
    RolloutEngine.Result follower = RolloutEngine.step(promoted,
        run.state.withEndedEarly(leader.next().endedEarly()), T0.plusSeconds(31));
    assertThat(follower.desired()).isEqualTo(leader.desired());
    assertThat(follower.ended()).singleElement().satisfies(e -> assertThat(e.outcome())
        .isEqualTo(RolloutEngine.EndedDrain.Outcome.IDLE));

    // a record of another drain of the same backend (another start) ends nothing
    var other = new java.util.TreeMap<DrainState.RouteBackend, DrainState.EarlyEnd>();
    other.put(key, new DrainState.EarlyEnd(T0.minusSeconds(600), T0.plus(DRAIN), T0, "an older drain"));
    RolloutEngine.Result kept = RolloutEngine.step(promoted, run.state.withEndedEarly(other), T0.plusSeconds(31));
    assertThat(kept.desired().backends()).extracting(b -> b.backend().name()).containsExactly("v1", "v2");

    // the record is kept while the drain's deadline is ahead, and forgotten after it
    Instant afterDeadline = T0.plusSeconds(2).plus(DRAIN);
    assertThat(RolloutEngine.step(promoted, leader.next(), T0.plusSeconds(60)).next().endedEarly()).containsKey(key);
    assertThat(RolloutEngine.step(promoted, leader.next(), afterDeadline).next().endedEarly()).isEmpty();
  }
}
