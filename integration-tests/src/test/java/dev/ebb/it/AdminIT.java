package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, through a whole Ebb on the file source: / lists the admin endpoints, /config_dump previews the group of
 * a listener no node of which has connected, and a backend shared by a grpc route and an http route is a warning in
 * /status that names both routes and the backend.
 */
class AdminIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  static final String YAML = """
      listeners:
        - name: edge
          port: 10000
          nodeClusters: [edge]
        - name: outbound
          address: 127.0.0.1
          port: 15001
          nodeClusters: [sidecar]
      routes:
        - name: rpc
          hosts: ["rpc.example.com"]
          protocol: grpc
          stable: shared
        - name: web
          hosts: ["web.example.com"]
          protocol: http
          stable: shared
        - name: mesh
          hosts: ["mesh.internal"]
          protocol: http
          listener: outbound
          stable: alone
      backends:
        - name: shared
          endpoints: ["127.0.0.1:9001"]
        - name: alone
          endpoints: ["127.0.0.1:9002"]
      """;

  @Test
  void theRootListsTheEndpoints() {
    try (EbbFixture ebb = new EbbFixture(dir, YAML).start()) {
      assertThat(ebb.admin("/")).startsWith("200 ").contains("/status", "/config_dump?group=ID");
      assertThat(ebb.admin("/nothing")).startsWith("404 not found: /nothing");
    }
  }

  @Test
  void aSidecarListenerIsPreviewedBeforeAnySidecarConnects() throws Exception {
    try (EbbFixture ebb = new EbbFixture(dir, YAML).start()) {
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/config_dump").startsWith("200 "));
      String body = ebb.admin("/config_dump?group=envoy:sidecar&pretty");
      assertThat(body).startsWith("200 ");
      JsonNode group = JSON.readTree(body.substring(4)).get("groups").get(0);
      assertThat(group.get("id").asText()).isEqualTo("envoy:sidecar");
      assertThat(group.get("connected").asBoolean()).isFalse();
      List<String> listeners = new ArrayList<>();
      group.get("resources").get("LDS").forEach(l -> listeners.add(l.get("name").asText()));
      assertThat(listeners).containsExactly("outbound");
      List<String> ids = new ArrayList<>();
      JSON.readTree(ebb.admin("/config_dump").substring(4)).get("groups").forEach(g -> ids.add(g.get("id").asText()));
      assertThat(ids).contains("envoy:edge", "envoy:sidecar");
    }
  }

  @Test
  void aBackendSharedByAGrpcAndAnHttpRouteIsAWarningInStatus() {
    try (EbbFixture ebb = new EbbFixture(dir, YAML).start()) {
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains("backend shared: protocol:"));
      assertThat(ebb.admin("/status")).contains("backend shared: protocol: shared by grpc route rpc and http route"
          + " web: its cluster speaks HTTP/2 (for gRPC) to all of them, so route web reaches shared over HTTP/2 too");
      // one backend per protocol: the warning goes
      ebb.writeAndAwaitPublish(YAML.replace("    protocol: http\n    stable: shared", "    protocol: http\n"
          + "    stable: alone"));
      await().atMost(Duration.ofSeconds(5)).until(() -> !ebb.admin("/status").contains("backend shared: protocol:"));
    }
  }
}
