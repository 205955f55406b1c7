package dev.ebb.api.model;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Everything a source knows, validated: listeners, routes and backends, each sorted by name. */
public record Model(List<ListenerSpec> listeners, List<Route> routes, List<Backend> backends) {
  public static final Model EMPTY = new Model(List.of(ListenerSpec.DEFAULT), List.of(), List.of());

  public Model {
    listeners = listeners.stream().sorted(Comparator.comparing(ListenerSpec::name)).toList();
    routes = routes.stream().sorted(Comparator.comparing(Route::name)).toList();
    backends = backends.stream().sorted(Comparator.comparing(Backend::name)).toList();
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
