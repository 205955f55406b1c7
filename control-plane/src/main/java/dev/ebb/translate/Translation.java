package dev.ebb.translate;

import dev.ebb.api.model.ListenerSpec;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.List;
import java.util.SortedMap;

/**
 * The Envoy resources for one desired state, for both node groups. Maps are sorted by resource name, so the
 * same input gives the same order and bytes.
 *
 * @param grpcClusters the clusters for proxyless gRPC clients: the same, with {@code lrs_server: self} so that
 *     they report load to Ebb
 * @param envoyListeners socket listeners with their RouteConfigurations and, for listeners that scope routes by
 *     host, their scopes
 * @param grpcListeners api_listener Listeners for proxyless gRPC clients, one per host, named like the host
 * @param grpcRoutes RouteConfigurations for proxyless gRPC clients, one per host, named like the host
 * @param secrets SDS Secrets (certificates) that TLS listeners name, by name; Envoy nodes only
 */
public record Translation(
    SortedMap<String, Cluster> clusters,
    SortedMap<String, Cluster> grpcClusters,
    SortedMap<String, ClusterLoadAssignment> endpoints,
    List<EnvoyListener> envoyListeners,
    SortedMap<String, Listener> grpcListeners,
    SortedMap<String, RouteConfiguration> grpcRoutes,
    SortedMap<String, Secret> secrets) {

  public Translation(SortedMap<String, Cluster> clusters, SortedMap<String, Cluster> grpcClusters,
      SortedMap<String, ClusterLoadAssignment> endpoints, List<EnvoyListener> envoyListeners,
      SortedMap<String, Listener> grpcListeners, SortedMap<String, RouteConfiguration> grpcRoutes) {
    this(clusters, grpcClusters, endpoints, envoyListeners, grpcListeners, grpcRoutes, new java.util.TreeMap<>());
  }

  /**
   * A socket listener, which Envoy nodes get when {@code spec.servesNodeCluster(node.cluster)}, with what it
   * references.
   *
   * @param routeConfigurations by name: the one RouteConfiguration named like the listener, or, for a listener
   *     with {@code routeScoping: host}, one per host (named by {@link EnvoyTranslator#scopedRouteName})
   * @param scopes by name: one ScopedRouteConfiguration per host of a listener with {@code routeScoping: host},
   *     each naming its RouteConfiguration (the same name); empty for other listeners
   */
  public record EnvoyListener(ListenerSpec spec, Listener listener,
      SortedMap<String, RouteConfiguration> routeConfigurations,
      SortedMap<String, ScopedRouteConfiguration> scopes) {

    /** A listener whose connection manager names one RouteConfiguration by RDS. */
    public EnvoyListener(ListenerSpec spec, Listener listener, RouteConfiguration routes) {
      this(spec, listener, java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(
          java.util.Map.of(routes.getName(), routes))), java.util.Collections.emptySortedMap());
    }

    /** The one RouteConfiguration of a listener without route scoping. */
    public RouteConfiguration routes() {
      if (spec.scopesRoutesByHost()) {
        throw new IllegalStateException("listener " + spec.name() + " scopes routes by host: it has one"
            + " RouteConfiguration per host, see routeConfigurations()");
      }
      return routeConfigurations.get(spec.name());
    }
  }
}
