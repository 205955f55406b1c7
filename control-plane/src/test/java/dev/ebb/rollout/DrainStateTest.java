package dev.ebb.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.Protocol;
import dev.ebb.rollout.DrainState.Active;
import dev.ebb.rollout.DrainState.DrainRecord;
import dev.ebb.rollout.DrainState.RouteBackend;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class DrainStateTest {
  private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");
  private static final Active A = new Active(Duration.ofMinutes(15),
      List.of(new Endpoint("10.0.0.1", 8080, "", EndpointState.READY)), Protocol.WEBSOCKET);

  @Test
  void routeBackendsSortByRouteThenBackend() {
    List<RouteBackend> sorted = new java.util.ArrayList<>(List.of(new RouteBackend("chat", "v2"),
        new RouteBackend("api", "z"), new RouteBackend("chat", "v1"), new RouteBackend("chat-2", "a")));
    java.util.Collections.sort(sorted);
    assertThat(sorted).containsExactly(new RouteBackend("api", "z"), new RouteBackend("chat", "v1"),
        new RouteBackend("chat", "v2"), new RouteBackend("chat-2", "a"));
  }

  @Test
  void statesWithTheSameEntriesAreEqualAndOthersAreNot() {
    DrainState one = state(new String[] {"chat", "v1"}, new String[] {"api", "a"});
    DrainState same = state(new String[] {"api", "a"}, new String[] {"chat", "v1"}); // put in another order
    assertThat(one).isEqualTo(same).hasSameHashCodeAs(same);

    assertThat(one).isNotEqualTo(state(new String[] {"chat", "v1"})); // one entry fewer
    assertThat(one).isNotEqualTo(state(new String[] {"chat", "v1"}, new String[] {"api", "b"})); // another key
    TreeMap<RouteBackend, Active> otherValue = new TreeMap<>(one.active());
    otherValue.put(new RouteBackend("api", "a"), new Active(Duration.ofMinutes(30), A.endpoints(), A.protocol()));
    assertThat(one).isNotEqualTo(new DrainState(otherValue, one.drains()));
    TreeMap<RouteBackend, DrainRecord> drains = new TreeMap<>();
    drains.put(new RouteBackend("chat", "v0"), new DrainRecord(T, Duration.ofMinutes(15), List.of(), Protocol.GRPC));
    assertThat(one).isNotEqualTo(new DrainState(one.active(), drains));
    assertThat(one).isNotEqualTo(one.withEndedEarly(java.util.Map.of(new RouteBackend("chat", "v0"),
        new DrainState.EarlyEnd(T, T.plusSeconds(900), T, "idle"))));
    assertThat(one).isNotEqualTo(null).isNotEqualTo("a string");

    // a map kept in another order gives the same state
    TreeMap<RouteBackend, Active> reversed = new TreeMap<>(java.util.Comparator.<RouteBackend>reverseOrder());
    reversed.putAll(one.active());
    DrainState fromReversed = new DrainState(reversed, new TreeMap<>());
    assertThat(fromReversed).isEqualTo(one).hasSameHashCodeAs(one);
    assertThat(fromReversed.active().firstKey()).isEqualTo(new RouteBackend("api", "a"));
  }

  private static DrainState state(String[]... routeBackends) {
    TreeMap<RouteBackend, Active> active = new TreeMap<>();
    for (String[] rb : routeBackends) {
      active.put(new RouteBackend(rb[0], rb[1]), A);
    }
    return new DrainState(active, new TreeMap<>());
  }
}
