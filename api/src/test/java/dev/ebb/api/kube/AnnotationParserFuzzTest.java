package dev.ebb.api.kube;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ebb.api.file.ParsedConfig;
import dev.ebb.api.file.ParsedConfigContract;
import dev.ebb.api.kube.KubeObjects.EndpointSlice;
import dev.ebb.api.kube.KubeObjects.Service;
import dev.ebb.api.kube.KubeObjects.ServicePort;
import dev.ebb.api.kube.KubeObjects.SliceEndpoint;
import dev.ebb.api.kube.KubeObjects.SlicePort;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Route;
import dev.ebb.api.model.RouteScoping;
import dev.ebb.api.text.Addresses;
import dev.ebb.api.text.Durations;
import dev.ebb.api.text.Weights;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Fuzzes the annotation contract (SPEC 3 and 7): route Services whose annotation values the fuzzer writes, beside
 * fixed backend Services and EndpointSlices, read by {@link AnnotationParser}.
 *
 * <p>Input (UTF-8): the annotations of up to four route Services ({@code default/route-1} ...), separated by lines
 * {@code ---}; one annotation per line, {@code key=value}. A key without {@code /} gets the {@code ebb.dev/} prefix;
 * {@code \n} in a value stands for a newline. Backends: {@code chat-v1} (ports http 80, grpc 9090), {@code chat-v2}
 * (http 80), {@code no-ports}; the route Services themselves (http 80). Listeners: {@code edge} and {@code scoped}
 * (routeScoping host).
 *
 * <p>Checks: no exception; every route Service with {@code ebb.dev/hosts} is either a route or rejected, never both;
 * a rejected one has errors that name the Service and the annotation, and only rejected ones have errors; a value
 * that breaks the annotation's rule rejects the route with an error naming that annotation; an accepted route
 * carries exactly the values written. Replayed from {@code AnnotationParserFuzzTestInputs/annotations/} in every
 * build; see docs/FUZZING.md.
 */
class AnnotationParserFuzzTest {
  private static final int MAX_ROUTES = 4;
  private static final ServicePort HTTP = new ServicePort("http", 80);
  private static final List<ListenerSpec> LISTENERS = List.of(ListenerSpec.DEFAULT,
      new ListenerSpec("scoped", "0.0.0.0", 10001, List.of("mobile")).withRouteScoping(RouteScoping.HOST));
  private static final List<Service> BACKENDS = List.of(
      new Service("default", "chat-v1", "", Map.of(), List.of(HTTP, new ServicePort("grpc", 9090))),
      new Service("default", "chat-v2", "", Map.of(), List.of(HTTP)),
      new Service("default", "no-ports", "", Map.of(), List.of()));
  private static final List<EndpointSlice> SLICES = List.of(
      new EndpointSlice("default", "chat-v1-a", "chat-v1", "IPv4",
          List.of(new SlicePort("http", 8080), new SlicePort("grpc", 9090)),
          List.of(endpoint("10.0.1.1", true, true, false), endpoint("10.0.1.2", null, null, null),
              endpoint("10.0.1.3", false, true, true), endpoint("10.0.1.4", false, false, true))),
      new EndpointSlice("default", "chat-v1-b", "chat-v1", "IPv6", List.of(new SlicePort("http", 8080)),
          List.of(endpoint("fd00::1", true, true, false))),
      new EndpointSlice("default", "chat-v2-a", "chat-v2", "IPv4", List.of(new SlicePort("http", 8080)),
          List.of(endpoint("10.0.2.1", true, true, false), endpoint("not-an-ip", true, true, false))),
      new EndpointSlice("default", "chat-v2-f", "chat-v2", "FQDN", List.of(new SlicePort("http", 8080)),
          List.of(endpoint("chat.example.com", true, true, false))));
  private static final Set<String> HELD = Set.of("default/chat-v1/9090", "default/gone/80", "no-slash");

  private static SliceEndpoint endpoint(String address, Boolean ready, Boolean serving, Boolean terminating) {
    return new SliceEndpoint(List.of(address), Optional.ofNullable(ready), Optional.ofNullable(serving),
        Optional.ofNullable(terminating), "zone-a");
  }

  @FuzzTest(maxDuration = "10m")
  void annotations(byte[] data) {
    List<Map<String, String>> routes = routes(new String(data, StandardCharsets.UTF_8));
    List<Service> services = new ArrayList<>(BACKENDS);
    for (int i = 0; i < routes.size(); i++) {
      services.add(new Service("default", "route-" + (i + 1), "", routes.get(i), List.of(HTTP)));
    }
    ParsedConfig p = AnnotationParser.parse(services, SLICES, LISTENERS, HELD);

    check(p.readable(), "a Kubernetes read is always readable", routes, p);
    ParsedConfigContract.checkObjects(p, "service ");
    Set<String> rejected = p.invalidRoutes().stream().map(k -> "service " + k).collect(Collectors.toSet());
    for (ConfigError e : p.errors()) {
      check(rejected.contains(e.object()), "an error about a Service that is not rejected: " + e, routes, p);
      check(e.field().startsWith(Annotations.PREFIX), "an error names the annotation: " + e, routes, p);
      check(e.message().startsWith(e.object() + ": " + e.field() + ": "), "message starts with object and annotation: "
          + e, routes, p);
    }
    for (int i = 0; i < routes.size(); i++) {
      Map<String, String> a = routes.get(i);
      String key = "default/route-" + (i + 1);
      Optional<Route> route = p.routes().stream().filter(r -> r.name().equals(key)).findFirst();
      boolean invalid = p.invalidRoutes().contains(key);
      if (!a.containsKey(Annotations.HOSTS)) {
        check(route.isEmpty() && !invalid, key + " has no ebb.dev/hosts, so it is no route", routes, p);
        continue;
      }
      check(route.isPresent() != invalid, key + " is " + (invalid ? "both a route and rejected" : "neither a route"
          + " nor rejected"), routes, p);
      for (String annotation : broken(a, routes.size())) {
        check(invalid, key + " is a route although " + annotation + " is wrong", routes, p);
        check(p.errors().stream().anyMatch(e -> e.object().equals("service " + key) && e.field().equals(annotation)),
            "no error names " + key + " and " + annotation, routes, p);
      }
      route.ifPresent(r -> checkValues(r, a, routes, p));
    }
  }

  /** The annotations of each route Service in the input. */
  static List<Map<String, String>> routes(String input) {
    List<Map<String, String>> routes = new ArrayList<>();
    Map<String, String> current = new LinkedHashMap<>();
    for (String line : input.split("\n", -1)) {
      if (line.equals("---")) {
        routes.add(current);
        current = new LinkedHashMap<>();
        if (routes.size() == MAX_ROUTES) {
          return routes;
        }
        continue;
      }
      if (line.isEmpty()) {
        continue;
      }
      int eq = line.indexOf('=');
      String k = eq < 0 ? line : line.substring(0, eq);
      String v = eq < 0 ? "" : line.substring(eq + 1).replace("\\n", "\n");
      current.put(k.indexOf('/') >= 0 ? k : Annotations.PREFIX + k, v);
    }
    routes.add(current);
    return routes;
  }

  /** Annotations whose value breaks the rule on its own (SPEC 3): each must reject the route and be named. */
  static List<String> broken(Map<String, String> a, int routeServices) {
    List<String> broken = new ArrayList<>();
    for (String k : a.keySet()) {
      if (k.startsWith(Annotations.PREFIX) && !Annotations.INPUTS.contains(k) && !k.equals(Annotations.STATUS)) {
        broken.add(k);
      }
    }
    Map<String, String> t = new LinkedHashMap<>();
    a.forEach((k, v) -> t.put(k, v.trim()));
    List<String> hosts = hostParts(t.get(Annotations.HOSTS));
    if (hosts.isEmpty() || hosts.stream().anyMatch(h -> !Addresses.hostProblem(h).isEmpty())) {
      broken.add(Annotations.HOSTS);
    }
    String stable = t.getOrDefault(Annotations.STABLE, "");
    boolean routeService = stable.matches("route-[1-4]") && stable.charAt(6) - '0' <= routeServices;
    if (!stable.equals("chat-v1") && !stable.equals("chat-v2") && !routeService) {
      broken.add(Annotations.STABLE);
    }
    if (t.containsKey(Annotations.CANARY_WEIGHT) && weight(t.get(Annotations.CANARY_WEIGHT)).isEmpty()) {
      broken.add(Annotations.CANARY_WEIGHT);
    }
    for (String d : List.of(Annotations.DRAIN_TIMEOUT, Annotations.IDLE_TIMEOUT, Annotations.MAX_STREAM_DURATION)) {
      if (t.containsKey(d) && duration(t.get(d)).isEmpty()) {
        broken.add(d);
      }
    }
    if (t.containsKey(Annotations.DRAIN_TIMEOUT) && duration(t.get(Annotations.DRAIN_TIMEOUT))
        .filter(x -> x.compareTo(Route.MAX_DRAIN_TIMEOUT) > 0).isPresent()) {
      broken.add(Annotations.DRAIN_TIMEOUT);
    }
    if (t.containsKey(Annotations.PROTOCOL) && Protocol.parse(t.get(Annotations.PROTOCOL)).isEmpty()) {
      broken.add(Annotations.PROTOCOL);
    }
    String prefix = t.get(Annotations.PATH_PREFIX);
    if (prefix != null && (!prefix.startsWith("/") || prefix.chars().anyMatch(c -> c <= ' '))) {
      broken.add(Annotations.PATH_PREFIX);
    }
    String outlier = t.get(Annotations.OUTLIER_DETECTION);
    if (outlier != null && !outlier.equals("true") && !outlier.equals("false")) {
      broken.add(Annotations.OUTLIER_DETECTION);
    }
    String listener = t.get(Annotations.LISTENER);
    if (listener != null && !listener.equals("edge") && !listener.equals("scoped")) {
      broken.add(Annotations.LISTENER);
    }
    return broken;
  }

  /** An accepted route carries exactly the values written. */
  static void checkValues(Route r, Map<String, String> a, List<Map<String, String>> routes, ParsedConfig p) {
    Map<String, String> t = new LinkedHashMap<>();
    a.forEach((k, v) -> t.put(k, v.trim()));
    String what = "route " + r.name() + ": ";
    check(r.hosts().equals(hostParts(t.get(Annotations.HOSTS)).stream().distinct().toList()),
        what + "hosts " + r.hosts(), routes, p);
    check(r.protocol() == Protocol.parse(t.getOrDefault(Annotations.PROTOCOL, "websocket")).orElseThrow(),
        what + "protocol " + r.protocol(), routes, p);
    check(r.pathPrefix().equals(t.getOrDefault(Annotations.PATH_PREFIX, "/")), what + "pathPrefix", routes, p);
    check(r.listener().equals(t.getOrDefault(Annotations.LISTENER, "edge")), what + "listener", routes, p);
    check(r.drainTimeout().equals(t.containsKey(Annotations.DRAIN_TIMEOUT)
        ? duration(t.get(Annotations.DRAIN_TIMEOUT)).orElseThrow() : Route.DEFAULT_DRAIN_TIMEOUT),
        what + "drainTimeout " + r.drainTimeout(), routes, p);
    check(r.idleTimeout().equals(t.containsKey(Annotations.IDLE_TIMEOUT)
        ? duration(t.get(Annotations.IDLE_TIMEOUT)).orElseThrow() : Route.DEFAULT_IDLE_TIMEOUT),
        what + "idleTimeout " + r.idleTimeout(), routes, p);
    Optional<Duration> maxStream = Optional.ofNullable(t.get(Annotations.MAX_STREAM_DURATION))
        .flatMap(AnnotationParserFuzzTest::duration).filter(d -> !d.isZero());
    check(r.maxStreamDuration().equals(maxStream), what + "maxStreamDuration " + r.maxStreamDuration(), routes, p);
    check(r.outlierDetection() == "true".equals(t.get(Annotations.OUTLIER_DETECTION)), what + "outlierDetection",
        routes, p);
    check(r.rollout().stable().startsWith("default/" + t.get(Annotations.STABLE) + "/"), what + "stable "
        + r.rollout().stable(), routes, p);
    Optional<String> canary = Optional.ofNullable(t.get(Annotations.CANARY)).filter(c -> !c.isEmpty());
    check(r.rollout().canary().map(c -> c.substring(0, c.lastIndexOf('/')))
        .equals(canary.map(c -> "default/" + c)), what + "canary " + r.rollout().canary(), routes, p);
    int weight = canary.isPresent() && t.containsKey(Annotations.CANARY_WEIGHT)
        ? weight(t.get(Annotations.CANARY_WEIGHT)).orElseThrow() : 0;
    check(r.rollout().canaryWeightBasisPoints() == weight, what + "canary weight "
        + r.rollout().canaryWeightBasisPoints(), routes, p);
  }

  static List<String> hostParts(String hosts) {
    List<String> out = new ArrayList<>();
    if (hosts != null) {
      for (String h : hosts.split(",")) {
        if (!h.trim().isEmpty()) {
          out.add(h.trim());
        }
      }
    }
    return out;
  }

  static Optional<Integer> weight(String text) {
    try {
      return Optional.of(Weights.parseBasisPoints(text));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  static Optional<Duration> duration(String text) {
    try {
      return Optional.of(Durations.parse(text));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  static void check(boolean ok, String what, List<Map<String, String>> routes, ParsedConfig p) {
    if (!ok) {
      throw new AssertionError(what + "\n--- annotations: " + routes + "\n--- errors: "
          + p.errors().stream().map(ConfigError::message).toList() + "\n--- routes: " + p.routes());
    }
  }
}
