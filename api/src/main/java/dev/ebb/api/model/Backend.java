package dev.ebb.api.model;

import java.util.List;
import java.util.Objects;

/**
 * One version of a service: a set of endpoints. Its name is also the Envoy cluster name
 * (file backends: the backend's name; Kubernetes: {@code namespace/service/port}).
 */
public record Backend(String name, List<Endpoint> endpoints) {
  public Backend {
    Objects.requireNonNull(name, "name");
    endpoints = endpoints.stream().sorted(Endpoint.ORDER).toList();
  }
}
