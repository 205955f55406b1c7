package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ebb.it.EnvoyWebSocketIT.Ws;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code routeScoping: host} in a real Envoy (SPEC 5): a listener whose connection manager uses scoped routes
 * (SRDS over ADS) routes each exact host by its own scope and RouteConfiguration, with or without a port in the
 * Host header; a weight change moves new WebSockets only; adding a host modifies no listener; Envoy rejects no
 * SRDS or RDS update; a host without a scope gets a 404 (no fallback scope). Needs Docker (see
 * {@link EnvoyFixture}); skipped, named with the reason on the build output's SKIPPED line, where there is none.
 */
@ExtendWith(EnvoyFixture.RequiresDocker.class)
class EnvoyScopedRoutesIT {
  @TempDir
  Path dir;

  /** chat (chat-v1, chat-v2 at {@code weight}) and news (news-v1), plus {@code extra}, on a scoped listener. */
  static String yaml(int listenerPort, String weight, int chat1, int chat2, int news1, String extra) {
    return """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: %d
            routeScoping: host
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            stable: chat-v1
            canary: chat-v2
            canaryWeight: %s
          - name: news
            hosts: ["news.example.com"]
            stable: news-v1
        %s
        backends:
          - name: chat-v1
            endpoints: ["127.0.0.1:%d"]
          - name: chat-v2
            endpoints: ["127.0.0.1:%d"]
          - name: news-v1
            endpoints: ["127.0.0.1:%d"]
        """.formatted(listenerPort, weight, extra, chat1, chat2, news1);
  }

  /** A new WebSocket through Envoy with this Host header, open. */
  static Ws open(int port, String host) throws InterruptedException {
    Ws ws = new Ws(URI.create("ws://127.0.0.1:" + port + "/chat"), host);
    assertThat(ws.connectBlocking(5, TimeUnit.SECONDS)).as("WebSocket through Envoy to " + host).isTrue();
    return ws;
  }

  static String askOnce(int port, String host) throws InterruptedException {
    Ws ws = open(port, host);
    try {
      return ws.ask("probe");
    } finally {
      ws.closeBlocking();
    }
  }

  /** The status line Envoy answers a plain GET with this Host header. */
  static String statusLine(int port, String host) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0 && c != '\r') {
        line.append((char) c);
      }
      return line.toString();
    }
  }

  @ParameterizedTest
  @EnumSource(EnvoyFixture.Ads.class)
  void eachHostIsRoutedByItsScopeAndOnlyNewWebSocketsFollowAShift(EnvoyFixture.Ads ads) throws Exception {
    int port = WebSocketBackend.freePort();
    try (WebSocketBackend chat1 = new WebSocketBackend("chat-v1", WebSocketBackend.freePort());
        WebSocketBackend chat2 = new WebSocketBackend("chat-v2", WebSocketBackend.freePort());
        WebSocketBackend news1 = new WebSocketBackend("news-v1", WebSocketBackend.freePort());
        WebSocketBackend sports1 = new WebSocketBackend("sports-v1", WebSocketBackend.freePort())) {
      for (WebSocketBackend b : List.of(chat1, chat2, news1, sports1)) {
        b.start();
      }
      int c1 = chat1.getPort();
      int c2 = chat2.getPort();
      int n1 = news1.getPort();
      try (EbbFixture ebb = new EbbFixture(dir, yaml(port, "0", c1, c2, n1, "")).start();
          EnvoyFixture envoy = EnvoyFixture.start(ebb.xdsPort(), ads, "envoy-scoped-" + ads.name().toLowerCase())) {
        // two hosts, two scopes, two backends; the Host header's port does not change the scope
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
            .until(() -> askOnce(port, "chat.example.com").equals("chat-v1"));
        assertThat(askOnce(port, "news.example.com")).isEqualTo("news-v1");
        assertThat(askOnce(port, "chat.example.com:" + port)).isEqualTo("chat-v1");
        // no scope, no route: SRDS has no wildcard and no fallback scope
        assertThat(statusLine(port, "other.example.com")).isEqualTo("HTTP/1.1 404 Not Found");

        List<Ws> established = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          Ws ws = open(port, "chat.example.com");
          assertThat(ws.ask("first" + i)).isEqualTo("chat-v1");
          established.add(ws);
        }
        Ws newsWs = open(port, "news.example.com");
        assertThat(newsWs.ask("first")).isEqualTo("news-v1");

        // everything to chat-v2 for new WebSockets: one small RouteConfiguration changes
        ebb.writeAndAwaitPublish(yaml(port, "100", c1, c2, n1, ""));
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
            .until(() -> askOnce(port, "chat.example.com").equals("chat-v2"));
        for (Ws ws : established) {
          assertThat(ws.isOpen()).isTrue();
          assertThat(ws.ask("still-there")).isEqualTo("chat-v1");
        }
        assertThat(newsWs.ask("still-there")).isEqualTo("news-v1");

        // a new host: a new scope and RouteConfiguration, the listener untouched
        String sports = """
              - name: sports
                hosts: ["sports.example.com"]
                stable: sports-v1
            """;
        String withSports = yaml(port, "100", c1, c2, n1, sports).replace("backends:\n",
            "backends:\n  - name: sports-v1\n    endpoints: [\"127.0.0.1:" + sports1.getPort() + "\"]\n");
        ebb.writeAndAwaitPublish(withSports);
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
            .until(() -> askOnce(port, "sports.example.com").equals("sports-v1"));
        for (Ws ws : established) {
          assertThat(ws.ask("after-new-host")).isEqualTo("chat-v1");
        }
        assertThat(newsWs.ask("after-new-host")).isEqualTo("news-v1");

        envoy.assertNoListenerModifiedAndNothingRejected("cds", "lds", "scoped_rds", "rds");
        assertThat(envoy.stats("scoped_rds")).as("Envoy's SRDS stats").anySatisfy((k, v) -> {
          assertThat(k).endsWith(".all_scopes");
          assertThat(v).isEqualTo(3L);
        });
        for (Ws ws : established) {
          ws.closeBlocking();
        }
        newsWs.closeBlocking();
      }
    }
  }
}
