package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.java_websocket.client.WebSocketClient;
import org.java_websocket.handshake.ServerHandshake;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Real Envoy (1.37, in a container, bootstrapped from envoy/edge.yaml) fed by Ebb over ADS, in front of two
 * WebSocket backends: established WebSockets stay on their version through a shift and a promotion while new ones
 * follow the weights, and no listener is ever modified nor any update rejected. Needs a Docker engine on a Linux
 * host (the container uses host networking so that EDS can name loopback addresses); skipped, named with the
 * reason on the build output's SKIPPED line, where there is none.
 */
@ExtendWith(EnvoyFixture.RequiresDocker.class)
class EnvoyWebSocketIT {
  @TempDir
  Path dir;

  /** A WebSocket client through Envoy; each ask returns the backend that answered. */
  static class Ws extends WebSocketClient {
    final LinkedBlockingQueue<String> replies = new LinkedBlockingQueue<>();

    Ws(int port) {
      this(URI.create("ws://127.0.0.1:" + port + "/chat"), "chat.example.com");
    }

    Ws(URI uri, String host) {
      super(uri, Map.of("Host", host));
    }

    /** A new WebSocket, open. */
    static Ws open(int port) throws InterruptedException {
      Ws ws = new Ws(port);
      assertThat(ws.connectBlocking(5, TimeUnit.SECONDS)).as("WebSocket through Envoy").isTrue();
      return ws;
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

  /** Ebb's file: listener "edge" on loopback, route chat with stable/canary/weight (canary null: none). */
  static String yaml(int listenerPort, String stable, String canary, String weight, int v1, int v2) {
    return """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: %d
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            protocol: websocket
            stable: %s
        %s
        backends:
          - name: v1
            endpoints: ["127.0.0.1:%d"]
          - name: v2
            endpoints: ["127.0.0.1:%d"]
        """.formatted(listenerPort, stable,
        canary == null ? "" : "    canary: " + canary + "\n    canaryWeight: " + weight, v1, v2);
  }

  static String yaml(int listenerPort, String weight, int v1, int v2) {
    return yaml(listenerPort, "v1", "v2", weight, v1, v2);
  }

  /** Opens {@code n} new WebSockets, one message each, and counts who answered. */
  static Map<String, Integer> probe(int port, int n) throws InterruptedException {
    Map<String, Integer> count = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      Ws ws = Ws.open(port);
      try {
        count.merge(ws.ask("probe" + i), 1, Integer::sum);
      } finally {
        ws.closeBlocking();
      }
    }
    return count;
  }

  /** Waits until a new WebSocket is answered by {@code version}. */
  static void awaitNewWebSocketsOn(int port, String version) {
    await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> {
      Ws probe = Ws.open(port);
      try {
        return probe.ask("probe").equals(version);
      } finally {
        probe.closeBlocking();
      }
    });
  }

  /** A backend's state in Ebb's /status: "active" or "draining". */
  static String backendState(EbbFixture ebb, String backend) throws Exception {
    String body = ebb.admin("/status");
    assertThat(body).startsWith("200 ");
    for (var b : new com.fasterxml.jackson.databind.ObjectMapper().readTree(body.substring(4)).path("backends")) {
      if (b.path("name").asText().equals(backend)) {
        return b.path("state").asText();
      }
    }
    throw new AssertionError("no backend " + backend + " in /status");
  }

  @Test
  void establishedWebSocketsSurviveAFullShiftAndNoListenerIsModified() throws Exception {
    int listenerPort = WebSocketBackend.freePort();
    try (WebSocketBackend v1 = new WebSocketBackend("v1", WebSocketBackend.freePort());
        WebSocketBackend v2 = new WebSocketBackend("v2", WebSocketBackend.freePort())) {
      v1.start();
      v2.start();
      try (EbbFixture ebb = new EbbFixture(dir, yaml(listenerPort, "0", v1.getPort(), v2.getPort())).start();
          EnvoyFixture envoy = EnvoyFixture.start(ebb.xdsPort(), EnvoyFixture.Ads.SOTW, "envoy-it-1")) {
        List<Ws> onV1 = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          Ws ws = Ws.open(listenerPort);
          assertThat(ws.ask("hello" + i)).isEqualTo("v1");
          onV1.add(ws);
        }

        ebb.writeAndAwaitPublish(yaml(listenerPort, "100", v1.getPort(), v2.getPort()));
        awaitNewWebSocketsOn(listenerPort, "v2");
        for (Ws ws : onV1) {
          assertThat(ws.isOpen()).isTrue();
          assertThat(ws.ask("still-there")).isEqualTo("v1");
        }
        assertThat(v1.open.get()).isEqualTo(20);
        envoy.assertNoListenerModifiedAndNothingRejected("cds", "lds", "rds");
        for (Ws ws : onV1) {
          ws.closeBlocking();
        }
      }
    }
  }

  /**
   * The product's promise end to end, over both ADS variants: at 20 % new WebSockets split about 80/20 while the
   * established ones stay on v1; after the promotion every new WebSocket goes to v2, v1 drains (its cluster stays)
   * and its established WebSockets still answer.
   */
  @ParameterizedTest
  @EnumSource(EnvoyFixture.Ads.class)
  void aShiftAndAPromotionMoveOnlyNewWebSockets(EnvoyFixture.Ads ads) throws Exception {
    int listenerPort = WebSocketBackend.freePort();
    try (WebSocketBackend v1 = new WebSocketBackend("v1", WebSocketBackend.freePort());
        WebSocketBackend v2 = new WebSocketBackend("v2", WebSocketBackend.freePort())) {
      v1.start();
      v2.start();
      int p1 = v1.getPort();
      int p2 = v2.getPort();
      try (EbbFixture ebb = new EbbFixture(dir, yaml(listenerPort, "0", p1, p2)).start();
          EnvoyFixture envoy = EnvoyFixture.start(ebb.xdsPort(), ads, "envoy-it-" + ads.name().toLowerCase())) {
        List<Ws> established = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          Ws ws = Ws.open(listenerPort);
          assertThat(ws.ask("first" + i)).isEqualTo("v1");
          established.add(ws);
        }

        // shift 20 %: new WebSockets split, established ones stay
        ebb.writeAndAwaitPublish(yaml(listenerPort, "20", p1, p2));
        awaitNewWebSocketsOn(listenerPort, "v2");
        Map<String, Integer> split = probe(listenerPort, 200);
        System.out.println("EnvoyWebSocketIT (" + ads + "): 200 new WebSockets at 20 %: " + split);
        // 40 expected on v2; 20..65 is beyond 3.5 standard deviations either way
        assertThat(split.getOrDefault("v2", 0)).isBetween(20, 65);
        assertThat(split.getOrDefault("v1", 0) + split.getOrDefault("v2", 0)).isEqualTo(200);
        for (Ws ws : established) {
          assertThat(ws.ask("during-shift")).isEqualTo("v1");
        }

        // promotion: v2 stable, canary gone; v1 drains, its WebSockets stay
        ebb.writeAndAwaitPublish(yaml(listenerPort, "v2", null, null, p1, p2));
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
            .until(() -> probe(listenerPort, 10).keySet().equals(java.util.Set.of("v2")));
        assertThat(probe(listenerPort, 30)).containsOnlyKeys("v2");
        assertThat(backendState(ebb, "v1")).isEqualTo("draining");
        for (Ws ws : established) {
          assertThat(ws.isOpen()).as("established WebSocket after the promotion").isTrue();
          assertThat(ws.ask("after-promotion")).isEqualTo("v1");
        }
        assertThat(v1.open.get()).as("WebSockets v1 still holds").isEqualTo(established.size());
        envoy.assertNoListenerModifiedAndNothingRejected("cds", "lds", "rds");
        assertThat(ebb.nacks).as("NACKs Ebb received").isEmpty();
        for (Ws ws : established) {
          ws.closeBlocking();
        }
      }
    }
  }
}
