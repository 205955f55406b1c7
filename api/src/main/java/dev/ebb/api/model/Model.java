package dev.ebb.api.model;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a source knows, validated: listeners, routes, backends and the certificates of TLS listeners,
 * each sorted by name.
 */
public record Model(List<ListenerSpec> listeners, List<Route> routes, List<Backend> backends,
    List<TlsSecret> secrets) {
  public static final Model EMPTY = new Model(List.of(ListenerSpec.DEFAULT), List.of(), List.of());

  public Model {
    listeners = listeners.stream().sorted(Comparator.comparing(ListenerSpec::name)).toList();
    routes = routes.stream().sorted(Comparator.comparing(Route::name)).toList();
    backends = backends.stream().sorted(Comparator.comparing(Backend::name)).toList();
    secrets = secrets.stream().sorted(Comparator.comparing(TlsSecret::name)).toList();
  }

  public Model(List<ListenerSpec> listeners, List<Route> routes, List<Backend> backends) {
    this(listeners, routes, backends, List.of());
  }

  /** The same model with these listeners and certificates (a source resolves certificates after parsing). */
  public Model withTls(List<ListenerSpec> newListeners, List<TlsSecret> newSecrets) {
    return new Model(newListeners, routes, backends, newSecrets);
  }

  public Optional<Route> route(String name) {
    return routes.stream().filter(r -> r.name().equals(name)).findFirst();
  }

  public Optional<Backend> backend(String name) {
    return backends.stream().filter(b -> b.name().equals(name)).findFirst();
  }

  public Map<String, Backend> backendsByName() {
    Map<String, Backend> byName = new LinkedHashMap<>();
    backends.forEach(b -> byName.put(b.name(), b));
    return byName;
  }
}
