package dev.ebb.publish;

import java.util.List;
import java.util.Optional;

/**
 * The resource types Ebb serves, in make-before-break order: CDS, EDS, SDS (certificates a listener names),
 * LDS, RDS.
 */
public enum TypeUrl {
  CLUSTER("type.googleapis.com/envoy.config.cluster.v3.Cluster", "CDS"),
  ENDPOINT("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "EDS"),
  SECRET("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "SDS"),
  LISTENER("type.googleapis.com/envoy.config.listener.v3.Listener", "LDS"),
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

  /** Envoy subscribes to listeners and clusters as a wildcard. */
  public boolean wildcardByDefault() {
    return this == CLUSTER || this == LISTENER;
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
