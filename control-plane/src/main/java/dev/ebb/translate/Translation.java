package dev.ebb.translate;

import dev.ebb.api.model.ListenerSpec;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.List;
import java.util.SortedMap;

/**
 * The Envoy resources for one desired state, for both node groups. Maps are sorted by resource name, so the
 * same input gives the same order and bytes.
 *
 * @param grpcClusters the clusters for proxyless gRPC clients: the same, with {@code lrs_server: self} so that
 *     they report load to Ebb
 * @param envoyListeners socket listeners with their RouteConfiguration (named like the listener)
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

  /** A socket listener, which Envoy nodes get when {@code spec.servesNodeCluster(node.cluster)}. */
  public record EnvoyListener(ListenerSpec spec, Listener listener, RouteConfiguration routes) {}
}
