package dev.ebb.publish;

import io.envoyproxy.controlplane.cache.Resources;
import java.util.List;
import java.util.Optional;

/**
 * The resource types Ebb serves, in make-before-break order: CDS, EDS, SDS (certificates a listener names),
 * LDS, RDS.
 */
public enum TypeUrl {
  CLUSTER(Resources.V3.CLUSTER_TYPE_URL, "CDS"),
  ENDPOINT(Resources.V3.ENDPOINT_TYPE_URL, "EDS"),
  SECRET(Resources.V3.SECRET_TYPE_URL, "SDS"),
  LISTENER(Resources.V3.LISTENER_TYPE_URL, "LDS"),
  ROUTE(Resources.V3.ROUTE_TYPE_URL, "RDS");

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
