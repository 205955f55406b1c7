package dev.ebb.api.file;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Route;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * SPEC 7: an invalid object keeps its last good version (or is not published if it never had one), and
 * everything else goes ahead. Pure: the previous effective model and a parse in, the model to publish out.
 */
public final class LastGood {
  /** The model to publish and the problems found while merging (references that cannot be served). */
  public record Result(Model model, List<ConfigError> errors) {}

  private LastGood() {}

  public static Result merge(Model previous, ParsedConfig parsed) {
    if (!parsed.readable()) {
      return new Result(previous, List.of());
    }
    Map<String, ListenerSpec> listeners = new LinkedHashMap<>();
    parsed.listeners().forEach(l -> listeners.put(l.name(), l));
    for (String name : parsed.invalidListeners()) {
      previous.listeners().stream().filter(l -> l.name().equals(name)).findFirst()
          .filter(old -> fitsBeside(old, listeners))
          .ifPresent(l -> listeners.put(name, l));
    }
    Map<String, Backend> backends = new LinkedHashMap<>();
    parsed.backends().forEach(b -> backends.put(b.name(), b));
    for (String name : parsed.invalidBackends()) {
      previous.backend(name).ifPresent(b -> backends.put(name, b));
    }
    List<ConfigError> errors = new ArrayList<>();
    Map<String, Route> routes = new LinkedHashMap<>();
    for (Route r : parsed.routes()) {
      Optional<String> missing = missingReference(r, listeners, backends, previous);
      if (missing.isEmpty()) {
        routes.put(r.name(), r);
      } else {
        errors.add(ConfigError.of("route " + r.name(), missing.get(), "", missing.get().equals("listener")
            ? "listener " + r.listener() + " has no valid definition"
            : "backend " + (missing.get().equals("stable") ? r.rollout().stable() : r.rollout().canary().orElse(""))
                + " has no valid definition"));
        previous.route(r.name()).ifPresent(old -> keepOld(old, routes, listeners, backends, previous));
      }
    }
    for (String name : parsed.invalidRoutes()) {
      previous.route(name).ifPresent(old -> keepOld(old, routes, listeners, backends, previous));
    }
    return new Result(new Model(new ArrayList<>(listeners.values()), new ArrayList<>(routes.values()),
        new ArrayList<>(backends.values())), errors);
  }

  private static void keepOld(Route old, Map<String, Route> routes, Map<String, ListenerSpec> listeners,
      Map<String, Backend> backends, Model previous) {
    if (missingReference(old, listeners, backends, previous).isEmpty()) {
      routes.put(old.name(), old);
    }
  }

  /**
   * Whether an old listener can come back beside the new ones: never two listeners on one socket (a listener in
   * the new file that took the old one's address and port wins), and never two that scope routes by host for the
   * same Envoy nodes (a node has one table of host scopes; see FileConfigParser).
   */
  private static boolean fitsBeside(ListenerSpec old, Map<String, ListenerSpec> listeners) {
    return listeners.values().stream().noneMatch(l -> (l.port() == old.port() && l.address().equals(old.address()))
        || (l.scopesRoutesByHost() && old.scopesRoutesByHost() && l.sharesNodesWith(old)));
  }

  /**
   * The field whose reference cannot be served, if any. A backend missing now but present in the previous
   * model is taken from there (its last good version), and so is a listener.
   */
  private static Optional<String> missingReference(Route r, Map<String, ListenerSpec> listeners,
      Map<String, Backend> backends, Model previous) {
    if (!listeners.containsKey(r.listener())) {
      Optional<ListenerSpec> old = previous.listeners().stream()
          .filter(l -> l.name().equals(r.listener())).findFirst()
          // as for invalid listeners above
          .filter(o -> fitsBeside(o, listeners));
      if (old.isEmpty()) {
        return Optional.of("listener");
      }
      listeners.put(old.get().name(), old.get());
    }
    List<String[]> refs = Stream.concat(Stream.<String[]>of(new String[] {"stable", r.rollout().stable()}),
        r.rollout().canary().stream().map(c -> new String[] {"canary", c})).toList();
    for (String[] ref : refs) {
      if (!backends.containsKey(ref[1])) {
        Optional<Backend> old = previous.backend(ref[1]);
        if (old.isEmpty()) {
          return Optional.of(ref[0]);
        }
        backends.put(ref[1], old.get());
      }
    }
    return Optional.empty();
  }
}
