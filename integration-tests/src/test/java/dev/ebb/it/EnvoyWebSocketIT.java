package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.java_websocket.client.WebSocketClient;
import org.java_websocket.handshake.ServerHandshake;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;

/**
 * Real Envoy in a container, fed by Ebb over ADS, in front of two WebSocket backends: established WebSockets
 * survive a full shift and no listener is ever modified. Needs a Docker engine on a Linux host (the container
 * uses host networking so that EDS can name loopback addresses); skipped, visibly, where there is none.
 */
@Testcontainers(disabledWithoutDocker = true)
class EnvoyWebSocketIT {
  static final DockerImageName ENVOY = DockerImageName.parse("envoyproxy/envoy:v1.37-latest");
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path dir;

  /** A WebSocket client through Envoy; each send returns the backend that answered. */
  static final class Ws extends WebSocketClient {
    final LinkedBlockingQueue<String> replies = new LinkedBlockingQueue<>();

    Ws(int port) {
      super(URI.create("ws://127.0.0.1:" + port + "/chat"), Map.of("Host", "chat.example.com"));
    }

    String ask(String msg) throws InterruptedException {
      send(msg);
      String reply = replies.poll(5, TimeUnit.SECONDS);
      assertThat(reply).as("answer to " + msg).isNotNull().endsWith(":" + msg);
      return reply.substring(0, reply.indexOf(':'));
    }

    @Override
    public void onOpen(ServerHandshake handshake) {}

    @Override
    public void onMessage(String message) {
      replies.add(message);
    }

    @Override
    public void onClose(int code, String reason, boolean remote) {}

    @Override
    public void onError(Exception ex) {}
  }

  static String yaml(int listenerPort, String weight, int v1, int v2) {
    return """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: %d
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            protocol: websocket
            stable: v1
            canary: v2
            canaryWeight: %s
        backends:
          - name: v1
            endpoints: ["127.0.0.1:%d"]
          - name: v2
            endpoints: ["127.0.0.1:%d"]
        """.formatted(listenerPort, weight, v1, v2);
  }

  static String get(int port, String path) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
    return r.statusCode() + " " + r.body();
  }

  @Test
  void establishedWebSocketsSurviveAFullShiftAndNoListenerIsModified() throws Exception {
    int listenerPort = WebSocketBackend.freePort();
    int envoyAdmin = WebSocketBackend.freePort();
    try (WebSocketBackend v1 = new WebSocketBackend("v1", WebSocketBackend.freePort());
        WebSocketBackend v2 = new WebSocketBackend("v2", WebSocketBackend.freePort())) {
      v1.start();
      v2.start();
      try (EbbFixture ebb = new EbbFixture(dir, yaml(listenerPort, "0", v1.getPort(), v2.getPort())).start()) {
        String bootstrap = Files.readString(Path.of("../envoy/edge.yaml"))
            .replace("port_value: 18000", "port_value: " + ebb.xdsPort())
            .replace("port_value: 9901", "port_value: " + envoyAdmin);
        try (GenericContainer<?> envoy = new GenericContainer<>(ENVOY)
            .withNetworkMode("host")
            .withCopyToContainer(Transferable.of(bootstrap), "/etc/envoy/envoy.yaml")
            .withCommand("-c", "/etc/envoy/envoy.yaml", "--drain-time-s", "5")) {
          envoy.start();
          await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
              .until(() -> get(envoyAdmin, "/ready").startsWith("200"));

          List<Ws> onV1 = new ArrayList<>();
          for (int i = 0; i < 20; i++) {
            Ws ws = new Ws(listenerPort);
            assertThat(ws.connectBlocking(5, TimeUnit.SECONDS)).isTrue();
            assertThat(ws.ask("hello" + i)).isEqualTo("v1");
            onV1.add(ws);
          }

          ebb.writeAndAwaitPublish(yaml(listenerPort, "100", v1.getPort(), v2.getPort()));
          await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> {
            Ws probe = new Ws(listenerPort);
            try {
              return probe.connectBlocking(5, TimeUnit.SECONDS) && probe.ask("probe").equals("v2");
            } finally {
              probe.closeBlocking();
            }
          });
          for (Ws ws : onV1) {
            assertThat(ws.isOpen()).isTrue();
            assertThat(ws.ask("still-there")).isEqualTo("v1");
          }
          assertThat(v1.open.get()).isEqualTo(20);
          assertThat(get(envoyAdmin, "/stats?filter=listener_manager.listener_modified"))
              .contains("listener_manager.listener_modified: 0");
          for (Ws ws : onV1) {
            ws.closeBlocking();
          }
        }
      }
    }
  }
}
