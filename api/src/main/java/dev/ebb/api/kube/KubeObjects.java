package dev.ebb.api.kube;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The parts of Kubernetes objects Ebb reads, free of any client library, so the parser stays pure. */
public final class KubeObjects {
  private KubeObjects() {}

  /** A core/v1 Service. {@code uid} is "" where unknown (Events name the object by it). */
  public record Service(String namespace, String name, String uid, Map<String, String> annotations,
      List<ServicePort> ports) {
    public Service {
      annotations = Map.copyOf(annotations);
      ports = List.copyOf(ports);
    }

    public String key() {
      return namespace + "/" + name;
    }
  }

  /** A Service port: its name ("" when unnamed) and number. */
  public record ServicePort(String name, int port) {}

  /** A discovery.k8s.io/v1 EndpointSlice, with the Service it belongs to (label kubernetes.io/service-name). */
  public record EndpointSlice(String namespace, String name, String serviceName, String addressType,
      List<SlicePort> ports, List<SliceEndpoint> endpoints) {
    public EndpointSlice {
      ports = List.copyOf(ports);
      endpoints = List.copyOf(endpoints);
    }
  }

  /** A slice port: the name of the Service port it serves ("" when unnamed) and the endpoint port number. */
  public record SlicePort(String name, int port) {}

  /** One endpoint of a slice. Conditions are empty when Kubernetes left them unset. */
  public record SliceEndpoint(List<String> addresses, Optional<Boolean> ready, Optional<Boolean> serving,
      Optional<Boolean> terminating, String zone) {
    public SliceEndpoint {
      addresses = List.copyOf(addresses);
    }
  }
}
