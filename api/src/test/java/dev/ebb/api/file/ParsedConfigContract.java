package dev.ebb.api.file;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Route;
import dev.ebb.api.model.RouteScoping;
import dev.ebb.api.text.Addresses;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * What every result of the file parser must satisfy, whatever the input (SPEC 4 and 7), checked by the fuzz tests:
 * an unreadable file yields no objects and errors about the file; a readable one yields only objects that pass
 * every documented rule, with unique names, and an error naming the object and the field for each object it
 * refused.
 */
public final class ParsedConfigContract {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?");
  private static final Pattern LOCATION = Pattern.compile(".*:[0-9]+:[0-9]+");

  private ParsedConfigContract() {}

  public static void checkFile(ParsedConfig p, String file) {
    String fileObject = "file " + file;
    if (!p.readable()) {
      check(p.listeners().isEmpty() && p.routes().isEmpty() && p.backends().isEmpty(),
          "an unreadable file yields no objects", p);
      check(p.invalidListeners().isEmpty() && p.invalidRoutes().isEmpty() && p.invalidBackends().isEmpty(),
          "an unreadable file names no invalid objects", p);
      check(!p.errors().isEmpty(), "an unreadable file says why", p);
      check(p.warnings().isEmpty(), "an unreadable file has no warnings", p);
      for (ConfigError e : p.errors()) {
        check(e.object().equals(fileObject), "an unreadable file's error is about the file: " + e, p);
        check(e.message().startsWith(fileObject + ": "), "message starts with the object: " + e, p);
        e.location().ifPresent(l -> check(l.startsWith(file + ":") && LOCATION.matcher(l).matches(),
            "location is file:line:column: " + e, p));
      }
      return;
    }
    for (ConfigError e : p.errors()) {
      check(e.object().startsWith("listener ") || e.object().startsWith("route ") || e.object().startsWith("backend "),
          "error names a listener, route or backend: " + e, p);
      check(!e.field().isEmpty(), "error names a field: " + e, p);
      String prefix = e.object() + ": " + (e.field().equals("(entry)") ? "" : e.field() + ": ");
      check(e.message().startsWith(prefix), "message starts with \"" + prefix + "\": " + e, p);
      check(e.message().length() > prefix.length(), "message says what is wrong: " + e, p);
      e.location().ifPresent(l -> check(l.startsWith(file + ":") && LOCATION.matcher(l).matches(),
          "location is file:line:column: " + e, p));
    }
    checkObjects(p, "route ");
  }

  /**
   * The objects of a readable result, whatever source it came from.
   *
   * @param routeObject how errors name a route: "route " (file) or "service " (Kubernetes)
   */
  public static void checkObjects(ParsedConfig p, String routeObject) {
    Set<String> listenerNames = unique(p.listeners(), ListenerSpec::name, "listener", p);
    Set<String> routeNames = unique(p.routes(), Route::name, "route", p);
    Set<String> backendNames = unique(p.backends(), Backend::name, "backend", p);
    disjoint(listenerNames, p.invalidListeners(), "listener", p);
    disjoint(routeNames, p.invalidRoutes(), "route", p);
    disjoint(backendNames, p.invalidBackends(), "backend", p);
    for (String n : p.invalidListeners()) {
      check(p.errors().stream().anyMatch(e -> e.object().equals("listener " + n)), "invalid listener " + n
          + " has an error naming it", p);
    }
    for (String n : p.invalidRoutes()) {
      check(p.errors().stream().anyMatch(e -> e.object().equals(routeObject + n)), "invalid route " + n
          + " has an error naming it", p);
    }
    for (String n : p.invalidBackends()) {
      check(p.errors().stream().anyMatch(e -> e.object().equals("backend " + n)), "invalid backend " + n
          + " has an error naming it", p);
    }

    Set<String> sockets = new HashSet<>();
    for (ListenerSpec l : p.listeners()) {
      check(NAME.matcher(l.name()).matches(), "listener name " + l.name(), p);
      check(Addresses.isIpLiteral(l.address()), "listener address " + l.address(), p);
      check(l.port() >= 1 && l.port() <= 65535, "listener port " + l.port(), p);
      check(l.trustedHops() >= 0 && l.trustedHops() <= 10, "trustedHops " + l.trustedHops(), p);
      check(sockets.add(l.address() + ":" + l.port()), "two listeners on " + l.address() + ":" + l.port(), p);
    }
    List<ListenerSpec> scoped = p.listeners().stream().filter(ListenerSpec::scopesRoutesByHost).toList();
    for (int i = 0; i < scoped.size(); i++) {
      for (int j = i + 1; j < scoped.size(); j++) {
        check(!scoped.get(i).sharesNodesWith(scoped.get(j)), "listeners " + scoped.get(i).name() + " and "
            + scoped.get(j).name() + " both scope routes by host for the same nodes", p);
      }
    }
    for (Backend b : p.backends()) {
      check(b.name().indexOf('/') >= 0 || NAME.matcher(b.name()).matches(), "backend name " + b.name(), p);
      Set<String> hostPorts = new HashSet<>();
      for (Endpoint e : b.endpoints()) {
        check(Addresses.isIpLiteral(e.address()), "endpoint address " + e.address(), p);
        check(e.port() >= 1 && e.port() <= 65535, "endpoint port " + e.port(), p);
        check(hostPorts.add(e.hostPort()), "endpoint " + e.hostPort() + " twice in " + b.name(), p);
      }
    }
    Map<String, RouteScoping> scoping = new HashMap<>();
    p.listeners().forEach(l -> scoping.put(l.name(), l.routeScoping()));
    Map<String, String> served = new HashMap<>();
    for (Route r : p.routes()) {
      check(!r.hosts().isEmpty(), "route " + r.name() + " has no host", p);
      check(r.hosts().size() == new HashSet<>(r.hosts()).size(), "route " + r.name() + " lists a host twice", p);
      for (String h : r.hosts()) {
        check(Addresses.hostProblem(h).isEmpty(), "route " + r.name() + " host " + h, p);
        check(scoping.getOrDefault(r.listener(), RouteScoping.NONE).hostProblem(r.listener(), h).isEmpty(),
            "route " + r.name() + " has wildcard host " + h + " on host-scoped listener " + r.listener(), p);
        String other = served.put(r.listener() + "|" + h + "|" + r.pathPrefix(), r.name());
        check(other == null, "routes " + other + " and " + r.name() + " both serve " + h + r.pathPrefix(), p);
      }
      check(r.pathPrefix().startsWith("/") && r.pathPrefix().chars().noneMatch(c -> c <= ' '),
          "route " + r.name() + " pathPrefix " + r.pathPrefix(), p);
      check(listenerNames.contains(r.listener()) || p.invalidListeners().contains(r.listener()),
          "route " + r.name() + " names undeclared listener " + r.listener(), p);
      for (String b : r.backendNames()) {
        check(backendNames.contains(b) || p.invalidBackends().contains(b),
            "route " + r.name() + " names undeclared backend " + b, p);
      }
      check(!r.rollout().canary().equals(java.util.Optional.of(r.rollout().stable())),
          "route " + r.name() + " canary is the stable backend", p);
      check(!r.drainTimeout().isNegative() && r.drainTimeout().compareTo(Route.MAX_DRAIN_TIMEOUT) <= 0,
          "route " + r.name() + " drainTimeout " + r.drainTimeout(), p);
      check(!r.idleTimeout().isNegative(), "route " + r.name() + " idleTimeout " + r.idleTimeout(), p);
      r.maxStreamDuration().ifPresent(d -> check(!d.isZero() && !d.isNegative(), "route " + r.name() + " maxStreamDuration " + d, p));
    }
    for (ConfigError w : p.warnings()) {
      check(p.routes().stream().anyMatch(r -> w.object().endsWith(" " + r.name())),
          "a warning is about a route that is served: " + w, p);
    }
  }

  /** Exactly equal results, or an error that says which part differs. */
  public static void equal(ParsedConfig expected, ParsedConfig actual, String what) {
    if (expected.equals(actual)) {
      return;
    }
    StringBuilder sb = new StringBuilder(what).append(" differs from the whole-file parse:");
    diff(sb, "readable", expected.readable(), actual.readable());
    diff(sb, "listeners", expected.listeners(), actual.listeners());
    diff(sb, "routes", expected.routes(), actual.routes());
    diff(sb, "backends", expected.backends(), actual.backends());
    diff(sb, "invalidListeners", expected.invalidListeners(), actual.invalidListeners());
    diff(sb, "invalidRoutes", expected.invalidRoutes(), actual.invalidRoutes());
    diff(sb, "invalidBackends", expected.invalidBackends(), actual.invalidBackends());
    diff(sb, "errors", expected.errors(), actual.errors());
    diff(sb, "warnings", expected.warnings(), actual.warnings());
    // one method per kind of difference, so the fuzzer's deduplication (by stack) tells the kinds apart
    if (expected.readable() != actual.readable()) {
      readabilityDiffers(sb.toString());
    } else if (!expected.listeners().equals(actual.listeners()) || !expected.routes().equals(actual.routes())
        || !expected.backends().equals(actual.backends())) {
      objectsDiffer(sb.toString());
    } else if (!expected.errors().equals(actual.errors())) {
      errorsDiffer(sb.toString());
    }
    otherPartsDiffer(sb.toString());
  }

  private static void readabilityDiffers(String message) {
    throw new AssertionError(message);
  }

  private static void objectsDiffer(String message) {
    throw new AssertionError(message);
  }

  private static void errorsDiffer(String message) {
    throw new AssertionError(message);
  }

  private static void otherPartsDiffer(String message) {
    throw new AssertionError(message);
  }

  private static void diff(StringBuilder sb, String part, Object expected, Object actual) {
    if (!expected.equals(actual)) {
      sb.append("\n  ").append(part).append(":\n    whole file:  ").append(expected).append("\n    incremental: ")
          .append(actual);
    }
  }

  private static <T> Set<String> unique(List<T> items, Function<T, String> name, String kind, ParsedConfig p) {
    Set<String> names = new HashSet<>();
    for (T t : items) {
      check(names.add(name.apply(t)), "two valid " + kind + "s named " + name.apply(t), p);
    }
    return names;
  }

  private static void disjoint(Set<String> valid, Set<String> invalid, String kind, ParsedConfig p) {
    for (String n : invalid) {
      check(!valid.contains(n), kind + " " + n + " is both valid and invalid", p);
    }
  }

  static void check(boolean ok, String what, ParsedConfig p) {
    if (!ok) {
      throw new AssertionError(what + "\n  in: " + p);
    }
  }
}
