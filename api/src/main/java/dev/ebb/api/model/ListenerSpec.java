package dev.ebb.api.model;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A socket listener that Envoy nodes get. {@code nodeClusters} empty means every Envoy node gets it;
 * otherwise only nodes whose {@code node.cluster} is in the list.
 *
 * @param tls where its certificate comes from; empty: plaintext
 * @param trustedHops how many proxies in front of Envoy append to {@code x-forwarded-for} (Envoy's
 *     {@code xff_num_trusted_hops}); 0 when Envoy is the edge
 * @param accessLog whether Envoy writes an access log line (JSON, stdout) for the streams of this listener
 * @param routeScoping how Envoy looks up this listener's routes: one RouteConfiguration, or one scope per host
 */
public record ListenerSpec(String name, String address, int port, List<String> nodeClusters,
    Optional<ListenerTls> tls, int trustedHops, boolean accessLog, RouteScoping routeScoping) {
  public static final ListenerSpec DEFAULT = new ListenerSpec("edge", "0.0.0.0", 10000, List.of());

  public ListenerSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(address, "address");
    nodeClusters = nodeClusters.stream().sorted().distinct().toList();
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(routeScoping, "routeScoping");
  }

  public ListenerSpec(String name, String address, int port, List<String> nodeClusters,
      Optional<ListenerTls> tls, int trustedHops, boolean accessLog) {
    this(name, address, port, nodeClusters, tls, trustedHops, accessLog, RouteScoping.NONE);
  }

  public ListenerSpec(String name, String address, int port, List<String> nodeClusters) {
    this(name, address, port, nodeClusters, Optional.empty(), 0, true);
  }

  public boolean servesNodeCluster(String nodeCluster) {
    return nodeClusters.isEmpty() || nodeClusters.contains(nodeCluster);
  }

  /** The name of the SDS Secret this listener's filter chain names, if it terminates TLS. */
  public Optional<String> secretName() {
    return tls.map(t -> t.secretName(name));
  }

  public ListenerSpec withoutTls() {
    return new ListenerSpec(name, address, port, nodeClusters, Optional.empty(), trustedHops, accessLog,
        routeScoping);
  }

  public ListenerSpec withRouteScoping(RouteScoping scoping) {
    return new ListenerSpec(name, address, port, nodeClusters, tls, trustedHops, accessLog, scoping);
  }

  public boolean scopesRoutesByHost() {
    return routeScoping == RouteScoping.HOST;
  }

  /** Whether some Envoy node would get both listeners (an empty {@code nodeClusters} means every node). */
  public boolean sharesNodesWith(ListenerSpec other) {
    return nodeClusters.isEmpty() || other.nodeClusters.isEmpty()
        || nodeClusters.stream().anyMatch(other.nodeClusters::contains);
  }

  /** Why this listener cannot serve {@code host} (a wildcard on a listener that scopes routes by host). */
  public Optional<String> hostProblem(String host) {
    return routeScoping.hostProblem(name, host);
  }
}
