package dev.ebb.api.kube;

import dev.ebb.api.file.ParsedConfig;
import dev.ebb.api.kube.KubeObjects.EndpointSlice;
import dev.ebb.api.kube.KubeObjects.Service;
import dev.ebb.api.kube.KubeObjects.ServicePort;
import dev.ebb.api.kube.KubeObjects.SliceEndpoint;
import dev.ebb.api.kube.KubeObjects.SlicePort;
import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.api.text.Addresses;
import dev.ebb.api.text.Durations;
import dev.ebb.api.text.Weights;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * SPEC section 3: route Services (those with {@code ebb.dev/hosts}) and their backend Services' EndpointSlices
 * to routes and backends. Pure. Each route Service is validated on its own; every rejection names
 * {@code namespace/service}, the annotation and the value.
 */
public final class AnnotationParser {
  private AnnotationParser() {}

  public static ParsedConfig parse(List<Service> services, List<EndpointSlice> slices, List<ListenerSpec> listeners) {
    return parse(services, slices, listeners, Set.of());
  }

  /**
   * @param held cluster names ({@code namespace/service/port}) that no route may name any more but that the
   *     config still holds (draining backends): they stay in the model with their live endpoints, so a drain
   *     keeps every endpoint after a restart, on a new replica, and while pods come and go (SPEC 2.1, 2.3).
   */
  public static ParsedConfig parse(List<Service> services, List<EndpointSlice> slices, List<ListenerSpec> listeners,
      Set<String> held) {
    Map<String, Service> byKey = new HashMap<>();
    services.forEach(s -> byKey.put(s.key(), s));
    Map<String, List<EndpointSlice>> slicesByService = new HashMap<>();
    slices.forEach(s -> slicesByService.computeIfAbsent(s.namespace() + "/" + s.serviceName(),
        k -> new ArrayList<>()).add(s));
    Map<String, ListenerSpec> listenersByName = new LinkedHashMap<>();
    listeners.forEach(l -> listenersByName.put(l.name(), l));

    List<Route> routes = new ArrayList<>();
    Map<String, Backend> backends = new TreeMap<>();
    Set<String> invalid = new LinkedHashSet<>();
    List<ConfigError> errors = new ArrayList<>();
    List<ConfigError> warnings = new ArrayList<>();
    Map<String, String> servedBy = new HashMap<>();
    List<Service> routeServices = services.stream().filter(s -> s.annotations().containsKey(Annotations.HOSTS))
        .sorted(Comparator.comparing(Service::key)).toList();
    for (Service s : routeServices) {
      RouteReader reader = new RouteReader(s, byKey, slicesByService, listenersByName);
      Optional<Route> route = reader.read();
      if (route.isPresent()) {
        Route r = route.get();
        for (String h : r.hosts()) {
          String other = servedBy.get(r.listener() + "|" + h + "|" + r.pathPrefix());
          if (other != null) {
            reader.problem(Annotations.HOSTS, h, h + " with path prefix " + r.pathPrefix()
                + " is already served by route " + other + " on listener " + r.listener());
          }
        }
      }
      errors.addAll(reader.errors);
      warnings.addAll(reader.warnings);
      if (route.isPresent() && reader.errors.isEmpty()) {
        Route r = route.get();
        r.hosts().forEach(h -> servedBy.put(r.listener() + "|" + h + "|" + r.pathPrefix(), r.name()));
        routes.add(r);
      } else {
        invalid.add(s.key());
      }
      // backends resolved even for a rejected route: its last good version keeps current endpoints
      reader.backends.forEach(b -> backends.put(b.name(), b));
    }
    for (String cluster : held) {
      if (!backends.containsKey(cluster)) {
        heldBackend(cluster, byKey, slicesByService).ifPresent(b -> backends.put(b.name(), b));
      }
    }
    return new ParsedConfig(true, listeners, routes, new ArrayList<>(backends.values()), Set.of(), invalid,
        Set.of(), errors, warnings);
  }

  /** A held cluster's current endpoints; empty when its Service or port is gone (the drain remembers them). */
  private static Optional<Backend> heldBackend(String cluster, Map<String, Service> services,
      Map<String, List<EndpointSlice>> slices) {
    int slash = cluster.lastIndexOf('/');
    if (slash < 0) {
      return Optional.empty();
    }
    Service b = services.get(cluster.substring(0, slash));
    String port = cluster.substring(slash + 1);
    if (b == null) {
      return Optional.empty();
    }
    return b.ports().stream().filter(p -> String.valueOf(p.port()).equals(port)).findFirst()
        .map(p -> new Backend(cluster, endpoints(b, p, slices)));
  }

  /** Reads one route Service; collects problems instead of stopping at the first. */
  private static final class RouteReader {
    final Service s;
    final String object;
    final Map<String, Service> services;
    final Map<String, List<EndpointSlice>> slices;
    final Map<String, ListenerSpec> listeners;
    final List<ConfigError> errors = new ArrayList<>();
    final List<ConfigError> warnings = new ArrayList<>();
    final List<Backend> backends = new ArrayList<>();

    RouteReader(Service s, Map<String, Service> services, Map<String, List<EndpointSlice>> slices,
        Map<String, ListenerSpec> listeners) {
      this.s = s;
      this.object = "service " + s.key();
      this.services = services;
      this.slices = slices;
      this.listeners = listeners;
    }

    void problem(String annotation, String value, String detail) {
      errors.add(ConfigError.of(object, annotation, value, detail));
    }

    Optional<String> get(String annotation) {
      return Optional.ofNullable(s.annotations().get(annotation)).map(String::trim);
    }

    Optional<Route> read() {
      for (String key : s.annotations().keySet()) {
        if (key.startsWith(Annotations.PREFIX) && !Annotations.INPUTS.contains(key)
            && !key.equals(Annotations.STATUS)) {
          problem(key, s.annotations().get(key), s.annotations().get(key) + " is not a known annotation (known: "
              + String.join(", ",
              Annotations.INPUTS.stream().sorted().toList()) + ")");
        }
      }
      List<String> hosts = new ArrayList<>();
      String hostsText = get(Annotations.HOSTS).orElse("");
      for (String raw : hostsText.split(",")) {
        String h = raw.trim();
        if (h.isEmpty()) {
          continue;
        }
        String why = Addresses.hostProblem(h);
        if (!why.isEmpty()) {
          problem(Annotations.HOSTS, h, h + " " + why);
        } else if (!hosts.contains(h)) {
          hosts.add(h);
        }
      }
      if (hosts.isEmpty() && errors.stream().noneMatch(e -> e.field().equals(Annotations.HOSTS))) {
        problem(Annotations.HOSTS, hostsText, "must name at least one host");
      }
      String protocolText = get(Annotations.PROTOCOL).orElse("websocket");
      Protocol protocol = Protocol.parse(protocolText).orElseGet(() -> {
        problem(Annotations.PROTOCOL, protocolText, protocolText + " is not one of websocket, grpc, http");
        return Protocol.WEBSOCKET;
      });
      String pathPrefix = get(Annotations.PATH_PREFIX).orElse(Route.DEFAULT_PATH_PREFIX);
      if (!pathPrefix.startsWith("/") || pathPrefix.chars().anyMatch(c -> c <= ' ')) {
        problem(Annotations.PATH_PREFIX, pathPrefix, pathPrefix + " must start with / and contain no spaces");
      }
      String listener = get(Annotations.LISTENER).orElse(Route.DEFAULT_LISTENER);
      ListenerSpec onListener = listeners.get(listener);
      if (onListener == null) {
        problem(Annotations.LISTENER, listener, "listener " + listener + " is not defined");
      } else {
        hosts.forEach(h -> onListener.hostProblem(h).ifPresent(why -> problem(Annotations.HOSTS, h, why)));
      }
      Optional<String> stableName = get(Annotations.STABLE).filter(n -> !n.isEmpty());
      if (stableName.isEmpty()) {
        problem(Annotations.STABLE, "", "is required (the name of the stable backend Service)");
      }
      Optional<String> canaryName = get(Annotations.CANARY).filter(c -> !c.isEmpty());
      int weight = 0;
      Optional<String> weightText = get(Annotations.CANARY_WEIGHT);
      if (weightText.isPresent()) {
        try {
          weight = Weights.parseBasisPoints(weightText.get());
          if (canaryName.isEmpty()) {
            problem(Annotations.CANARY_WEIGHT, weightText.get(), weightText.get()
                + " is set but the route has no canary (" + Annotations.CANARY + ")");
          }
        } catch (IllegalArgumentException e) {
          problem(Annotations.CANARY_WEIGHT, weightText.get(), e.getMessage());
        }
      }
      if (canaryName.isPresent() && canaryName.equals(stableName)) {
        problem(Annotations.CANARY, canaryName.get(), canaryName.get() + " is also the stable backend");
      }
      Duration drainTimeout = duration(Annotations.DRAIN_TIMEOUT, Route.DEFAULT_DRAIN_TIMEOUT);
      if (drainTimeout.compareTo(Route.MAX_DRAIN_TIMEOUT) > 0) {
        problem(Annotations.DRAIN_TIMEOUT, get(Annotations.DRAIN_TIMEOUT).orElse(""),
            get(Annotations.DRAIN_TIMEOUT).orElse("") + " is longer than the maximum 168h");
      }
      Duration idleTimeout = duration(Annotations.IDLE_TIMEOUT, Route.DEFAULT_IDLE_TIMEOUT);
      Optional<Duration> maxStream = get(Annotations.MAX_STREAM_DURATION)
          .map(t -> duration(Annotations.MAX_STREAM_DURATION, Duration.ZERO)).filter(d -> !d.isZero());

      String outlierText = get(Annotations.OUTLIER_DETECTION).orElse("false");
      boolean outlierDetection = outlierText.equals("true");
      if (!outlierText.equals("true") && !outlierText.equals("false")) {
        problem(Annotations.OUTLIER_DETECTION, outlierText, outlierText + " is not true or false");
      }
      Optional<String> stable = stableName.flatMap(n -> backend(Annotations.STABLE, n));
      Optional<String> canary = canaryName.flatMap(n -> backend(Annotations.CANARY, n));
      if (!errors.isEmpty()) {
        return Optional.empty();
      }
      maxStream.filter(d -> d.compareTo(drainTimeout) > 0).ifPresent(d -> warnings.add(ConfigError.of(object,
          Annotations.MAX_STREAM_DURATION, Durations.format(d), Durations.format(d) + " is longer than drain-timeout "
              + Durations.format(drainTimeout) + ": streams can outlive the drain")));
      Rollout rollout = new Rollout(stable.orElseThrow(), canary, canary.isPresent() ? weight : 0);
      return Optional.of(new Route(s.key(), hosts, protocol, pathPrefix, listener, rollout, drainTimeout,
          idleTimeout, maxStream, outlierDetection));
    }

    private Duration duration(String annotation, Duration defaultValue) {
      Optional<String> text = get(annotation);
      if (text.isEmpty()) {
        return defaultValue;
      }
      try {
        return Durations.parse(text.get());
      } catch (IllegalArgumentException e) {
        problem(annotation, text.get(), e.getMessage());
        return defaultValue;
      }
    }

    /** Resolves a backend Service and its port; returns the cluster name. */
    private Optional<String> backend(String annotation, String name) {
      Service b = services.get(s.namespace() + "/" + name);
      if (b == null) {
        problem(annotation, name, "service " + s.namespace() + "/" + name + " does not exist");
        return Optional.empty();
      }
      if (b.ports().isEmpty()) {
        problem(annotation, name, "service " + b.key() + " has no ports");
        return Optional.empty();
      }
      Optional<String> portText = get(Annotations.PORT);
      Optional<ServicePort> port = portText.isEmpty() ? Optional.of(b.ports().get(0))
          : b.ports().stream().filter(p -> p.name().equals(portText.get())
              || String.valueOf(p.port()).equals(portText.get())).findFirst();
      if (port.isEmpty()) {
        problem(Annotations.PORT, portText.get(), portText.get() + " is not a port of service " + b.key());
        return Optional.empty();
      }
      String cluster = b.key() + "/" + port.get().port();
      backends.add(new Backend(cluster, AnnotationParser.endpoints(b, port.get(), slices)));
      return Optional.of(cluster);
    }
  }

  /**
   * The endpoints of a backend port, merged over all its slices. Ready endpoints are sent HEALTHY,
   * serving-and-terminating ones DRAINING, the rest left out. Dual stack: IPv4 when the Service has any
   * IPv4 endpoint, else IPv6 (sending both would count every pod twice). FQDN slices are ignored.
   */
  private static List<Endpoint> endpoints(Service b, ServicePort port, Map<String, List<EndpointSlice>> slices) {
    List<EndpointSlice> all = slices.getOrDefault(b.key(), List.of());
    Map<String, List<Endpoint>> byFamily = new LinkedHashMap<>();
    for (EndpointSlice slice : all) {
      if (!slice.addressType().equals("IPv4") && !slice.addressType().equals("IPv6")) {
        continue;
      }
      Optional<SlicePort> sp = slice.ports().stream().filter(p -> p.name().equals(port.name())).findFirst();
      if (sp.isEmpty()) {
        continue;
      }
      for (SliceEndpoint e : slice.endpoints()) {
        Optional<EndpointState> state = state(e);
        if (state.isEmpty()) {
          continue;
        }
        for (String address : e.addresses()) {
          if (Addresses.isIpLiteral(address)) {
            byFamily.computeIfAbsent(slice.addressType(), f -> new ArrayList<>())
                .add(new Endpoint(address, sp.get().port(), e.zone(), state.get()));
          }
        }
      }
    }
    List<Endpoint> chosen = byFamily.containsKey("IPv4") ? byFamily.get("IPv4")
        : byFamily.getOrDefault("IPv6", List.of());
    Map<String, Endpoint> unique = new LinkedHashMap<>();
    // the same address in two slices (a slice being replaced): READY wins over DRAINING
    for (Endpoint e : chosen) {
      unique.merge(e.hostPort(), e, (a, x) -> a.state() == EndpointState.READY ? a : x);
    }
    return List.copyOf(unique.values());
  }

  static Optional<EndpointState> state(SliceEndpoint e) {
    boolean terminating = e.terminating().orElse(false);
    if (terminating) {
      boolean serving = e.serving().orElse(false);
      return serving ? Optional.of(EndpointState.DRAINING) : Optional.empty();
    }
    // an unset ready condition means ready (discovery.k8s.io/v1)
    boolean ready = e.ready().orElse(e.serving().orElse(true));
    return ready ? Optional.of(EndpointState.READY) : Optional.empty();
  }
}
