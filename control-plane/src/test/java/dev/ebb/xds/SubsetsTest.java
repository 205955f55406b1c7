package dev.ebb.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.publish.Res;
import dev.ebb.publish.XdsSnapshot;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The parts of a view that streams ask for by name are computed once per publish and kept across publishes that
 * leave them alone, so a one-route change neither recomputes nor re-hashes the other nodes' parts.
 */
class SubsetsTest {
  private static Res endpoint(String name, int port) {
    return Res.of(name, ClusterLoadAssignment.newBuilder().setClusterName(name)
        .addEndpoints(io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder().addLbEndpoints(
            io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder().setEndpoint(
                io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder().setAddress(
                    io.envoyproxy.envoy.config.core.v3.Address.newBuilder().setSocketAddress(
                        io.envoyproxy.envoy.config.core.v3.SocketAddress.newBuilder().setAddress("10.0.0.1")
                            .setPortValue(port)))))).build());
  }

  private static SortedMap<String, Res> view(Res... resources) {
    SortedMap<String, Res> m = new TreeMap<>();
    for (Res r : resources) {
      m.put(r.name(), r);
    }
    return java.util.Collections.unmodifiableSortedMap(m);
  }

  private static String version(SortedMap<String, Res> m) {
    return XdsSnapshot.versionOf(m.values());
  }

  @Test
  void streamsAskingForTheSameNamesShareOnePartAndAPublishKeepsThePartsItDidNotChange() {
    Res a = endpoint("a", 1);
    Res b = endpoint("b", 1);
    Res c = endpoint("c", 1);
    SortedMap<String, Res> all = view(a, b, c);
    List<String> ab = new ArrayList<>(List.of("a", "b"));
    List<String> abc = new ArrayList<>(List.of("a", "b", "c"));
    Subsets subsets = new Subsets();

    Subsets.Subset part = subsets.of(all, version(all), ab);
    assertThat(subsets.of(all, version(all), ab)).isSameAs(part);
    assertThat(part.resources()).containsOnlyKeys("a", "b");
    assertThat(part.knownVersion()).as("computed only when a stream needs it").isNull();
    assertThat(subsets.of(all, version(all), abc).resources()).as("every name: the view's own map").isSameAs(all);
    assertThat(subsets.isShared(part.resources())).isTrue();

    // a publish that leaves the view's map alone
    subsets.roll();
    assertThat(subsets.of(all, version(all), ab)).isSameAs(part);

    // a publish that changes c only: the view's map is new, the part for a and b is the same part
    SortedMap<String, Res> changed = view(a, b, endpoint("c", 2));
    subsets.roll();
    assertThat(subsets.of(changed, version(changed), ab)).isSameAs(part);

    // a publish that changes b: a new part
    SortedMap<String, Res> changedB = view(a, endpoint("b", 2), endpoint("c", 2));
    subsets.roll();
    Subsets.Subset newPart = subsets.of(changedB, version(changedB), ab);
    assertThat(newPart).isNotSameAs(part);
    assertThat(newPart.resources().get("b")).isSameAs(changedB.get("b"));
    assertThat(newPart.version()).isEqualTo(XdsSnapshot.versionOf(List.of(a, changedB.get("b"))));
  }

  @Test
  void aPartIsSharedForTheGenerationThatHandedItOutAndTheNextOnly() {
    Res a = endpoint("a", 1);
    SortedMap<String, Res> all = view(a, endpoint("b", 1));
    Subsets subsets = new Subsets();
    SortedMap<String, Res> part = subsets.of(all, version(all), new ArrayList<>(List.of("a"))).resources();

    assertThat(subsets.isShared(part)).isTrue();
    subsets.roll();
    assertThat(subsets.isShared(part)).as("streams may still hold it").isTrue();
    subsets.roll();
    assertThat(subsets.isShared(part)).isFalse();
    assertThat(subsets.isShared(view(a))).as("by identity, not by content").isFalse();
  }

  @Test
  void theSameNamesInAnotherListAreAnotherPartUntilTheTrackerInternsThem() {
    SortedMap<String, Res> all = view(endpoint("a", 1), endpoint("b", 1));
    Subsets subsets = new Subsets();
    Subsets.Subset one = subsets.of(all, version(all), new ArrayList<>(List.of("a")));
    Subsets.Subset two = subsets.of(all, version(all), new ArrayList<>(List.of("a")));

    assertThat(two).as("keyed by the list's identity").isNotSameAs(one);
    assertThat(two.resources()).isEqualTo(one.resources());
  }
}
