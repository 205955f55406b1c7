package dev.ebb.api.kube;

import static org.assertj.core.api.Assertions.assertThat;

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
import dev.ebb.api.model.RouteScoping;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** SPEC section 3 without a cluster: route Services and EndpointSlices in, routes, backends and messages out. */
class AnnotationParserTest {
  static final String V1 = "default/chat-v1/80";
  static final String V2 = "default/chat-v2/80";
  static final List<ListenerSpec> EDGE = List.of(ListenerSpec.DEFAULT);
  static final ServicePort HTTP = new ServicePort("http", 80);

  // ---- building objects ----

  /** The route Service of the integration tests: chat.example.com, chat-v1 stable, chat-v2 canary at 20%. */
  static Map<String, String> chat() {
    Map<String, String> a = new LinkedHashMap<>();
    a.put(Annotations.HOSTS, "chat.example.com");
    a.put(Annotations.STABLE, "chat-v1");
    a.put(Annotations.CANARY, "chat-v2");
    a.put(Annotations.CANARY_WEIGHT, "20");
    a.put(Annotations.DRAIN_TIMEOUT, "10m");
    return a;
  }

  /** chat() with one annotation set, or removed when {@code value} is null. */
  static Map<String, String> chatWith(String annotation, String value) {
    Map<String, String> a = chat();
    if (value == null) {
      a.remove(annotation);
    } else {
      a.put(annotation, value);
    }
    return a;
  }

  static Service service(String name, Map<String, String> annotations, ServicePort... ports) {
    return new Service("default", name, "", annotations, List.of(ports));
  }

  static Service backend(String name, ServicePort... ports) {
    return service(name, Map.of(), ports.length == 0 ? new ServicePort[] {HTTP} : ports);
  }

  /** Conditions as Kubernetes sends them; null is "unset". */
  static SliceEndpoint ep(String address, String zone, Boolean ready, Boolean serving, Boolean terminating) {
    return new SliceEndpoint(List.of(address), Optional.ofNullable(ready), Optional.ofNullable(serving),
        Optional.ofNullable(terminating), zone);
  }

  static SliceEndpoint ready(String address, String zone) {
    return ep(address, zone, true, true, false);
  }

  static SliceEndpoint terminating(String address, String zone) {
    return ep(address, zone, false, true, true);
  }

  /** A slice labelled for {@code service}, serving its "http" port on 8080. */
  static EndpointSlice slice(String service, String name, String addressType, SliceEndpoint... endpoints) {
    return new EndpointSlice("default", name, service, addressType, List.of(new SlicePort("http", 8080)),
        List.of(endpoints));
  }

  static EndpointSlice slice(String service, String name, SliceEndpoint... endpoints) {
    return slice(service, name, "IPv4", endpoints);
  }

  static List<EndpointSlice> chatSlices() {
    return List.of(slice("chat-v1", "chat-v1-a", ready("10.0.1.1", "zone-a"), ready("10.0.1.2", "zone-b")),
        slice("chat-v2", "chat-v2-a", ready("10.0.2.1", "zone-a")));
  }

  static Endpoint endpoint(String address, String zone, EndpointState state) {
    return new Endpoint(address, 8080, zone, state);
  }

  // ---- parsing and reading results ----

  static ParsedConfig parse(List<Service> routes, List<EndpointSlice> slices, Set<String> held, Service... extra) {
    List<Service> all = new ArrayList<>(routes);
    all.add(backend("chat-v1"));
    all.add(backend("chat-v2"));
    all.addAll(List.of(extra));
    return AnnotationParser.parse(all, slices, EDGE, held);
  }

  static ParsedConfig parseChat(Map<String, String> annotations) {
    return parse(List.of(service("chat", annotations, HTTP)), chatSlices(), Set.of());
  }

  /** chat-v1's endpoints when its only slices are {@code slices}. */
  static List<Endpoint> v1Endpoints(EndpointSlice... slices) {
    return backendOf(parse(List.of(service("chat", chat(), HTTP)), List.of(slices), Set.of()), V1).endpoints();
  }

  static Route onlyRoute(ParsedConfig p) {
    assertThat(messages(p.errors())).isEmpty();
    assertThat(p.routes()).hasSize(1);
    return p.routes().get(0);
  }

  static Backend backendOf(ParsedConfig p, String name) {
    return p.backends().stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow();
  }

  static List<String> backendNames(ParsedConfig p) {
    return p.backends().stream().map(Backend::name).toList();
  }

  /** describe() is what logs show; without a location it is the whole message. */
  static List<String> messages(List<ConfigError> errors) {
    errors.forEach(e -> assertThat(e.describe()).isEqualTo(e.message()));
    return errors.stream().map(ConfigError::describe).toList();
  }

  // ---- rejections (moved from KubernetesIT.invalidAnnotationGivesAWarningEventAndKeepsTheLastGoodConfig) ----

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', textBlock = """
      ebb.dev/canary-weight       | 150     | service default/chat: ebb.dev/canary-weight: 150 is out of range 0..100 |
      ebb.dev/canary-weight       | abc     | service default/chat: ebb.dev/canary-weight: abc is not a number (percent 0..100, at most two decimals) |
      ebb.dev/canary-weight       | 1.234   | service default/chat: ebb.dev/canary-weight: 1.234 has more than two decimals |
      ebb.dev/canary              | nope    | service default/chat: ebb.dev/canary: service default/nope does not exist |
      ebb.dev/stable              | chat-v2 | service default/chat: ebb.dev/canary: chat-v2 is also the stable backend |
      ebb.dev/drain-timeout       | 200h    | service default/chat: ebb.dev/drain-timeout: 200h is longer than the maximum 168h |
      ebb.dev/drain-timeout       | soon    | service default/chat: ebb.dev/drain-timeout: "soon" is not a duration (use a number with a unit: 90s, 30m, 2h) |
      ebb.dev/protocol            | ftp     | service default/chat: ebb.dev/protocol: ftp is not one of websocket, grpc, http |
      ebb.dev/port                | 9999    | service default/chat: ebb.dev/port: 9999 is not a port of service default/chat-v1 | service default/chat: ebb.dev/port: 9999 is not a port of service default/chat-v2
      ebb.dev/path-prefix         | api     | service default/chat: ebb.dev/path-prefix: api must start with / and contain no spaces |
      ebb.dev/idle-timeout        | -1s     | service default/chat: ebb.dev/idle-timeout: "-1s" is not a duration (use a number with a unit: 90s, 30m, 2h) |
      ebb.dev/max-stream-duration | forever | service default/chat: ebb.dev/max-stream-duration: "forever" is not a duration (use a number with a unit: 90s, 30m, 2h) |
      ebb.dev/listener            | nowhere | service default/chat: ebb.dev/listener: listener nowhere is not defined |
      ebb.dev/hosts               | Chat.Example.com | service default/chat: ebb.dev/hosts: Chat.Example.com must be lowercase |
      ebb.dev/canary-wieght       | 50      | service default/chat: ebb.dev/canary-wieght: 50 is not a known annotation (known: ebb.dev/canary, ebb.dev/canary-weight, ebb.dev/drain-timeout, ebb.dev/hosts, ebb.dev/idle-timeout, ebb.dev/listener, ebb.dev/max-stream-duration, ebb.dev/outlier-detection, ebb.dev/path-prefix, ebb.dev/port, ebb.dev/protocol, ebb.dev/stable) |
      ebb.dev/hosts               | chat.example.com:443 | service default/chat: ebb.dev/hosts: chat.example.com:443 must not contain a port |
      ebb.dev/hosts               | ' , '   | service default/chat: ebb.dev/hosts: must name at least one host |
      ebb.dev/canary              | ''      | service default/chat: ebb.dev/canary-weight: 20 is set but the route has no canary (ebb.dev/canary) |
      ebb.dev/stable              | ''      | service default/chat: ebb.dev/stable: is required (the name of the stable backend Service) |
      """)
  void anInvalidAnnotationRejectsTheRouteWithItsExactMessage(String annotation, String value, String message,
      String secondMessage) {
    ParsedConfig p = parseChat(chatWith(annotation, value));

    List<String> expected = Stream.concat(Stream.of(message), Stream.ofNullable(secondMessage)).toList();
    assertThat(messages(p.errors())).containsExactlyElementsOf(expected);
    assertThat(p.routes()).isEmpty();
    assertThat(p.invalidRoutes()).containsExactly("default/chat");
    assertThat(p.warnings()).isEmpty();
  }

  @Test
  void aRejectedRouteStillResolvesItsBackendsSoTheLastGoodVersionKeepsCurrentEndpoints() {
    ParsedConfig p = parseChat(chatWith(Annotations.CANARY_WEIGHT, "150"));

    assertThat(backendNames(p)).containsExactly(V1, V2);
    assertThat(backendOf(p, V2).endpoints()).containsExactly(endpoint("10.0.2.1", "zone-a", EndpointState.READY));
  }

  // ---- a listener that scopes routes by host (SPEC 5, 7) ----

  static ParsedConfig parseOn(List<ListenerSpec> listeners, Map<String, String> annotations) {
    List<Service> all = List.of(service("chat", annotations, HTTP), backend("chat-v1"), backend("chat-v2"));
    return AnnotationParser.parse(all, chatSlices(), listeners, Set.of());
  }

  static final List<ListenerSpec> SCOPED = List.of(ListenerSpec.DEFAULT.withRouteScoping(RouteScoping.HOST),
      new ListenerSpec("internal", "0.0.0.0", 10001, List.of()));

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      *.example.com                    | *.example.com
      'chat.example.com, *'            | *
      """)
  void aWildcardHostOnAListenerThatScopesRoutesByHostIsRefused(String hosts, String wildcard) {
    ParsedConfig p = parseOn(SCOPED, chatWith(Annotations.HOSTS, hosts));

    assertThat(messages(p.errors())).containsExactly("service default/chat: ebb.dev/hosts: " + wildcard
        + " is a wildcard host, which listener edge cannot serve: it has routeScoping: host, and scoped routes"
        + " match exact host names only (no wildcard, no fallback scope)");
    assertThat(p.errors().get(0).field()).isEqualTo(Annotations.HOSTS);
    assertThat(p.errors().get(0).value()).isEqualTo(wildcard);
    assertThat(p.routes()).isEmpty();
    assertThat(p.invalidRoutes()).containsExactly("default/chat");
  }

  @Test
  void wildcardHostsStayFineOnAListenerWithoutScopingAndExactHostsOnOneWith() {
    Map<String, String> wildcard = chatWith(Annotations.HOSTS, "*.example.com");
    wildcard.put(Annotations.LISTENER, "internal");
    assertThat(parseOn(SCOPED, wildcard).errors()).isEmpty();
    assertThat(parseOn(EDGE, chatWith(Annotations.HOSTS, "*")).errors()).isEmpty();
    ParsedConfig exact = parseOn(SCOPED, chatWith(Annotations.HOSTS, "chat.example.com, www.chat.example.com"));
    assertThat(exact.errors()).isEmpty();
    assertThat(onlyRoute(exact).hosts()).containsExactly("chat.example.com", "www.chat.example.com");
  }

  // ---- the valid side ----

  @Test
  void theChatRouteAndItsBackends() {
    ParsedConfig p = parseChat(chat());

    assertThat(onlyRoute(p)).isEqualTo(new Route("default/chat", List.of("chat.example.com"), Protocol.WEBSOCKET,
        "/", "edge", new Rollout(V1, Optional.of(V2), 2000), Duration.ofMinutes(10), Duration.ofHours(1),
        Optional.empty()));
    assertThat(backendNames(p)).containsExactly(V1, V2);
    assertThat(backendOf(p, V1).endpoints()).containsExactly(endpoint("10.0.1.1", "zone-a", EndpointState.READY),
        endpoint("10.0.1.2", "zone-b", EndpointState.READY));
    assertThat(p.warnings()).isEmpty();
    assertThat(p.invalidRoutes()).isEmpty();
  }

  @Test
  void onlyHostsAndStableGiveTheDefaults() {
    Route r = onlyRoute(parseChat(Map.of(Annotations.HOSTS, "chat.example.com", Annotations.STABLE, "chat-v1")));

    assertThat(r).isEqualTo(new Route("default/chat", List.of("chat.example.com"), Protocol.WEBSOCKET, "/", "edge",
        Rollout.stableOnly(V1), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty()));
  }

  /** No weight (the first row) is a canary with no traffic. */
  @ParameterizedTest(name = "{0}% -> {1} basis points")
  @CsvSource({", 0", "35.5, 3550", "0, 0", "0.05, 5", "20, 2000", "100, 10000", "' 7 ', 700"})
  void canaryWeightIsHeldInBasisPoints(String weight, int basisPoints) {
    Rollout rollout = onlyRoute(parseChat(chatWith(Annotations.CANARY_WEIGHT, weight))).rollout();

    assertThat(rollout.canary()).contains(V2);
    assertThat(rollout.canaryWeightBasisPoints()).isEqualTo(basisPoints);
    assertThat(rollout.stableWeightBasisPoints()).isEqualTo(10_000 - basisPoints);
  }

  @ParameterizedTest(name = "ebb.dev/port={0} -> {1}")
  @CsvSource({", default/chat-v1/80, 8080", "http, default/chat-v1/80, 8080", "80, default/chat-v1/80, 8080",
      "admin, default/chat-v1/9090, 9091", "9090, default/chat-v1/9090, 9091"})
  void ebbPortPicksTheServicePortByNameOrNumber(String port, String cluster, int endpointPort) {
    Map<String, String> a = chatWith(Annotations.PORT, port);
    a.remove(Annotations.CANARY);
    a.remove(Annotations.CANARY_WEIGHT);
    EndpointSlice twoPorts = new EndpointSlice("default", "chat-v1-a", "chat-v1", "IPv4",
        List.of(new SlicePort("http", 8080), new SlicePort("admin", 9091)), List.of(ready("10.0.1.1", "zone-a")));
    ParsedConfig p = AnnotationParser.parse(List.of(service("chat", a, HTTP),
        backend("chat-v1", HTTP, new ServicePort("admin", 9090))), List.of(twoPorts), EDGE);

    assertThat(onlyRoute(p).rollout().stable()).isEqualTo(cluster);
    assertThat(backendOf(p, cluster).endpoints()).extracting(Endpoint::port).containsExactly(endpointPort);
  }

  // ---- EndpointSlice conditions and address families ----

  @ParameterizedTest(name = "ready={0} serving={1} terminating={2} -> {3}")
  @CsvSource(nullValues = "-", value = {
      "true,  true,  false, READY",
      "-,     -,     -,     READY",
      "-,     true,  -,     READY",
      "false, true,  true,  DRAINING",
      "-,     true,  true,  DRAINING",
      "false, false, true,  left out",
      "-,     -,     true,  left out",
      "false, true,  false, left out",
      "-,     false, -,     left out"})
  void conditionsDecideTheEndpointState(Boolean ready, Boolean serving, Boolean terminating, String expected) {
    List<Endpoint> endpoints = v1Endpoints(slice("chat-v1", "a", ep("10.0.1.1", "zone-a", ready, serving,
        terminating)));

    assertThat(endpoints).extracting(e -> e.state().name()).containsExactlyElementsOf(
        expected.equals("left out") ? List.of() : List.of(expected));
  }

  @Test
  void zonesAreKeptAndTerminatingPodsDrain() {
    assertThat(v1Endpoints(slice("chat-v1", "a", ready("10.0.1.1", "zone-a"), terminating("10.0.1.2", "zone-b"))))
        .containsExactly(endpoint("10.0.1.1", "zone-a", EndpointState.READY),
            endpoint("10.0.1.2", "zone-b", EndpointState.DRAINING));
  }

  @Test
  void ipv4WhenTheServiceHasAnyIpv4EndpointElseIpv6AndFqdnSlicesAreIgnored() {
    EndpointSlice v4 = slice("chat-v1", "v4", ready("10.0.1.1", "zone-a"));
    EndpointSlice v6 = slice("chat-v1", "v6", "IPv6", ready("fd00::1", "zone-a"));
    EndpointSlice fqdn = slice("chat-v1", "names", "FQDN", ready("pod-1.example.com", "zone-a"));

    assertThat(v1Endpoints(v6, v4, fqdn)).extracting(Endpoint::hostPort).containsExactly("10.0.1.1:8080");
    assertThat(v1Endpoints(v6, fqdn)).extracting(Endpoint::hostPort).containsExactly("[fd00::1]:8080");
    assertThat(v1Endpoints(fqdn)).isEmpty();
  }

  @ParameterizedTest(name = "READY slice first: {0}")
  @ValueSource(booleans = {true, false})
  void theSameAddressInTwoSlicesIsSentOnceAndReadyWins(boolean readyFirst) {
    EndpointSlice readySlice = slice("chat-v1", "new", ready("10.0.1.1", "zone-a"));
    EndpointSlice drainingSlice = slice("chat-v1", "old", terminating("10.0.1.1", "zone-a"));

    assertThat(readyFirst ? v1Endpoints(readySlice, drainingSlice) : v1Endpoints(drainingSlice, readySlice))
        .containsExactly(endpoint("10.0.1.1", "zone-a", EndpointState.READY));
  }

  // ---- warnings and conflicts between routes ----

  @ParameterizedTest(name = "max-stream-duration {0}")
  @CsvSource(delimiter = '|', textBlock = """
      2h  | 120 | service default/chat: ebb.dev/max-stream-duration: 2h is longer than drain-timeout 10m: streams can outlive the drain
      90m |  90 | service default/chat: ebb.dev/max-stream-duration: 1h30m is longer than drain-timeout 10m: streams can outlive the drain
      10m |  10 |
      5m  |   5 |
      0   |     |
      """)
  void aMaxStreamDurationLongerThanTheDrainIsAWarningNotAnError(String maxStream, Long minutes, String warning) {
    ParsedConfig p = parseChat(chatWith(Annotations.MAX_STREAM_DURATION, maxStream));

    assertThat(onlyRoute(p).maxStreamDuration()).isEqualTo(Optional.ofNullable(minutes).map(Duration::ofMinutes));
    assertThat(messages(p.warnings())).containsExactlyElementsOf(Stream.ofNullable(warning).toList());
  }

  @Test
  void aSecondRouteForTheSameHostAndPathIsRejected() {
    Map<String, String> feed = chatWith(Annotations.CANARY_WEIGHT, "5");
    ParsedConfig p = parse(List.of(service("feed", feed, HTTP), service("chat", chat(), HTTP)), chatSlices(),
        Set.of());

    assertThat(messages(p.errors())).containsExactly("service default/feed: ebb.dev/hosts: chat.example.com with "
        + "path prefix / is already served by route default/chat on listener edge");
    assertThat(p.routes()).extracting(Route::name).containsExactly("default/chat");
    assertThat(p.invalidRoutes()).containsExactly("default/feed");
  }

  @Test
  void anotherPathPrefixIsNoConflict() {
    Map<String, String> api = chatWith(Annotations.PATH_PREFIX, "/api");
    ParsedConfig p = parse(List.of(service("api", api, HTTP), service("chat", chat(), HTTP)), chatSlices(),
        Set.of());

    assertThat(messages(p.errors())).isEmpty();
    assertThat(p.routes()).extracting(Route::name).containsExactly("default/api", "default/chat");
  }

  // ---- held clusters (draining backends no route names any more) ----

  @Test
  void aHeldClusterKeepsItsLiveEndpoints() {
    List<EndpointSlice> slices = new ArrayList<>(chatSlices());
    slices.add(slice("chat-v0", "chat-v0-a", ready("10.0.0.1", "zone-a"), terminating("10.0.0.2", "zone-b")));
    ParsedConfig p = parse(List.of(service("chat", chat(), HTTP)), slices, Set.of("default/chat-v0/80"),
        backend("chat-v0"));

    assertThat(onlyRoute(p).backendNames()).containsExactly(V1, V2);
    assertThat(backendNames(p)).containsExactly("default/chat-v0/80", V1, V2);
    assertThat(backendOf(p, "default/chat-v0/80").endpoints()).containsExactly(
        endpoint("10.0.0.1", "zone-a", EndpointState.READY), endpoint("10.0.0.2", "zone-b", EndpointState.DRAINING));
  }

  @ParameterizedTest(name = "held {0}")
  @ValueSource(strings = {"default/gone/80", "default/chat-v0/9999", "default/chat-v0/8080", "other/chat-v0/80",
      "nonsense"})
  void aHeldClusterWhoseServiceOrPortIsGoneIsSimplyAbsent(String held) {
    ParsedConfig p = parse(List.of(service("chat", chat(), HTTP)), chatSlices(), Set.of(held), backend("chat-v0"));

    assertThat(messages(p.errors())).isEmpty();
    assertThat(backendNames(p)).containsExactly(V1, V2);
  }

  @Test
  void aHeldClusterThatARouteAlsoNamesAppearsOnce() {
    ParsedConfig p = parse(List.of(service("chat", chat(), HTTP)), chatSlices(), Set.of(V1, V2));

    assertThat(p).isEqualTo(parseChat(chat()));
    assertThat(backendNames(p)).containsExactly(V1, V2);
  }
}
