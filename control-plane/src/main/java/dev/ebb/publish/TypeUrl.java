package dev.ebb.publish;

import java.util.List;
import java.util.Optional;

/**
 * The resource types Ebb serves, in make-before-break order: CDS, EDS, SDS (certificates a listener names),
 * LDS, SRDS (the host scopes of listeners with {@code routeScoping: host}), RDS.
 *
 * <p>SRDS sits between LDS and RDS because that is the order of Envoy's own references: a listener's connection
 * manager subscribes to scopes, and each scope names a RouteConfiguration that Envoy then asks for by RDS
 * ({@code source/common/router/scoped_rds.cc}: {@code addOrUpdateScopes} creates one RDS subscription per
 * scope). A new scope therefore reaches the node before the RouteConfiguration it names is asked for, and the
 * RouteConfiguration itself is held back, like every other one, until its clusters are acknowledged.
 */
public enum TypeUrl {
  CLUSTER("type.googleapis.com/envoy.config.cluster.v3.Cluster", "CDS"),
  ENDPOINT("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "EDS"),
  SECRET("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "SDS"),
  LISTENER("type.googleapis.com/envoy.config.listener.v3.Listener", "LDS"),
  SCOPED_ROUTE("type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration", "SRDS"),
  ROUTE("type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "RDS");

  public static final List<TypeUrl> ORDER = List.of(values());

  private final String url;
  private final String shortName;

  TypeUrl(String url, String shortName) {
    this.url = url;
    this.shortName = shortName;
  }

  public String url() {
    return url;
  }

  public String shortName() {
    return shortName;
  }

  /**
   * Envoy subscribes to listeners, clusters and scopes as a wildcard, so a state-of-the-world response of these
   * types holds every resource and a missing one is deleted. For scopes: {@code ScopedRdsConfigSubscription::start}
   * calls {@code subscription_->start({})}, an empty name set (source/common/router/scoped_rds.h), and its
   * state-of-the-world {@code onConfigUpdate} removes every scope the response does not hold (scoped_rds.cc).
   */
  public boolean wildcardByDefault() {
    return this == CLUSTER || this == LISTENER || this == SCOPED_ROUTE;
  }

  public static Optional<TypeUrl> of(String url) {
    for (TypeUrl t : values()) {
      if (t.url.equals(url)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}
