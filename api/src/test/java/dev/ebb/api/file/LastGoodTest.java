package dev.ebb.api.file;

import static dev.ebb.api.file.FileConfigParserTest.edit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Route;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LastGoodTest {
  static final String GOOD = """
      routes:
        - name: chat
          hosts: ["chat.example.com"]
          stable: chat-v1
          canary: chat-v2
          canaryWeight: 20
        - name: feed
          hosts: ["feed.example.com"]
          protocol: grpc
          stable: feed-v1
          canary: feed-v2
          canaryWeight: 5
      backends:
        - name: chat-v1
          endpoints: ["127.0.0.1:9001"]
        - name: chat-v2
          endpoints: ["127.0.0.1:9101"]
        - name: feed-v1
          endpoints: ["127.0.0.1:9201"]
        - name: feed-v2
          endpoints: ["127.0.0.1:9301"]
      """;

  private Model previous;

  private static ParsedConfig parse(String text) {
    return FileConfigParser.parse(text, "ebb.yaml");
  }

  /** What the file source does with the first good file. */
  private static Model first(String text) {
    ParsedConfig parsed = parse(text);
    assertThat(parsed.errors()).isEmpty();
    LastGood.Result result = LastGood.merge(Model.EMPTY, parsed);
    assertThat(result.errors()).isEmpty();
    return result.model();
  }

  private static int weight(Model m, String route) {
    return m.route(route).orElseThrow().rollout().canaryWeightBasisPoints();
  }

  private static List<String> routeNames(Model m) {
    return m.routes().stream().map(Route::name).toList();
  }

  private static List<String> backendNames(Model m) {
    return m.backends().stream().map(Backend::name).toList();
  }

  private static List<String> messages(List<ConfigError> errors) {
    return errors.stream().map(ConfigError::message).toList();
  }

  /** Envoy refuses two listeners on one socket; every published model must have distinct ones. */
  private static void assertOneListenerPerSocket(Model m) {
    assertThat(m.listeners().stream().collect(Collectors.groupingBy(l -> l.address() + ":" + l.port())))
        .allSatisfy((socket, listeners) -> assertThat(listeners).as(socket).hasSize(1));
  }

  @BeforeEach
  void startFromTheGoodFile() {
    previous = first(GOOD);
    assertThat(routeNames(previous)).containsExactly("chat", "feed");
    assertThat(weight(previous, "chat")).isEqualTo(2000);
    assertThat(weight(previous, "feed")).isEqualTo(500);
    assertThat(previous.listeners()).containsExactly(ListenerSpec.DEFAULT);
  }

  @Test
  void aValidFileReplacesTheModel() {
    String text = edit(edit(GOOD, "canaryWeight: 20", "canaryWeight: 30"), "127.0.0.1:9101", "127.0.0.1:9102");
    LastGood.Result r = LastGood.merge(previous, parse(text));

    assertThat(r.errors()).isEmpty();
    assertThat(r.model()).isEqualTo(first(text));
    assertThat(weight(r.model(), "chat")).isEqualTo(3000);
    assertThat(r.model().backend("chat-v2").orElseThrow().endpoints())
        .containsExactly(Endpoint.ready("127.0.0.1", 9102));
  }

  @ParameterizedTest(name = "canaryWeight: {0}")
  @ValueSource(strings = {"150", "abc", "20.555", "-1"})
  void anInvalidRouteKeepsItsPreviousVersionAndOthersGoOn(String badWeight) {
    ParsedConfig parsed = parse(edit(edit(GOOD, "canaryWeight: 20", "canaryWeight: " + badWeight),
        "canaryWeight: 5", "canaryWeight: 7"));
    assertThat(parsed.invalidRoutes()).containsExactly("chat");

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(r.errors()).isEmpty();
    assertThat(r.model().route("chat")).isEqualTo(previous.route("chat"));
    assertThat(weight(r.model(), "feed")).isEqualTo(700);
    assertThat(r.model().backends()).isEqualTo(previous.backends());
  }

  @Test
  void aRouteThatWasNeverValidIsNotPublished() {
    ParsedConfig parsed = parse(edit(GOOD, "backends:", """
          - name: news
            hosts: ["news.example.com"]
            stable: chat-v1
            canaryWeight: 10
        backends:"""));
    assertThat(messages(parsed.errors())).containsExactly(
        "route news: canaryWeight: is set but the route has no canary");

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(r.errors()).isEmpty();
    assertThat(routeNames(r.model())).containsExactly("chat", "feed");
    assertThat(r.model()).isEqualTo(previous);
  }

  @Test
  void aNewValidRouteNextToAnInvalidOneIsPublished() {
    ParsedConfig parsed = parse(edit(edit(GOOD, "canaryWeight: 20", "canaryWeight: 150"), "backends:", """
          - name: news
            hosts: ["news.example.com"]
            stable: feed-v1
        backends:"""));

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(routeNames(r.model())).containsExactly("chat", "feed", "news");
    assertThat(r.model().route("chat")).isEqualTo(previous.route("chat"));
  }

  @Test
  void aRemovedRouteAndBackendsAreWithdrawn() {
    String text = edit(edit(GOOD, """
          - name: feed
            hosts: ["feed.example.com"]
            protocol: grpc
            stable: feed-v1
            canary: feed-v2
            canaryWeight: 5
        """, ""), """
          - name: feed-v1
            endpoints: ["127.0.0.1:9201"]
          - name: feed-v2
            endpoints: ["127.0.0.1:9301"]
        """, "");

    LastGood.Result r = LastGood.merge(previous, parse(text));

    assertThat(r.errors()).isEmpty();
    assertThat(routeNames(r.model())).containsExactly("chat");
    assertThat(backendNames(r.model())).containsExactly("chat-v1", "chat-v2");
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"routes: [\n", "", "- a\n", "rotues: []\n", "routes: {}\n"})
  void anUnreadableFileKeepsTheWholePreviousModel(String text) {
    ParsedConfig parsed = parse(text);
    assertThat(parsed.readable()).isFalse();

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(r.model()).isSameAs(previous);
    assertThat(r.errors()).isEmpty();
  }

  @Test
  void anUnreadableFirstFilePublishesNothingNew() {
    LastGood.Result r = LastGood.merge(Model.EMPTY, parse("routes: [\n"));

    assertThat(r.model()).isSameAs(Model.EMPTY);
  }

  @Test
  void anInvalidBackendKeepsItsPreviousVersionAndOthersGoOn() {
    ParsedConfig parsed = parse(edit(edit(edit(GOOD, "\"127.0.0.1:9101\"", "\"127.0.0.1:70000\""),
        "\"127.0.0.1:9001\"", "\"127.0.0.1:9002\""), "canaryWeight: 20", "canaryWeight: 30"));
    assertThat(messages(parsed.errors())).containsExactly("backend chat-v2: endpoints: 70000 is not a port (1..65535)");
    assertThat(parsed.invalidBackends()).containsExactly("chat-v2");

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(r.errors()).isEmpty();
    assertThat(r.model().backend("chat-v2")).isEqualTo(previous.backend("chat-v2"));
    assertThat(r.model().backend("chat-v1").orElseThrow().endpoints())
        .containsExactly(Endpoint.ready("127.0.0.1", 9002));
    // the route itself was valid: its new version goes out, on the old chat-v2
    assertThat(weight(r.model(), "chat")).isEqualTo(3000);
  }

  @Test
  void aNewRouteOnAnInvalidBackendWithoutPreviousVersionIsNotPublishedAndTheErrorNamesTheBackend() {
    ParsedConfig parsed = parse(edit(GOOD, "backends:", """
          - name: news
            hosts: ["news.example.com"]
            stable: news-v1
        backends:
          - name: news-v1
            endpoints: ["news.internal:80"]"""));
    assertThat(parsed.invalidBackends()).containsExactly("news-v1");
    assertThat(parsed.invalidRoutes()).isEmpty();

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(messages(r.errors())).containsExactly("route news: stable: backend news-v1 has no valid definition");
    assertThat(r.errors().get(0).object()).isEqualTo("route news");
    assertThat(r.errors().get(0).field()).isEqualTo("stable");
    assertThat(routeNames(r.model())).containsExactly("chat", "feed");
    assertThat(backendNames(r.model())).doesNotContain("news-v1");
  }

  @Test
  void aRouteMovingToAnInvalidNewCanaryKeepsItsPreviousVersion() {
    ParsedConfig parsed = parse(edit(edit(GOOD, "canary: chat-v2\n    canaryWeight: 20",
        "canary: chat-v3\n    canaryWeight: 50"), "backends:", """
        backends:
          - name: chat-v3
            endpoints: ["127.0.0.1:99999"]"""));
    assertThat(messages(parsed.errors())).containsExactly(
        "backend chat-v3: endpoints: 99999 is not a port (1..65535)");

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(messages(r.errors())).containsExactly("route chat: canary: backend chat-v3 has no valid definition");
    assertThat(r.model().route("chat")).isEqualTo(previous.route("chat"));
    assertThat(r.model().backend("chat-v2")).isEqualTo(previous.backend("chat-v2"));
    assertThat(r.model().backend("chat-v3")).isEmpty();
    assertThat(weight(r.model(), "feed")).isEqualTo(500);
  }

  @Test
  void anInvalidRouteKeepsTheBackendsItsPreviousVersionNeeds() {
    // chat goes bad and, in the same edit, its old canary is deleted from the file
    ParsedConfig parsed = parse(edit(edit(GOOD, "canary: chat-v2\n    canaryWeight: 20",
        "canary: chat-v2\n    canaryWeight: 150"), "  - name: chat-v2\n    endpoints: [\"127.0.0.1:9101\"]\n", ""));
    assertThat(messages(parsed.errors())).containsExactly(
        "route chat: canary: backend chat-v2 is not defined",
        "route chat: canaryWeight: 150 is out of range 0..100");

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertThat(r.model().route("chat")).isEqualTo(previous.route("chat"));
    assertThat(r.model().backend("chat-v2")).isEqualTo(previous.backend("chat-v2"));
  }

  @Test
  void anInvalidListenerKeepsItsPreviousVersion() {
    String withInternal = """
        listeners:
          - name: edge
            port: 10000
          - name: internal
            port: 10001
        """ + edit(GOOD, "    protocol: grpc\n", "    protocol: grpc\n    listener: internal\n");
    Model before = first(withInternal);

    ParsedConfig parsed = parse(edit(edit(withInternal, "port: 10001", "port: 0"), "canaryWeight: 5",
        "canaryWeight: 7"));
    assertThat(messages(parsed.errors())).containsExactly("listener internal: port: 0 is not a port (1..65535)");
    assertThat(parsed.invalidListeners()).containsExactly("internal");

    LastGood.Result r = LastGood.merge(before, parsed);

    assertThat(r.errors()).isEmpty();
    assertThat(r.model().listeners()).isEqualTo(before.listeners());
    assertThat(r.model().route("feed").orElseThrow().listener()).isEqualTo("internal");
    assertThat(weight(r.model(), "feed")).isEqualTo(700);
  }

  @Test
  void anInvalidListenerWhoseSocketWasTakenIsNotRestoredAndItsRoutesAreNotPublished() {
    String withInternal = """
        listeners:
          - name: edge
            port: 10000
          - name: internal
            port: 10001
        """ + edit(GOOD, "    protocol: grpc\n", "    protocol: grpc\n    listener: internal\n");
    Model before = first(withInternal);

    // internal goes bad and a new listener takes its port in the same edit
    ParsedConfig parsed = parse(edit(withInternal, "  - name: internal\n    port: 10001\n",
        "  - name: internal\n    port: abc\n  - name: metrics\n    port: 10001\n"));
    assertThat(messages(parsed.errors())).containsExactly("listener internal: port: abc is not a port (1..65535)");

    LastGood.Result r = LastGood.merge(before, parsed);

    assertOneListenerPerSocket(r.model());
    assertThat(r.model().listeners().stream().map(ListenerSpec::name)).containsExactly("edge", "metrics");
    assertThat(messages(r.errors())).containsExactly("route feed: listener: listener internal has no valid definition");
    assertThat(routeNames(r.model())).containsExactly("chat");
  }

  @Test
  void aRouteLeftOnARenamedListenerDoesNotBringTheOldListenerBackOnTheSameSocket() {
    // edge (the default, 0.0.0.0:10000) becomes "public" on the same socket; chat moves, feed is forgotten
    ParsedConfig parsed = parse("""
        listeners:
          - name: public
            port: 10000
        """ + edit(GOOD, "    canaryWeight: 20\n", "    canaryWeight: 20\n    listener: public\n"));
    assertThat(messages(parsed.errors())).containsExactly("route feed: listener: listener edge is not defined");

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertOneListenerPerSocket(r.model());
    assertThat(r.model().listeners()).containsExactly(new ListenerSpec("public", "0.0.0.0", 10000, List.of()));
    assertThat(r.model().route("chat").orElseThrow().listener()).isEqualTo("public");
    assertThat(routeNames(r.model())).containsExactly("chat");
  }

  @Test
  void anInvalidScopedListenerIsNotRestoredBesideANewOneThatScopesRoutesForTheSameNodes() {
    String scoped = """
        listeners:
          - name: edge
            port: 10000
          - name: internal
            port: 10001
            routeScoping: host
        """ + edit(GOOD, "    protocol: grpc\n", "    protocol: grpc\n    listener: internal\n");
    Model before = first(scoped);

    // internal goes bad while edge starts scoping routes by host: both would serve every node
    ParsedConfig parsed = parse(edit(edit(scoped, "port: 10001", "port: 0"), "    port: 10000\n",
        "    port: 10000\n    routeScoping: host\n"));
    assertThat(messages(parsed.errors())).containsExactly("listener internal: port: 0 is not a port (1..65535)",
        "listener internal: routeScoping: host is also set on listener edge, which serves the same Envoy nodes;"
            + " Envoy keeps one table of host scopes per node, so only one listener per node may scope routes by"
            + " host (give them disjoint nodeClusters)");

    LastGood.Result r = LastGood.merge(before, parsed);

    // its last good version would be a second scoped listener on every node: it does not come back
    assertThat(r.model().listeners().stream().map(ListenerSpec::name)).containsExactly("edge");
    assertThat(messages(r.errors())).containsExactly("route feed: listener: listener internal has no valid definition");
    assertThat(routeNames(r.model())).containsExactly("chat");
  }

  @Test
  void anInvalidRouteKeepsARemovedListenerWhoseSocketIsFree() {
    // edge is replaced by public on another port; feed is left on edge: its old version keeps edge
    ParsedConfig parsed = parse("""
        listeners:
          - name: public
            port: 8080
        """ + edit(GOOD, "    canaryWeight: 20\n", "    canaryWeight: 20\n    listener: public\n"));

    LastGood.Result r = LastGood.merge(previous, parsed);

    assertOneListenerPerSocket(r.model());
    assertThat(r.model().listeners().stream().map(ListenerSpec::name)).containsExactly("edge", "public");
    assertThat(r.model().route("feed")).isEqualTo(previous.route("feed"));
  }

  @Test
  void theMergedModelIsSortedByName() {
    String text = edit(GOOD, "routes:\n", """
        routes:
          - name: aaa
            hosts: ["aaa.example.com"]
            stable: feed-v1
        """);

    Model m = LastGood.merge(previous, parse(text)).model();

    assertThat(routeNames(m)).containsExactly("aaa", "chat", "feed");
    assertThat(backendNames(m)).containsExactly("chat-v1", "chat-v2", "feed-v1", "feed-v2");
  }
}
