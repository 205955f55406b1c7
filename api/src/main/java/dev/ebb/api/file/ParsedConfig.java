package dev.ebb.api.file;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Route;
import java.util.List;
import java.util.Set;

/**
 * What a file said: the objects that passed validation, the names of those that did not, and why.
 * {@code readable} is false when nothing of the file can be trusted (a YAML error, a wrong top-level
 * shape): then the whole last good config stays in force.
 */
public record ParsedConfig(
    boolean readable,
    List<ListenerSpec> listeners,
    List<Route> routes,
    List<Backend> backends,
    Set<String> invalidListeners,
    Set<String> invalidRoutes,
    Set<String> invalidBackends,
    List<ConfigError> errors,
    List<ConfigError> warnings) {

  public ParsedConfig {
    listeners = List.copyOf(listeners);
    routes = List.copyOf(routes);
    backends = List.copyOf(backends);
    invalidListeners = Set.copyOf(invalidListeners);
    invalidRoutes = Set.copyOf(invalidRoutes);
    invalidBackends = Set.copyOf(invalidBackends);
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }

  public static ParsedConfig unreadable(ConfigError error) {
    return new ParsedConfig(false, List.of(), List.of(), List.of(), Set.of(), Set.of(), Set.of(),
        List.of(error), List.of());
  }
}
