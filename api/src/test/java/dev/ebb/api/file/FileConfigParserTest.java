package dev.ebb.api.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.ListenerTls;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.api.model.RouteScoping;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class FileConfigParserTest {
  private static final String FILE = "ebb.yaml";

  /** A copy of examples/ebb.yaml, the file users start from. */
  static final String EXAMPLE = """
      # Ebb's bundled example: one WebSocket route, two versions of the chat service.
      # Shift traffic by editing canaryWeight; roll back by setting it to 0.
      listeners:
        - name: edge
          port: 10000
      routes:
        - name: chat
          hosts: ["chat.example.com"]
          protocol: websocket
          stable: chat-v1
          canary: chat-v2
          canaryWeight: 20
          drainTimeout: 15m
          idleTimeout: 1h
      backends:
        - name: chat-v1
          endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"]
        - name: chat-v2
          endpoints: ["127.0.0.1:9101"]
      """;

  private static final Route EXAMPLE_CHAT = new Route("chat", List.of("chat.example.com"), Protocol.WEBSOCKET, "/",
      "edge", new Rollout("chat-v1", Optional.of("chat-v2"), 2000), Duration.ofMinutes(15), Duration.ofHours(1),
      Optional.empty());

  private static final List<Backend> EXAMPLE_BACKENDS = List.of(
      new Backend("chat-v1", List.of(Endpoint.ready("127.0.0.1", 9001), Endpoint.ready("127.0.0.1", 9002))),
      new Backend("chat-v2", List.of(Endpoint.ready("127.0.0.1", 9101))));

  /**
   * Every case of this class runs through both parsers: the whole-file one and the incremental one (first read
   * and a re-read of the same text), which must give exactly the same result, messages and locations included.
   */
  static ParsedConfig parse(String text) {
    ParsedConfig whole = FileConfigParser.parse(text, FILE);
    FileConfigParser.Incremental incremental = new FileConfigParser.Incremental();
    org.assertj.core.api.Assertions.assertThat(incremental.parse(text, FILE)).as("incremental, first read")
        .isEqualTo(whole);
    org.assertj.core.api.Assertions.assertThat(incremental.parse(text, FILE)).as("incremental, re-read")
        .isEqualTo(whole);
    return whole;
  }

  private static List<String> messages(List<ConfigError> errors) {
    return errors.stream().map(ConfigError::message).toList();
  }

  private static List<String> routeNames(ParsedConfig p) {
    return p.routes().stream().map(Route::name).toList();
  }

  private static List<String> backendNames(ParsedConfig p) {
    return p.backends().stream().map(Backend::name).toList();
  }

  private static List<String> listenerNames(ParsedConfig p) {
    return p.listeners().stream().map(ListenerSpec::name).toList();
  }

  /** Replaces text that must be there, so a test cannot pass by editing nothing. */
  static String edit(String text, String from, String to) {
    assertThat(text).contains(from);
    return text.replace(from, to);
  }

  @Nested
  class TheExample {
    @Test
    void parsesWithoutErrors() {
      ParsedConfig p = parse(EXAMPLE);

      assertThat(p.readable()).isTrue();
      assertThat(p.errors()).isEmpty();
      assertThat(p.warnings()).isEmpty();
      assertThat(p.listeners()).containsExactly(new ListenerSpec("edge", "0.0.0.0", 10000, List.of()));
      assertThat(p.routes()).containsExactly(EXAMPLE_CHAT);
      assertThat(p.backends()).containsExactlyElementsOf(EXAMPLE_BACKENDS);
      assertThat(p.invalidListeners()).isEmpty();
      assertThat(p.invalidRoutes()).isEmpty();
      assertThat(p.invalidBackends()).isEmpty();
    }

    @Test
    void canaryWeightIsHeldInBasisPoints() {
      Rollout rollout = parse(EXAMPLE).routes().get(0).rollout();
      assertThat(rollout.canaryWeightBasisPoints()).isEqualTo(2000);
      assertThat(rollout.stableWeightBasisPoints()).isEqualTo(8000);
    }

    @Test
    void theShippedFileStillParses() throws IOException {
      Path shipped = Path.of("..", "examples", "ebb.yaml");
      assumeTrue(Files.isRegularFile(shipped), "examples/ebb.yaml is not beside the api module");
      ParsedConfig p = FileConfigParser.parse(Files.readString(shipped, StandardCharsets.UTF_8), FILE);
      assertThat(p.readable()).isTrue();
      assertThat(p.errors()).isEmpty();
      assertThat(p.warnings()).isEmpty();
      assertThat(p.routes()).containsExactly(EXAMPLE_CHAT);
    }

    @Test
    void withoutListenersThereIsTheDefaultListener() {
      ParsedConfig p = parse(edit(EXAMPLE, "listeners:\n  - name: edge\n    port: 10000\n", ""));

      assertThat(p.errors()).isEmpty();
      assertThat(p.listeners()).containsExactly(ListenerSpec.DEFAULT);
      assertThat(ListenerSpec.DEFAULT).isEqualTo(new ListenerSpec("edge", "0.0.0.0", 10000, List.of()));
      assertThat(p.routes()).containsExactly(EXAMPLE_CHAT);
    }

    @Test
    void anEmptyListenersKeyAlsoMeansTheDefaultListener() {
      ParsedConfig p = parse(edit(EXAMPLE, "listeners:\n  - name: edge\n    port: 10000\n", "listeners:\n"));

      assertThat(p.errors()).isEmpty();
      assertThat(p.listeners()).containsExactly(ListenerSpec.DEFAULT);
    }

    @Test
    void rollbackIsOneChange() {
      ParsedConfig p = parse(edit(EXAMPLE, "canaryWeight: 20", "canaryWeight: 0"));

      assertThat(p.errors()).isEmpty();
      assertThat(p.routes().get(0).rollout()).isEqualTo(new Rollout("chat-v1", Optional.of("chat-v2"), 0));
    }

    @Test
    void promotionIsOneChange() {
      ParsedConfig p = parse(edit(EXAMPLE, "stable: chat-v1\n    canary: chat-v2\n    canaryWeight: 20\n",
          "stable: chat-v2\n"));

      assertThat(p.errors()).isEmpty();
      assertThat(p.routes().get(0).rollout()).isEqualTo(Rollout.stableOnly("chat-v2"));
      assertThat(p.routes().get(0).backendNames()).containsExactly("chat-v2");
    }
  }

  @Nested
  class ValidRoutes {
    private static final String BACKENDS = """
        backends:
          - name: chat-v1
            endpoints: ["127.0.0.1:9001"]
          - name: chat-v2
            endpoints: ["127.0.0.1:9101"]
        """;

    private Route only(String routes) {
      ParsedConfig p = parse(routes + BACKENDS);
      assertThat(p.errors()).isEmpty();
      assertThat(p.routes()).hasSize(1);
      return p.routes().get(0);
    }

    @Test
    void defaults() {
      Route r = only("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
          """);

      assertThat(r).isEqualTo(new Route("chat", List.of("chat.example.com"), Protocol.WEBSOCKET, "/", "edge",
          Rollout.stableOnly("chat-v1"), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty()));
      assertThat(r.drainTimeout()).isEqualTo(Route.DEFAULT_DRAIN_TIMEOUT);
      assertThat(r.idleTimeout()).isEqualTo(Route.DEFAULT_IDLE_TIMEOUT);
    }

    @Test
    void everyFieldSet() {
      Route r = only("""
          listeners:
            - name: internal
              address: 127.0.0.1
              port: 10001
          routes:
            - name: api
              hosts: ["api.example.com", "*.api.example.com", "*"]
              protocol: grpc
              pathPrefix: /chat.v1.Chat/
              listener: internal
              stable: chat-v1
              canary: chat-v2
              canaryWeight: 12.5
              drainTimeout: 1h30m
              idleTimeout: 0
              maxStreamDuration: 10m
          """);

      assertThat(r).isEqualTo(new Route("api", List.of("api.example.com", "*.api.example.com", "*"), Protocol.GRPC,
          "/chat.v1.Chat/", "internal", new Rollout("chat-v1", Optional.of("chat-v2"), 1250),
          Duration.ofMinutes(90), Duration.ZERO, Optional.of(Duration.ofMinutes(10))));
    }

    @ParameterizedTest(name = "canaryWeight {0} is {1} basis points")
    @CsvSource(delimiter = '|', textBlock = """
        0      | 0
        100    | 10000
        12.5   | 1250
        0.05   | 5
        33.33  | 3333
        20.50  | 2050
        '"20"' | 2000
        """)
    void canaryWeights(String yaml, int basisPoints) {
      Route r = only("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
              canary: chat-v2
              canaryWeight: %s
          """.formatted(yaml));

      assertThat(r.rollout().canaryWeightBasisPoints()).isEqualTo(basisPoints);
      assertThat(r.rollout().stableWeightBasisPoints()).isEqualTo(10_000 - basisPoints);
    }

    @Test
    void aCanaryWithoutWeightGetsNoNewStreams() {
      Route r = only("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
              canary: chat-v2
          """);

      assertThat(r.rollout()).isEqualTo(new Rollout("chat-v1", Optional.of("chat-v2"), 0));
      assertThat(r.backendNames()).containsExactly("chat-v1", "chat-v2");
    }

    @ParameterizedTest(name = "protocol {0}")
    @CsvSource({"websocket, WEBSOCKET", "grpc, GRPC", "http, HTTP"})
    void protocols(String yaml, Protocol protocol) {
      Route r = only("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              protocol: %s
              stable: chat-v1
          """.formatted(yaml));

      assertThat(r.protocol()).isEqualTo(protocol);
      assertThat(r.protocol().wireName()).isEqualTo(yaml);
    }

    @ParameterizedTest(name = "drainTimeout {0}")
    @CsvSource({"0, 0", "90s, 90", "168h, 604800", "1h30m, 5400"})
    void drainTimeouts(String yaml, long seconds) {
      Route r = only("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
              drainTimeout: %s
          """.formatted(yaml));

      assertThat(r.drainTimeout()).isEqualTo(Duration.ofSeconds(seconds));
    }

    @Test
    void samePathPrefixOnOtherHostsOrListenersAndOtherPrefixesOnTheSameHostAreFine() {
      ParsedConfig p = parse("""
          listeners:
            - name: edge
              port: 10000
            - name: internal
              port: 10001
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
            - name: chat-api
              hosts: ["chat.example.com"]
              pathPrefix: /api
              stable: chat-v1
            - name: chat-internal
              hosts: ["chat.example.com"]
              listener: internal
              stable: chat-v1
            - name: feed
              hosts: ["feed.example.com"]
              stable: chat-v2
          """ + BACKENDS);

      assertThat(p.errors()).isEmpty();
      assertThat(routeNames(p)).containsExactly("chat", "chat-api", "chat-internal", "feed");
    }

    @Test
    void emptyRoutesServeNothing() {
      ParsedConfig p = parse("routes: []\n");

      assertThat(p.readable()).isTrue();
      assertThat(p.errors()).isEmpty();
      assertThat(p.routes()).isEmpty();
      assertThat(p.backends()).isEmpty();
      assertThat(p.listeners()).containsExactly(ListenerSpec.DEFAULT);
    }
  }

  /**
   * One bad field in route chat: exactly one error with the exact text, chat not published and named in
   * invalidRoutes, route feed and both backends still parsed.
   */
  @Nested
  class InvalidRoutes {
    private static final String ABSENT = "<absent>";

    private static final String OTHERS = """
          - name: feed
            hosts: ["feed.example.com"]
            protocol: grpc
            stable: chat-v1
        backends:
          - name: chat-v1
            endpoints: ["127.0.0.1:9001"]
          - name: chat-v2
            endpoints: ["127.0.0.1:9101"]
        """;

    /** Route chat (first in the file, from line 2) with one field replaced, added or removed. */
    static String withChat(String field, String value) {
      Map<String, String> chat = new LinkedHashMap<>();
      chat.put("name", "chat");
      chat.put("hosts", "[\"chat.example.com\"]");
      chat.put("protocol", "websocket");
      chat.put("stable", "chat-v1");
      chat.put("canary", "chat-v2");
      chat.put("canaryWeight", "20");
      if (value.equals(ABSENT)) {
        assertThat(chat.remove(field)).isNotNull();
      } else {
        chat.put(field, value);
      }
      StringBuilder sb = new StringBuilder("routes:\n");
      String prefix = "  - ";
      for (Map.Entry<String, String> e : chat.entrySet()) {
        sb.append(prefix).append(e.getKey()).append(": ").append(e.getValue()).append('\n');
        prefix = "    ";
      }
      return sb + OTHERS;
    }

    /** Where the error should point: the field's value in route chat, or its key for an unknown field. */
    static Optional<String> expectedLocation(String text, ConfigError e) {
      String[] lines = text.split("\n", -1);
      for (int i = 1; i < lines.length && (i == 1 || lines[i].startsWith("    ")); i++) {
        String body = lines[i].substring(4);
        if (body.startsWith(e.field() + ":")) {
          int column = e.message().contains("is not a known field") ? 5 : 4 + e.field().length() + 2 + 1;
          return Optional.of(FILE + ":" + (i + 1) + ":" + column);
        }
      }
      return Optional.empty();
    }

    @Test
    void theBaseFileIsValid() {
      ParsedConfig p = parse(withChat("canaryWeight", "20"));
      assertThat(p.errors()).isEmpty();
      assertThat(routeNames(p)).containsExactly("chat", "feed");
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        canaryWeight      | 150                   | route chat: canaryWeight: 150 is out of range 0..100
        canaryWeight      | -1                    | route chat: canaryWeight: -1 is out of range 0..100
        canaryWeight      | 100.5                 | route chat: canaryWeight: 100.5 is out of range 0..100
        canaryWeight      | abc                   | route chat: canaryWeight: abc is not a number (percent 0..100, at most two decimals)
        canaryWeight      | 20.555                | route chat: canaryWeight: 20.555 has more than two decimals
        canaryWeight      | [20]                  | route chat: canaryWeight: must be a single value, not a list or mapping
        canary            | <absent>              | route chat: canaryWeight: is set but the route has no canary
        stable            | chat-v9               | route chat: stable: backend chat-v9 is not defined
        canary            | chat-v9               | route chat: canary: backend chat-v9 is not defined
        canary            | chat-v1               | route chat: canary: chat-v1 is also the stable backend
        protocol          | tcp                   | route chat: protocol: tcp is not one of websocket, grpc, http
        protocol          | WebSocket             | route chat: protocol: WebSocket is not one of websocket, grpc, http
        drainTimeout      | 200h                  | route chat: drainTimeout: 200h is longer than the maximum 168h
        drainTimeout      | 168h1s                | route chat: drainTimeout: 168h1s is longer than the maximum 168h
        drainTimeout      | 10 minutes            | route chat: drainTimeout: "10 minutes" is not a duration (use a number with a unit: 90s, 30m, 2h)
        idleTimeout       | 1 hour                | route chat: idleTimeout: "1 hour" is not a duration (use a number with a unit: 90s, 30m, 2h)
        maxStreamDuration | forever               | route chat: maxStreamDuration: "forever" is not a duration (use a number with a unit: 90s, 30m, 2h)
        hosts             | ["Chat.Example.com"]  | route chat: hosts: Chat.Example.com must be lowercase
        hosts             | ["chat.example.com:443"] | route chat: hosts: chat.example.com:443 must not contain a port
        hosts             | ["chat..example.com"] | route chat: hosts: chat..example.com is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
        hosts             | ["chat.example.com", "chat.example.com"] | route chat: hosts: chat.example.com is listed twice
        hosts             | []                    | route chat: hosts: must name at least one host
        hosts             | chat.example.com      | route chat: hosts: must be a list
        hosts             | <absent>              | route chat: hosts: is required (a list of host names)
        canaryWieght      | 20                    | route chat: canaryWieght: is not a known field (known: canary, canaryWeight, drainTimeout, hosts, idleTimeout, listener, maxStreamDuration, name, outlierDetection, pathPrefix, protocol, stable)
        pathPrefix        | chat                  | route chat: pathPrefix: chat must start with / and contain no spaces
        pathPrefix        | /chat room            | route chat: pathPrefix: /chat room must start with / and contain no spaces
        listener          | internal              | route chat: listener: listener internal is not defined
        stable            | <absent>              | route chat: stable: is required
        stable            | [chat-v1]             | route chat: stable: must be a single value, not a list or mapping
        """)
    void oneBadFieldRejectsOnlyThatRoute(String field, String value, String message) {
      String text = withChat(field, value);
      ParsedConfig p = parse(text);

      assertThat(p.readable()).isTrue();
      assertThat(messages(p.errors())).containsExactly(message);
      ConfigError error = p.errors().get(0);
      assertThat(error.object()).isEqualTo("route chat");
      assertThat(error.location()).isEqualTo(expectedLocation(text, error));
      assertThat(p.warnings()).isEmpty();
      assertThat(p.invalidRoutes()).containsExactly("chat");
      assertThat(p.routes()).containsExactly(new Route("feed", List.of("feed.example.com"), Protocol.GRPC, "/",
          "edge", Rollout.stableOnly("chat-v1"), Route.DEFAULT_DRAIN_TIMEOUT, Route.DEFAULT_IDLE_TIMEOUT,
          Optional.empty()));
      assertThat(backendNames(p)).containsExactly("chat-v1", "chat-v2");
      assertThat(p.invalidBackends()).isEmpty();
    }

    @Test
    void anErrorNamesTheObjectFieldAndValueAndSaysWhere() {
      String text = withChat("canaryWeight", "150");
      assertThat(text.split("\n")[6]).isEqualTo("    canaryWeight: 150");

      ConfigError e = parse(text).errors().get(0);

      assertThat(e.object()).isEqualTo("route chat");
      assertThat(e.field()).isEqualTo("canaryWeight");
      assertThat(e.value()).isEqualTo("150");
      assertThat(e.location()).contains("ebb.yaml:7:19");
      assertThat(e.describe()).isEqualTo("route chat: canaryWeight: 150 is out of range 0..100 (ebb.yaml:7:19)");
    }

    @Test
    void aMisspeltFieldPointsAtTheKey() {
      String text = withChat("canaryWieght", "20");
      assertThat(text.split("\n")[7]).isEqualTo("    canaryWieght: 20");

      assertThat(parse(text).errors().get(0).location()).contains("ebb.yaml:8:5");
    }

    @Test
    void everyProblemOfOneRouteIsReported() {
      ParsedConfig p = parse(withChat("canaryWeight", "150").replace("protocol: websocket", "protocol: tcp"));

      assertThat(messages(p.errors())).containsExactlyInAnyOrder(
          "route chat: protocol: tcp is not one of websocket, grpc, http",
          "route chat: canaryWeight: 150 is out of range 0..100");
      assertThat(p.invalidRoutes()).containsExactly("chat");
      assertThat(routeNames(p)).containsExactly("feed");
    }

    @Test
    void aDuplicateRouteNameRejectsTheSecondAndKeepsTheFirst() {
      ParsedConfig p = parse("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
            - name: chat
              hosts: ["chat2.example.com"]
              stable: chat-v2
          backends:
            - name: chat-v1
            - name: chat-v2
          """);

      assertThat(messages(p.errors())).containsExactly("route chat: name: chat is defined twice");
      assertThat(p.errors().get(0).location()).contains("ebb.yaml:5:11");
      assertThat(p.routes()).singleElement().satisfies(r -> {
        assertThat(r.name()).isEqualTo("chat");
        assertThat(r.hosts()).containsExactly("chat.example.com");
      });
    }

    @Test
    void theSameHostAndPathPrefixOnOneListenerIsRejectedNamingTheFirstRoute() {
      ParsedConfig p = parse("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
            - name: chat-copy
              hosts: ["other.example.com", "chat.example.com"]
              pathPrefix: /
              stable: chat-v2
          backends:
            - name: chat-v1
            - name: chat-v2
          """);

      assertThat(messages(p.errors())).containsExactly(
          "route chat-copy: hosts: chat.example.com with pathPrefix / is already served by route chat on listener edge");
      assertThat(p.errors().get(0).location()).contains("ebb.yaml:6:12");
      assertThat(routeNames(p)).containsExactly("chat");
      assertThat(p.invalidRoutes()).containsExactly("chat-copy");
    }

    @Test
    void anInvalidRouteDoesNotClaimItsHosts() {
      ParsedConfig p = parse("""
          routes:
            - name: chat-old
              hosts: ["chat.example.com"]
              stable: chat-v1
              canaryWeight: 10
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
          backends:
            - name: chat-v1
          """);

      assertThat(messages(p.errors())).containsExactly(
          "route chat-old: canaryWeight: is set but the route has no canary");
      assertThat(routeNames(p)).containsExactly("chat");
    }

    @Test
    void anInvalidRouteName() {
      ParsedConfig p = parse(withChat("name", "chat room"));

      assertThat(messages(p.errors())).containsExactly(
          "route chat room: name: chat room is not a valid name (letters, digits, '.', '_' and '-')");
      assertThat(p.invalidRoutes()).containsExactly("chat room");
      assertThat(routeNames(p)).containsExactly("feed");
    }

    @Test
    void aRouteWithoutNameIsNamedByItsPosition() {
      ParsedConfig p = parse(withChat("name", ABSENT));

      assertThat(messages(p.errors())).containsExactly("route #1: name: is required");
      assertThat(p.invalidRoutes()).isEmpty();
      assertThat(routeNames(p)).containsExactly("feed");
    }

    @Test
    void aRouteThatIsNotAMapping() {
      ParsedConfig p = parse("routes:\n  - chat\n" + OTHERS);

      assertThat(p.errors()).singleElement().satisfies(e -> {
        assertThat(e.message()).isEqualTo("route #1: must be a mapping with name, hosts and stable");
        assertThat(e.location()).contains("ebb.yaml:2:5");
      });
      assertThat(routeNames(p)).containsExactly("feed");
    }

    @Test
    void aFieldGivenTwice() {
      ParsedConfig p = parse(withChat("canaryWeight", "20\n    canaryWeight: 30"));

      assertThat(messages(p.errors())).containsExactly("route chat: canaryWeight: is given twice");
      assertThat(p.errors().get(0).location()).contains("ebb.yaml:8:5");
      assertThat(p.invalidRoutes()).containsExactly("chat");
    }

    @Test
    void aRouteMayUseADeclaredButInvalidListenerOrBackend() {
      // their last good versions may still serve it; LastGood decides
      ParsedConfig p = parse("""
          listeners:
            - name: internal
              address: localhost
              port: 10001
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              listener: internal
              stable: chat-v1
              canary: chat-v2
              canaryWeight: 5
          backends:
            - name: chat-v1
              endpoints: ["127.0.0.1:9001"]
            - name: chat-v2
              endpoints: ["localhost:9101"]
          """);

      assertThat(messages(p.errors())).containsExactly(
          "listener internal: address: localhost is not an IP address",
          "backend chat-v2: endpoints: localhost:9101 does not start with an IP address (Envoy does not resolve names in EDS)");
      assertThat(routeNames(p)).containsExactly("chat");
      assertThat(p.invalidListeners()).containsExactly("internal");
      assertThat(p.invalidBackends()).containsExactly("chat-v2");
      assertThat(p.listeners()).isEmpty();
    }
  }

  @Nested
  class Backends {
    @Test
    void endpointsAreSortedByZoneAddressAndPort() {
      ParsedConfig p = parse("""
          backends:
            - name: chat-v1
              endpoints: ["127.0.0.1:9002", "10.0.0.1:80", "127.0.0.1:9001"]
          """);

      assertThat(p.errors()).isEmpty();
      assertThat(p.backends()).containsExactly(new Backend("chat-v1", List.of(
          Endpoint.ready("10.0.0.1", 80), Endpoint.ready("127.0.0.1", 9001), Endpoint.ready("127.0.0.1", 9002))));
    }

    @Test
    void endpointObjectsAndIpv6() {
      ParsedConfig p = parse("""
          backends:
            - name: chat-v1
              endpoints:
                - {address: 10.0.0.2, port: 9001, zone: eu-west-1b, state: draining}
                - {address: "::1", port: 9001, zone: eu-west-1a, state: ready}
                - address: 10.0.0.3
                  port: 9001
                  zone: eu-west-1b
                - "[::1]:9002"
                - "[2001:db8::5]:443"
          """);

      assertThat(p.errors()).isEmpty();
      List<Endpoint> endpoints = p.backends().get(0).endpoints();
      assertThat(endpoints).containsExactly(
          new Endpoint("2001:db8::5", 443, "", EndpointState.READY),
          new Endpoint("::1", 9002, "", EndpointState.READY),
          new Endpoint("::1", 9001, "eu-west-1a", EndpointState.READY),
          new Endpoint("10.0.0.2", 9001, "eu-west-1b", EndpointState.DRAINING),
          new Endpoint("10.0.0.3", 9001, "eu-west-1b", EndpointState.READY));
      assertThat(endpoints.stream().map(Endpoint::hostPort)).containsExactly(
          "[2001:db8::5]:443", "[::1]:9002", "[::1]:9001", "10.0.0.2:9001", "10.0.0.3:9001");
    }

    @Test
    void aBackendWithoutEndpointsIsValid() {
      ParsedConfig p = parse("""
          backends:
            - name: chat-v1
            - name: chat-v2
              endpoints: []
          """);

      assertThat(p.errors()).isEmpty();
      assertThat(p.backends()).containsExactly(new Backend("chat-v1", List.of()), new Backend("chat-v2", List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        ["abc:xyz"]          | backend chat-v2: endpoints: abc:xyz does not start with an IP address (Envoy does not resolve names in EDS)
        ["localhost:80"]     | backend chat-v2: endpoints: localhost:80 does not start with an IP address (Envoy does not resolve names in EDS)
        ["chat-v2.svc:80"]   | backend chat-v2: endpoints: chat-v2.svc:80 does not start with an IP address (Envoy does not resolve names in EDS)
        ["127.0.0.1:70000"]  | backend chat-v2: endpoints: 70000 is not a port (1..65535)
        ["127.0.0.1:0"]      | backend chat-v2: endpoints: 0 is not a port (1..65535)
        ["127.0.0.1:http"]   | backend chat-v2: endpoints: http is not a port (1..65535)
        ["127.0.0.1"]        | backend chat-v2: endpoints: 127.0.0.1 is not ADDRESS:PORT
        ["::1:9101"]         | backend chat-v2: endpoints: ::1:9101 is not ADDRESS:PORT (write IPv6 addresses as [::1]:9001)
        ["127.0.0.1:9101", "127.0.0.1:9101"] | backend chat-v2: endpoints: 127.0.0.1:9101 is listed twice
        ["127.0.0.1:9101", {address: 127.0.0.1, port: 9101, state: draining}] | backend chat-v2: endpoints: 127.0.0.1:9101 is listed twice
        ["[::1]:9101", {address: "::1", port: 9101, zone: a}] | backend chat-v2: endpoints: [::1]:9101 is listed twice
        [{address: 127.0.0.1, port: 9101, state: paused}] | backend chat-v2: endpoints.state: paused is not one of ready, draining
        [{address: 127.0.0.1}] | backend chat-v2: endpoints.port: is required
        [{address: 127.0.0.1, port: 70000}] | backend chat-v2: endpoints.port: 70000 is not a port (1..65535)
        [{address: localhost, port: 80}] | backend chat-v2: endpoints.address: localhost is not an IP address
        [{address: 127.0.0.1, port: 80, weight: 3}] | backend chat-v2: endpoints.weight: is not a known field (known: address, port, state, zone)
        [[127.0.0.1, 80]]    | backend chat-v2: endpoints: each endpoint must be "ADDRESS:PORT" or a mapping with address and port
        127.0.0.1:9101       | backend chat-v2: endpoints: must be a list
        """)
    void oneBadEndpointRejectsOnlyThatBackend(String endpoints, String message) {
      ParsedConfig p = parse("""
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
              canary: chat-v2
              canaryWeight: 20
          backends:
            - name: chat-v1
              endpoints: ["127.0.0.1:9001"]
            - name: chat-v2
              endpoints: %s
          """.formatted(endpoints));

      assertThat(p.readable()).isTrue();
      assertThat(messages(p.errors())).containsExactly(message);
      assertThat(p.errors().get(0).object()).isEqualTo("backend chat-v2");
      assertThat(p.errors().get(0).location().orElseThrow()).startsWith("ebb.yaml:11:");
      assertThat(p.backends()).containsExactly(new Backend("chat-v1", List.of(Endpoint.ready("127.0.0.1", 9001))));
      assertThat(p.invalidBackends()).containsExactly("chat-v2");
      // the route names a declared backend: whether it can be served is LastGood's decision
      assertThat(routeNames(p)).containsExactly("chat");
    }

    @Test
    void aDuplicateBackendNameRejectsTheSecondAndKeepsTheFirst() {
      ParsedConfig p = parse("""
          backends:
            - name: chat-v1
              endpoints: ["127.0.0.1:9001"]
            - name: chat-v1
              endpoints: ["127.0.0.1:9002"]
          """);

      assertThat(messages(p.errors())).containsExactly("backend chat-v1: name: chat-v1 is defined twice");
      assertThat(p.errors().get(0).location()).contains("ebb.yaml:4:11");
      assertThat(p.backends()).containsExactly(new Backend("chat-v1", List.of(Endpoint.ready("127.0.0.1", 9001))));
      assertThat(p.invalidBackends()).isEmpty();
    }

    @Test
    void aBackendThatIsNotAMapping() {
      ParsedConfig p = parse("backends:\n  - chat-v1\n  - name: chat-v2\n");

      assertThat(messages(p.errors())).containsExactly("backend #1: must be a mapping with name and endpoints");
      assertThat(p.errors().get(0).location()).contains("ebb.yaml:2:5");
      assertThat(backendNames(p)).containsExactly("chat-v2");
    }
  }

  @Nested
  class Listeners {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        {name: admin, port: 10000}                     | listener admin: port: 10000 is already used by listener edge                   | admin
        {name: admin, address: 0.0.0.0, port: 10000}   | listener admin: port: 10000 is already used by listener edge                   | admin
        {name: admin, address: localhost, port: 9000}  | listener admin: address: localhost is not an IP address                          | admin
        {name: admin, address: 10.0.0.300, port: 9000} | listener admin: address: 10.0.0.300 is not an IP address                         | admin
        {name: admin, port: 0}                         | listener admin: port: 0 is not a port (1..65535)                                 | admin
        {name: admin, port: 65536}                     | listener admin: port: 65536 is not a port (1..65535)                             | admin
        {name: admin}                                  | listener admin: port: is required                                                | admin
        {name: admin, port: 9000, tls: true}           | listener admin: tls: must be a mapping with certFile and keyFile, or with secret | admin
        {name: admin, port: 9000, tls: {certFile: c.pem}} | listener admin: tls.keyFile: is required (PEM file), or give secret instead | admin
        {name: admin, port: 9000, tls: {keyFile: k.pem}} | listener admin: tls.certFile: is required (PEM file), or give secret instead | admin
        {name: admin, port: 9000, tls: {secret: tls}}  | listener admin: tls.secret: tls is not NAMESPACE/NAME of a Kubernetes Secret | admin
        {name: admin, port: 9000, tls: {secret: a/B}}  | listener admin: tls.secret: a/B is not NAMESPACE/NAME of a Kubernetes Secret | admin
        {name: admin, port: 9000, tls: {secret: a/b, certFile: c.pem}} | listener admin: tls.secret: either secret or certFile and keyFile, not both | admin
        {name: admin, port: 9000, tls: {cert: c.pem, certFile: c.pem, keyFile: k.pem}} | listener admin: tls.cert: is not a known field (known: certFile, keyFile, secret) | admin
        {name: admin, port: 9000, trustedHops: -1}     | listener admin: trustedHops: -1 is not a number of proxies from 0 to 10 | admin
        {name: admin, port: 9000, trustedHops: two}    | listener admin: trustedHops: two is not a number of proxies from 0 to 10 | admin
        {name: admin, port: 9000, accessLog: off}      | listener admin: accessLog: off is not true or false | admin
        {name: admin, port: 9000, routeScoping: Host}  | listener admin: routeScoping: Host is not one of none, host | admin
        {name: admin, port: 9000, routeScoping: path}  | listener admin: routeScoping: path is not one of none, host | admin
        {name: admin, port: 9000, routeScoping: [host]} | listener admin: routeScoping: must be a single value, not a list or mapping | admin
        {name: admin, port: 9000, routeScoping: host, nodeClusters: [edge], tls: true} | listener admin: tls: must be a mapping with certFile and keyFile, or with secret | admin
        {name: admin, port: 9000, scoping: host}       | listener admin: scoping: is not a known field (known: accessLog, address, name, nodeClusters, port, routeScoping, tls, trustedHops) | admin
        {name: "admin!", port: 9000}                   | listener admin!: name: admin! is not a valid name (letters, digits, '.', '_' and '-') | admin!
        {name: edge, port: 9000}                       | listener edge: name: edge is defined twice                                      | ``
        {port: 9000}                                   | listener #2: name: is required                                                   | ``
        admin                                          | listener #2: must be a mapping with name and port                                | ``
        """)
    void oneBadListenerRejectsOnlyItself(String listener, String message, String invalid) {
      ParsedConfig p = parse("""
          listeners:
            - name: edge
              port: 10000
            - %s
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
          backends:
            - name: chat-v1
          """.formatted(listener));

      assertThat(p.readable()).isTrue();
      assertThat(messages(p.errors())).containsExactly(message);
      if (message.endsWith("is required")) {
        assertThat(p.errors().get(0).location()).isEmpty();
      } else {
        assertThat(p.errors().get(0).location().orElseThrow()).startsWith("ebb.yaml:4:");
      }
      assertThat(p.listeners()).containsExactly(ListenerSpec.DEFAULT);
      assertThat(p.invalidListeners()).isEqualTo(invalid.isEmpty() ? Set.of() : Set.of(invalid));
      assertThat(routeNames(p)).containsExactly("chat");
    }

    @Test
    void onePortOnDifferentAddressesAndIpv6() {
      ParsedConfig p = parse("""
          listeners:
            - name: a
              address: 127.0.0.1
              port: 10000
            - name: b
              address: 10.0.0.1
              port: 10000
            - name: c
              address: "::"
              port: 10000
              nodeClusters: [west, east, west]
          """);

      assertThat(p.errors()).isEmpty();
      assertThat(p.listeners()).containsExactly(
          new ListenerSpec("a", "127.0.0.1", 10000, List.of()),
          new ListenerSpec("b", "10.0.0.1", 10000, List.of()),
          new ListenerSpec("c", "::", 10000, List.of("east", "west")));
      assertThat(p.listeners().get(2).servesNodeCluster("east")).isTrue();
      assertThat(p.listeners().get(2).servesNodeCluster("north")).isFalse();
      assertThat(p.listeners().get(0).servesNodeCluster("north")).isTrue();
    }

    @Test
    void tlsListenersFromFilesOrAKubernetesSecretSideBySideWithPlaintext() {
      ParsedConfig p = parse("""
          listeners:
            - name: edge
              port: 10000
            - name: edge-tls
              port: 10443
              tls: {certFile: tls/cert.pem, keyFile: /etc/ebb/key.pem}
              trustedHops: 1
              accessLog: false
            - name: kube-tls
              port: 11443
              tls: {secret: ingress/chat-cert}
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              listener: edge-tls
              stable: chat-v1
              outlierDetection: true
          backends:
            - name: chat-v1
          """);

      assertThat(p.errors()).isEmpty();
      assertThat(p.listeners()).containsExactly(
          new ListenerSpec("edge", "0.0.0.0", 10000, List.of()),
          new ListenerSpec("edge-tls", "0.0.0.0", 10443, List.of(),
              Optional.of(new ListenerTls.Files("tls/cert.pem", "/etc/ebb/key.pem")), 1, false),
          new ListenerSpec("kube-tls", "0.0.0.0", 11443, List.of(),
              Optional.of(new ListenerTls.KubeSecret("ingress", "chat-cert")), 0, true));
      assertThat(p.listeners().get(1).secretName()).contains("edge-tls");
      assertThat(p.listeners().get(2).secretName()).contains("ingress/chat-cert");
      assertThat(p.listeners().get(0).secretName()).isEmpty();
      assertThat(p.routes().get(0).outlierDetection()).isTrue();
    }

    @Test
    void routeScopingIsNoneUnlessAListenerAsksForHost() {
      ParsedConfig p = parse("""
          listeners:
            - name: edge
              port: 10000
              routeScoping: host
            - name: internal
              port: 10001
              routeScoping: none
            - name: admin
              port: 10002
          """);

      assertThat(p.errors()).isEmpty();
      assertThat(p.listeners()).extracting(ListenerSpec::routeScoping)
          .containsExactly(RouteScoping.HOST, RouteScoping.NONE, RouteScoping.NONE);
      assertThat(p.listeners().get(0)).isEqualTo(new ListenerSpec("edge", "0.0.0.0", 10000, List.of(),
          Optional.empty(), 0, true, RouteScoping.HOST));
      // the constructors that predate routeScoping keep meaning "none"
      assertThat(p.listeners().get(2)).isEqualTo(new ListenerSpec("admin", "0.0.0.0", 10002, List.of()));
      assertThat(ListenerSpec.DEFAULT.routeScoping()).isEqualTo(RouteScoping.NONE);
    }

    @Test
    void twoListenersThatScopeRoutesByHostForTheSameNodesAreRefused() {
      ParsedConfig p = parse("""
          listeners:
            - name: edge
              port: 10000
              routeScoping: host
            - name: edge-tls
              port: 10443
              routeScoping: host
            - name: sidecar
              port: 15001
              nodeClusters: [sidecar]
              routeScoping: host
          """);

      // edge serves every node, so it shares them with both; the sidecar listener is refused too
      assertThat(messages(p.errors())).containsExactly(
          "listener edge-tls: routeScoping: host is also set on listener edge, which serves the same Envoy nodes;"
              + " Envoy keeps one table of host scopes per node, so only one listener per node may scope routes by"
              + " host (give them disjoint nodeClusters)",
          "listener sidecar: routeScoping: host is also set on listener edge, which serves the same Envoy nodes;"
              + " Envoy keeps one table of host scopes per node, so only one listener per node may scope routes by"
              + " host (give them disjoint nodeClusters)");
      assertThat(p.errors().get(0).location()).contains("ebb.yaml:7:19");
      assertThat(listenerNames(p)).containsExactly("edge");
      assertThat(p.invalidListeners()).containsExactlyInAnyOrder("edge-tls", "sidecar");
    }

    @Test
    void scopedListenersForDisjointNodeClustersAreFine() {
      ParsedConfig p = parse("""
          listeners:
            - name: edge
              port: 10000
              nodeClusters: [edge]
              routeScoping: host
            - name: sidecar
              port: 15001
              nodeClusters: [sidecar, mesh]
              routeScoping: host
            - name: edge-tls
              port: 10443
          """);

      assertThat(p.errors()).isEmpty();
      assertThat(p.listeners()).filteredOn(ListenerSpec::scopesRoutesByHost).extracting(ListenerSpec::name)
          .containsExactly("edge", "sidecar");
    }

    @Test
    void declaringListenersReplacesTheDefault() {
      ParsedConfig p = parse("""
          listeners:
            - name: public
              port: 8080
          routes:
            - name: chat
              hosts: ["chat.example.com"]
              stable: chat-v1
          backends:
            - name: chat-v1
          """);

      assertThat(listenerNames(p)).containsExactly("public");
      assertThat(messages(p.errors())).containsExactly("route chat: listener: listener edge is not defined");
      assertThat(p.invalidRoutes()).containsExactly("chat");
    }
  }

  /** SPEC 5 and 7: scoped routes have no wildcard and no fallback scope. */
  @Nested
  class ScopedListeners {
    static String file(String routeScoping, String hosts) {
      return """
          listeners:
            - name: edge
              port: 10000
              routeScoping: %s
            - name: plain
              port: 10001
          routes:
            - name: chat
              hosts: %s
              stable: chat-v1
            - name: feed
              hosts: ["feed.example.com"]
              stable: chat-v1
          backends:
            - name: chat-v1
          """.formatted(routeScoping, hosts);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        ["*.example.com"]                     | *.example.com | ebb.yaml:9:12
        ["chat.example.com", "*"]             | *             | ebb.yaml:9:12
        """)
    void aWildcardHostOnAListenerThatScopesRoutesByHostIsRefused(String hosts, String wildcard, String at) {
      ParsedConfig p = parse(file("host", hosts));

      assertThat(messages(p.errors())).containsExactly("route chat: hosts: " + wildcard + " is a wildcard host, which"
          + " listener edge cannot serve: it has routeScoping: host, and scoped routes match exact host names only"
          + " (no wildcard, no fallback scope)");
      ConfigError e = p.errors().get(0);
      assertThat(e.object()).isEqualTo("route chat");
      assertThat(e.field()).isEqualTo("hosts");
      assertThat(e.value()).isEqualTo(wildcard);
      assertThat(e.location()).contains(at);
      assertThat(p.invalidRoutes()).containsExactly("chat");
      assertThat(routeNames(p)).containsExactly("feed");
    }

    @Test
    void wildcardHostsStayFineOnAListenerWithoutScopingAndExactHostsOnOneWith() {
      ParsedConfig unscoped = parse(file("none", "[\"*.example.com\", \"*\"]"));
      assertThat(unscoped.errors()).isEmpty();
      assertThat(routeNames(unscoped)).containsExactly("chat", "feed");

      ParsedConfig elsewhere = parse(edit(file("host", "[\"*.example.com\"]"), "    stable: chat-v1\n  - name: feed",
          "    listener: plain\n    stable: chat-v1\n  - name: feed"));
      assertThat(elsewhere.errors()).isEmpty();

      ParsedConfig exact = parse(file("host", "[\"chat.example.com\", \"www.chat.example.com\"]"));
      assertThat(exact.errors()).isEmpty();
      assertThat(exact.routes().get(0).hosts()).containsExactly("chat.example.com", "www.chat.example.com");
    }

    @Test
    void aListenerDeclaredWithHostScopingRefusesWildcardsEvenWhileItIsInvalid() {
      // its last good version, which LastGood may keep serving, scopes routes by host
      ParsedConfig p = parse(edit(file("host", "[\"*.example.com\"]"), "port: 10000", "port: 0"));

      assertThat(messages(p.errors())).containsExactly("listener edge: port: 0 is not a port (1..65535)",
          "route chat: hosts: *.example.com is a wildcard host, which listener edge cannot serve: it has"
              + " routeScoping: host, and scoped routes match exact host names only (no wildcard, no fallback scope)");
      assertThat(p.invalidListeners()).containsExactly("edge");
    }
  }

  @Nested
  class WholeFile {
    private void assertUnreadable(ParsedConfig p) {
      assertThat(p.readable()).isFalse();
      assertThat(p.listeners()).isEmpty();
      assertThat(p.routes()).isEmpty();
      assertThat(p.backends()).isEmpty();
      assertThat(p.errors()).isNotEmpty();
    }

    @Test
    void malformedYamlSaysFileLineAndColumn() {
      ParsedConfig p = parse("listeners:\n  - name: edge\n  port: 10000\n");

      assertUnreadable(p);
      assertThat(p.errors()).singleElement().satisfies(e -> {
        assertThat(e.object()).isEqualTo("file ebb.yaml");
        assertThat(e.message()).startsWith("file ebb.yaml: YAML error at ebb.yaml:3:3: ");
        assertThat(e.location()).contains("ebb.yaml:3:3");
        assertThat(e.describe()).isEqualTo(e.message());
      });
    }

    @Test
    void anUnclosedListSaysWhereItWasNoticed() {
      ParsedConfig p = parse("routes:\n  - name: chat\n    hosts: [\"chat.example.com\"\n    stable: v1\n");

      assertUnreadable(p);
      assertThat(messages(p.errors())).singleElement().asString()
          .startsWith("file ebb.yaml: YAML error at ebb.yaml:4:5: ");
    }

    @Test
    void tabsForIndentation() {
      ParsedConfig p = parse("routes:\n  - name: chat\n\thosts: x\n");

      assertUnreadable(p);
      assertThat(messages(p.errors())).singleElement().asString()
          .startsWith("file ebb.yaml: YAML error at ebb.yaml:3:1: ");
    }

    @Test
    void moreThanOneDocument() {
      ParsedConfig p = parse("routes: []\n---\nroutes: []\n");

      assertUnreadable(p);
      assertThat(messages(p.errors())).singleElement().asString().startsWith("file ebb.yaml: YAML error at ebb.yaml:2:1: ");
    }

    @Test
    void theFileNameGivenIsTheOneShown() {
      ParsedConfig p = FileConfigParser.parse("routes: [\n", "/etc/ebb/prod.yaml");

      assertThat(messages(p.errors())).singleElement().asString()
          .startsWith("file /etc/ebb/prod.yaml: YAML error at /etc/ebb/prod.yaml:2:1: ");
    }

    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {"", "\n", "   \n\n", "# nothing yet\n"})
    void anEmptyFile(String text) {
      ParsedConfig p = parse(text);

      assertUnreadable(p);
      assertThat(messages(p.errors())).containsExactly(
          "file ebb.yaml: the file is empty; write \"routes: []\" to serve no routes");
    }

    @Test
    void aTopLevelList() {
      ParsedConfig p = parse("- name: chat\n  hosts: [\"chat.example.com\"]\n");

      assertUnreadable(p);
      assertThat(p.errors()).singleElement().satisfies(e -> {
        assertThat(e.message()).isEqualTo(
            "file ebb.yaml: the top level must be a mapping with listeners, routes and backends");
        assertThat(e.location()).contains("ebb.yaml:1:1");
      });
    }

    @Test
    void aTopLevelScalar() {
      ParsedConfig p = parse("routes\n");

      assertUnreadable(p);
      assertThat(messages(p.errors())).containsExactly(
          "file ebb.yaml: the top level must be a mapping with listeners, routes and backends");
    }

    @Test
    void aMisspeltTopLevelKeyRejectsTheWholeFile() {
      // read as "no routes" it would withdraw every route
      ParsedConfig p = parse(EXAMPLE.replace("routes:", "rotues:"));

      assertUnreadable(p);
      assertThat(p.errors()).singleElement().satisfies(e -> {
        assertThat(e.message()).isEqualTo(
            "file ebb.yaml: rotues: is not a known field (known: backends, listeners, routes)");
        assertThat(e.location()).contains("ebb.yaml:6:1");
      });
    }

    @Test
    void aTopLevelKeyOfTheWrongShape() {
      ParsedConfig p = parse("routes:\n  name: chat\n");

      assertUnreadable(p);
      assertThat(p.errors()).singleElement().satisfies(e -> {
        assertThat(e.message()).isEqualTo("file ebb.yaml: routes: must be a list");
        assertThat(e.location()).contains("ebb.yaml:2:3");
      });
    }

    @Test
    void aTopLevelKeyGivenTwice() {
      ParsedConfig p = parse("routes: []\nbackends: []\nroutes: []\n");

      assertUnreadable(p);
      assertThat(p.errors()).singleElement().satisfies(e -> {
        assertThat(e.message()).isEqualTo("file ebb.yaml: routes: is given twice");
        assertThat(e.location()).contains("ebb.yaml:3:1");
      });
    }

    @Test
    void tooManyAliasesAreRefused() {
      StringBuilder sb = new StringBuilder("x: &a [1, 2]\ny: [");
      for (int i = 0; i < 30; i++) {
        sb.append(i == 0 ? "" : ", ").append("*a");
      }
      ParsedConfig p = parse(sb + "]\n");

      assertUnreadable(p);
      assertThat(messages(p.errors())).containsExactly(
          "file ebb.yaml: yaml: Number of aliases for non-scalar nodes exceeds the specified max=20");
    }
  }

  @Nested
  class Warnings {
    private ParsedConfig withMaxStream(String maxStreamDuration, String drainTimeout) {
      return parse(edit(EXAMPLE, "drainTimeout: 15m", "drainTimeout: " + drainTimeout
          + "\n    maxStreamDuration: " + maxStreamDuration));
    }

    @Test
    void maxStreamDurationLongerThanDrainTimeoutIsAWarningNotAnError() {
      ParsedConfig p = withMaxStream("30m", "15m");

      assertThat(p.errors()).isEmpty();
      assertThat(p.warnings()).singleElement().satisfies(w -> {
        assertThat(w.message()).isEqualTo("route chat: maxStreamDuration: 30m is longer than drainTimeout 15m:"
            + " streams can outlive the drain and are cut when the old backend goes away");
        assertThat(w.object()).isEqualTo("route chat");
        assertThat(w.field()).isEqualTo("maxStreamDuration");
        assertThat(w.value()).isEqualTo("30m");
      });
      assertThat(p.routes()).singleElement().satisfies(r ->
          assertThat(r.maxStreamDuration()).contains(Duration.ofMinutes(30)));
    }

    @Test
    void maxStreamDurationUpToDrainTimeoutIsFine() {
      ParsedConfig p = withMaxStream("15m", "15m");

      assertThat(p.errors()).isEmpty();
      assertThat(p.warnings()).isEmpty();
      assertThat(p.routes().get(0).maxStreamDuration()).contains(Duration.ofMinutes(15));
    }

    @Test
    void maxStreamDurationZeroMeansNone() {
      ParsedConfig p = withMaxStream("0", "15m");

      assertThat(p.errors()).isEmpty();
      assertThat(p.warnings()).isEmpty();
      assertThat(p.routes().get(0).maxStreamDuration()).isEmpty();
    }

    @Test
    void anInvalidRouteGivesNoWarning() {
      ParsedConfig p = parse(edit(withMaxStreamText(), "canaryWeight: 20", "canaryWeight: 150"));

      assertThat(messages(p.errors())).containsExactly("route chat: canaryWeight: 150 is out of range 0..100");
      assertThat(p.warnings()).isEmpty();
    }

    private String withMaxStreamText() {
      return edit(EXAMPLE, "drainTimeout: 15m", "drainTimeout: 15m\n    maxStreamDuration: 1h");
    }
  }
}
