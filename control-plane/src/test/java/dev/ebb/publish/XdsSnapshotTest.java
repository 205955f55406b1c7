package dev.ebb.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.RouteScoping;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.translate.Translation;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.util.Set;
import java.util.SortedMap;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class XdsSnapshotTest {
  @Test
  void refusesARouteThatNamesAClusterNotSent() {
    RouteConfiguration rc = RouteConfiguration.newBuilder().setName("chat.example.com")
        .addVirtualHosts(VirtualHost.newBuilder().setName("chat.example.com").addDomains("chat.example.com")
            .addRoutes(io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                .setRoute(RouteAction.newBuilder().setCluster("ghost"))))
        .build();
    TreeMap<String, RouteConfiguration> routes = new TreeMap<>();
    routes.put(rc.getName(), rc);
    Translation t = new Translation(new TreeMap<>(), new TreeMap<>(), new TreeMap<>(), List.of(), new TreeMap<>(), routes);
    assertThatThrownBy(() -> XdsSnapshot.of(t)).isInstanceOf(InconsistentSnapshotException.class)
        .hasMessageContaining("names cluster ghost, which is not sent");
  }

  @Test
  void refusesAnEdsClusterWithoutEndpoints() {
    TreeMap<String, Cluster> clusters = new TreeMap<>();
    clusters.put("v1", Cluster.newBuilder().setName("v1").setType(Cluster.DiscoveryType.EDS).build());
    Translation t = new Translation(clusters, clusters, new TreeMap<>(), List.of(), new TreeMap<>(), new TreeMap<>());
    assertThatThrownBy(() -> XdsSnapshot.of(t)).hasMessageContaining("cluster v1 has no ClusterLoadAssignment");
  }

  // ---- scoped routes (SPEC 5, routeScoping: host) ----

  static final ListenerSpec SCOPED = new ListenerSpec("edge", "0.0.0.0", 10000, List.of("edge"))
      .withRouteScoping(RouteScoping.HOST);
  static final ListenerSpec SIDECAR = new ListenerSpec("outbound", "127.0.0.1", 15001, List.of("sidecar"));

  static RouteConfiguration rc(String name, String host, String cluster) {
    return RouteConfiguration.newBuilder().setName(name)
        .addVirtualHosts(VirtualHost.newBuilder().setName(host).addDomains(host)
            .addRoutes(io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                .setRoute(RouteAction.newBuilder().setCluster(cluster))))
        .build();
  }

  static SortedMap<String, RouteConfiguration> rcs(RouteConfiguration... all) {
    SortedMap<String, RouteConfiguration> m = new TreeMap<>();
    for (RouteConfiguration r : all) {
      m.put(r.getName(), r);
    }
    return m;
  }

  static SortedMap<String, ScopedRouteConfiguration> scopes(String... hosts) {
    SortedMap<String, ScopedRouteConfiguration> m = new TreeMap<>();
    for (String h : hosts) {
      String name = EnvoyTranslator.scopedRouteName("edge", h);
      m.put(name, ScopedRouteConfiguration.newBuilder().setName(name).setRouteConfigurationName(name)
          .setKey(ScopedRouteConfiguration.Key.newBuilder()
              .addFragments(ScopedRouteConfiguration.Key.Fragment.newBuilder().setStringKey(h)))
          .build());
    }
    return m;
  }

  static Translation withListeners(List<Translation.EnvoyListener> listeners, String... clusters) {
    TreeMap<String, Cluster> cs = new TreeMap<>();
    TreeMap<String, ClusterLoadAssignment> eps = new TreeMap<>();
    for (String c : clusters) {
      cs.put(c, Cluster.newBuilder().setName(c).setType(Cluster.DiscoveryType.EDS).build());
      eps.put(c, ClusterLoadAssignment.newBuilder().setClusterName(c).build());
    }
    return new Translation(cs, cs, eps, listeners, new TreeMap<>(), new TreeMap<>());
  }

  static Translation.EnvoyListener scopedListener(SortedMap<String, RouteConfiguration> routes,
      SortedMap<String, ScopedRouteConfiguration> scopes) {
    return new Translation.EnvoyListener(SCOPED, Listener.newBuilder().setName("edge").build(), routes, scopes);
  }

  @Test
  void anEnvoyNodeGetsTheScopesOfItsScopedListenerAndTheRouteConfigurationsTheyName() {
    Translation t = withListeners(List.of(
        scopedListener(rcs(rc("edge/a.example.com", "a.example.com", "v1"), rc("edge/b.example.com", "b.example.com",
            "v2")), scopes("a.example.com", "b.example.com")),
        new Translation.EnvoyListener(SIDECAR, Listener.newBuilder().setName("outbound").build(),
            rc("outbound", "a.example.com", "v1"))), "v1", "v2");
    XdsSnapshot s = XdsSnapshot.of(t);

    XdsSnapshot.View edge = s.view(new NodeGroup(true, "edge"));
    assertThat(edge.of(TypeUrl.LISTENER)).containsOnlyKeys("edge");
    assertThat(edge.of(TypeUrl.SCOPED_ROUTE)).containsOnlyKeys("edge/a.example.com", "edge/b.example.com");
    assertThat(edge.of(TypeUrl.ROUTE)).containsOnlyKeys("edge/a.example.com", "edge/b.example.com");
    // make-before-break knows the clusters of every per-host RouteConfiguration
    assertThat(edge.routeClusters()).containsEntry("edge/a.example.com", Set.of("v1"))
        .containsEntry("edge/b.example.com", Set.of("v2"));
    assertThat(edge.version(TypeUrl.SCOPED_ROUTE)).isEqualTo(XdsSnapshot.versionOf(
        edge.of(TypeUrl.SCOPED_ROUTE).values()));

    XdsSnapshot.View sidecar = s.view(new NodeGroup(true, "sidecar"));
    assertThat(sidecar.of(TypeUrl.LISTENER)).containsOnlyKeys("outbound");
    assertThat(sidecar.of(TypeUrl.SCOPED_ROUTE)).isEmpty();
    assertThat(sidecar.of(TypeUrl.ROUTE)).containsOnlyKeys("outbound");

    XdsSnapshot.View grpc = s.view(NodeGroup.GRPC);
    assertThat(grpc.of(TypeUrl.SCOPED_ROUTE)).isEmpty();
    for (NodeGroup g : List.of(new NodeGroup(true, "edge"), NodeGroup.GRPC)) {
      assertThat(s.view(g).resources()).as("every type in every view").containsKeys(TypeUrl.values());
    }
  }

  @Test
  void refusesAScopeThatNamesARouteConfigurationNotSent() {
    Translation t = withListeners(List.of(scopedListener(rcs(rc("edge/a.example.com", "a.example.com", "v1")),
        scopes("a.example.com", "b.example.com"))), "v1");
    assertThatThrownBy(() -> XdsSnapshot.of(t)).isInstanceOf(InconsistentSnapshotException.class)
        .hasMessage("scope edge/b.example.com of listener edge names RouteConfiguration edge/b.example.com,"
            + " which is not sent");
  }

  @Test
  void refusesAScopedRouteConfigurationThatNamesAClusterNotSent() {
    Translation t = withListeners(List.of(scopedListener(rcs(rc("edge/a.example.com", "a.example.com", "ghost")),
        scopes("a.example.com"))));
    assertThatThrownBy(() -> XdsSnapshot.of(t)).isInstanceOf(InconsistentSnapshotException.class)
        .hasMessage("RouteConfiguration envoy/edge/a.example.com names cluster ghost, which is not sent");
  }

  @Test
  void refusesTwoScopedListenersForTheSameNodes() {
    ListenerSpec other = new ListenerSpec("edge-tls", "0.0.0.0", 10443, List.of())
        .withRouteScoping(RouteScoping.HOST);
    Translation t = withListeners(List.of(scopedListener(new TreeMap<>(), new TreeMap<>()),
        new Translation.EnvoyListener(other, Listener.newBuilder().setName("edge-tls").build(), new TreeMap<>(),
            new TreeMap<>())));
    assertThatThrownBy(() -> XdsSnapshot.of(t)).isInstanceOf(InconsistentSnapshotException.class)
        .hasMessage("listeners edge and edge-tls both scope routes by host for the same Envoy nodes");
  }

  @Test
  void anUnchangedScopeKeepsItsHashObject() {
    Translation.EnvoyListener l = scopedListener(rcs(rc("edge/a.example.com", "a.example.com", "v1")),
        scopes("a.example.com"));
    XdsSnapshot a = XdsSnapshot.of(withListeners(List.of(l), "v1"));
    XdsSnapshot b = XdsSnapshot.of(withListeners(List.of(l), "v1"), a);
    NodeGroup edge = new NodeGroup(true, "edge");
    assertThat(b.view(edge).of(TypeUrl.SCOPED_ROUTE).get("edge/a.example.com"))
        .isSameAs(a.view(edge).of(TypeUrl.SCOPED_ROUTE).get("edge/a.example.com"));
    assertThat(b.version()).isEqualTo(a.version());
  }

  @Test
  void clusterRefsReadWeightedAndSingleClusters() {
    RouteConfiguration rc = RouteConfiguration.newBuilder()
        .addVirtualHosts(VirtualHost.newBuilder()
            .addRoutes(io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                .setRoute(RouteAction.newBuilder().setCluster("a")))
            .addRoutes(io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                .setRoute(RouteAction.newBuilder().setWeightedClusters(
                    io.envoyproxy.envoy.config.route.v3.WeightedCluster.newBuilder()
                        .addClusters(io.envoyproxy.envoy.config.route.v3.WeightedCluster.ClusterWeight.newBuilder()
                            .setName("b"))))))
        .build();
    assertThat(XdsSnapshot.clusterRefs(rc)).containsExactly("a", "b");
  }
}
