package dev.ebb.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ebb.translate.Translation;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
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
