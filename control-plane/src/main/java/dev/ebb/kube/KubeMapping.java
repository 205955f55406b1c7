package dev.ebb.kube;

import dev.ebb.api.kube.KubeObjects;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** fabric8 objects to the plain records the pure parser reads. */
final class KubeMapping {
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  private KubeMapping() {}

  static KubeObjects.Service service(Service s) {
    // a JSON merge patch that sets an annotation to null removes it; some servers keep a null value instead
    Map<String, String> annotations = new java.util.HashMap<>();
    if (s.getMetadata().getAnnotations() != null) {
      s.getMetadata().getAnnotations().forEach((k, v) -> {
        if (v != null) {
          annotations.put(k, v);
        }
      });
    }
    List<KubeObjects.ServicePort> ports = s.getSpec() == null || s.getSpec().getPorts() == null ? List.of()
        : s.getSpec().getPorts().stream()
            .map(p -> new KubeObjects.ServicePort(p.getName() == null ? "" : p.getName(),
                p.getPort() == null ? 0 : p.getPort()))
            .toList();
    return new KubeObjects.Service(s.getMetadata().getNamespace(), s.getMetadata().getName(),
        s.getMetadata().getUid() == null ? "" : s.getMetadata().getUid(), annotations, ports);
  }

  static Optional<KubeObjects.EndpointSlice> slice(EndpointSlice s) {
    Map<String, String> labels = s.getMetadata().getLabels();
    String service = labels == null ? null : labels.get(SERVICE_NAME_LABEL);
    if (service == null) {
      return Optional.empty();
    }
    List<KubeObjects.SlicePort> ports = s.getPorts() == null ? List.of() : s.getPorts().stream()
        .filter(p -> p.getPort() != null)
        .map(p -> new KubeObjects.SlicePort(p.getName() == null ? "" : p.getName(), p.getPort()))
        .toList();
    List<KubeObjects.SliceEndpoint> endpoints = s.getEndpoints() == null ? List.of() : s.getEndpoints().stream()
        .map(e -> new KubeObjects.SliceEndpoint(
            e.getAddresses() == null ? List.of() : e.getAddresses(),
            Optional.ofNullable(e.getConditions()).map(c -> c.getReady()),
            Optional.ofNullable(e.getConditions()).map(c -> c.getServing()),
            Optional.ofNullable(e.getConditions()).map(c -> c.getTerminating()),
            e.getZone() == null ? "" : e.getZone()))
        .toList();
    return Optional.of(new KubeObjects.EndpointSlice(s.getMetadata().getNamespace(), s.getMetadata().getName(),
        service, s.getAddressType() == null ? "" : s.getAddressType(), ports, endpoints));
  }
}
