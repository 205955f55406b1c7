package dev.ebb.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.XdsSnapshot;
import dev.ebb.rollout.DesiredState;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.translate.EnvoyTranslator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Issue 14: / lists the endpoints, ?pretty indents, ?group= previews a node group before any such node connects. */
class AdminServerTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An edge listener for node cluster "edge" and a sidecar listener for "sidecar"; nothing connected. */
  static ConfigDump.Input input(List<NodeGroup> connected) {
    ListenerSpec edge = new ListenerSpec("edge", "0.0.0.0", 10000, List.of("edge"));
    ListenerSpec outbound = new ListenerSpec("outbound", "127.0.0.1", 15001, List.of("sidecar"));
    Route chat = new Route("chat", List.of("chat.example.com"), Protocol.WEBSOCKET, "/", "edge",
        Rollout.stableOnly("v1"), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty());
    Route api = new Route("api", List.of("api.internal"), Protocol.HTTP, "/", "outbound",
        Rollout.stableOnly("v1"), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty());
    DesiredState desired = RolloutEngine.desired(new Model(List.of(edge, outbound), List.of(chat, api),
        List.of(new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 8080))))), Instant.EPOCH);
    XdsSnapshot snapshot = XdsSnapshot.of(new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT).translate(desired));
    return new ConfigDump.Input(snapshot, desired.listeners(), connected);
  }

  private final List<AdminServer> servers = new ArrayList<>();
  private Optional<ConfigDump.Input> published = Optional.of(input(List.of()));

  private final AdminServer.Backend backend = new AdminServer.Backend() {
    @Override
    public Optional<String> notReadyReason() {
      return Optional.empty();
    }

    @Override
    public Map<String, Object> status() {
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("ready", true);
      doc.put("warnings", List.of());
      return doc;
    }

    @Override
    public Optional<ConfigDump.Input> configDump() {
      return published;
    }

    @Override
    public String metrics() {
      return "ebb_up 1\n";
    }
  };

  int start(boolean fleetView) {
    AdminServer s = new AdminServer(new InetSocketAddress("127.0.0.1", 0), backend, fleetView).start();
    servers.add(s);
    return s.port();
  }

  @AfterEach
  void close() {
    servers.forEach(AdminServer::close);
  }

  static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theRootListsEveryEndpoint() throws Exception {
    HttpResponse<String> r = get(start(true), "/");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("/healthz", "/readyz", "/metrics", "/status", "/config_dump?group=ID",
        "envoy:CLUSTER", "?pretty");
  }

  @Test
  void anUnknownPathIsA404ThatListsTheEndpoints() throws Exception {
    HttpResponse<String> r = get(start(true), "/stats");

    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).startsWith("not found: /stats\n").contains("/config_dump");
  }

  @Test
  void theMetricsAddressListsOnlyWhatItServes() throws Exception {
    int port = start(false);

    // SPEC 11: only /metrics, /healthz and /readyz answer there; a 404 still says what does
    assertThat(get(port, "/").statusCode()).isEqualTo(404);
    assertThat(get(port, "/").body()).contains("/metrics", "/readyz").doesNotContain("/config_dump?group");
    assertThat(get(port, "/status").statusCode()).isEqualTo(404);
    assertThat(get(port, "/config_dump").statusCode()).isEqualTo(404);
  }

  @Test
  void configDumpIsCompactUnlessAskedToBePretty() throws Exception {
    int port = start(true);
    HttpResponse<String> compact = get(port, "/config_dump");
    HttpResponse<String> pretty = get(port, "/config_dump?pretty");

    assertThat(compact.statusCode()).isEqualTo(200);
    assertThat(compact.body().strip()).doesNotContain("\n");
    assertThat(pretty.statusCode()).isEqualTo(200);
    assertThat(pretty.body()).contains("\n  \"groups\" : [");
    assertThat(JSON.readTree(pretty.body())).isEqualTo(JSON.readTree(compact.body()));
  }

  @Test
  void statusIsIndentedWithOrWithoutPretty() throws Exception {
    int port = start(true);

    assertThat(get(port, "/status").body()).contains("\n  \"ready\" : true");
    assertThat(get(port, "/status?pretty").body()).contains("\n  \"ready\" : true");
  }

  @Test
  void everyNodeClusterAListenerNamesIsAGroupOfTheDumpBeforeAnyNodeConnects() throws Exception {
    JsonNode dump = JSON.readTree(get(start(true), "/config_dump").body());

    List<String> ids = new ArrayList<>();
    dump.get("groups").forEach(g -> ids.add(g.get("id").asText()));
    assertThat(ids).containsExactly("envoy", "grpc", "envoy:edge", "envoy:sidecar");
    dump.get("groups").forEach(g -> assertThat(g.get("connected").asBoolean()).isFalse());
  }

  @Test
  void aGroupCanBePreviewedAlone() throws Exception {
    HttpResponse<String> r = get(start(true), "/config_dump?group=envoy:sidecar&pretty");

    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode groups = JSON.readTree(r.body()).get("groups");
    assertThat(groups).hasSize(1);
    JsonNode sidecar = groups.get(0);
    assertThat(sidecar.get("group").asText()).isEqualTo("envoy");
    assertThat(sidecar.get("nodeCluster").asText()).isEqualTo("sidecar");
    List<String> listeners = new ArrayList<>();
    sidecar.get("resources").get("LDS").forEach(l -> listeners.add(l.get("name").asText()));
    assertThat(listeners).containsExactly("outbound");
    assertThat(sidecar.get("resources").get("LDS").get(0).get("resource").get("address").get("socketAddress")
        .get("portValue").asInt()).isEqualTo(15001);
    assertThat(sidecar.get("resources").get("RDS").get(0).get("name").asText()).isEqualTo("outbound");
  }

  @Test
  void connectedGroupsAreMarkedAndUnnamedClustersAreShownToo() throws Exception {
    published = Optional.of(input(List.of(new NodeGroup(true, "sidecar"), new NodeGroup(true, "canary-edge"))));
    JsonNode dump = JSON.readTree(get(start(true), "/config_dump").body());

    Map<String, Boolean> connected = new LinkedHashMap<>();
    dump.get("groups").forEach(g -> connected.put(g.get("id").asText(), g.get("connected").asBoolean()));
    assertThat(connected).containsExactly(Map.entry("envoy", false), Map.entry("grpc", false),
        Map.entry("envoy:edge", false), Map.entry("envoy:sidecar", true), Map.entry("envoy:canary-edge", true));
  }

  @Test
  void anUnknownGroupIsABadRequestThatSaysWhatAGroupIs() throws Exception {
    HttpResponse<String> r = get(start(true), "/config_dump?group=sidecar");

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("group sidecar is not grpc, envoy or envoy:CLUSTER");
  }

  @Test
  void beforeTheFirstPublishTheDumpSaysSo() throws Exception {
    published = Optional.empty();
    HttpResponse<String> r = get(start(true), "/config_dump");

    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("no config published yet");
  }

  @Test
  void groupIdsRoundTrip() {
    for (NodeGroup g : List.of(NodeGroup.GRPC, new NodeGroup(true, ""), new NodeGroup(true, "sidecar"))) {
      assertThat(ConfigDump.group(ConfigDump.id(g))).contains(g);
    }
    assertThat(ConfigDump.group("envoy:")).isEmpty();
    assertThat(ConfigDump.group("Envoy")).isEmpty();
  }
}
