package dev.ebb.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Envoy pod's shutdown sequence against a stand-in for Envoy's admin API (no Envoy binary here; the paths and
 * the stats format are Envoy's: /healthcheck/fail, /drain_listeners?graceful, "server.total_connections: N").
 */
class EnvoyDrainTest {
  @TempDir
  Path dir;
  final List<String> calls = new CopyOnWriteArrayList<>();
  final AtomicLong connections = new AtomicLong();
  HttpServer envoy;

  URI startEnvoy(long open, boolean closeOnePerPoll) throws Exception {
    connections.set(open);
    envoy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    envoy.createContext("/", e -> {
      calls.add(e.getRequestMethod() + " " + e.getRequestURI());
      String body = "";
      if (e.getRequestURI().getPath().equals("/stats")) {
        long n = connections.get();
        body = "server.total_connections: " + n + "\n";
        if (closeOnePerPoll && n > 0) {
          connections.decrementAndGet();
        }
      }
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      e.sendResponseHeaders(200, b.length == 0 ? -1 : b.length);
      try (OutputStream out = e.getResponseBody()) {
        out.write(b);
      }
    });
    envoy.start();
    return URI.create("http://127.0.0.1:" + envoy.getAddress().getPort());
  }

  @AfterEach
  void stop() {
    if (envoy != null) {
      envoy.stop(0);
    }
  }

  EnvoyDrain drain(URI admin) {
    return new EnvoyDrain(admin, Clock.systemUTC(), m -> {});
  }

  @Test
  void failsHealthChecksThenDrainsThenWaitsForTheLastConnection() throws Exception {
    URI admin = startEnvoy(3, true);
    Path done = dir.resolve("drained");
    EnvoyDrain.Result r = drain(admin).run(Duration.ofSeconds(10), Duration.ofMillis(10), done);
    assertThat(r.drained()).isTrue();
    assertThat(r.openAtEnd()).hasValue(0);
    assertThat(calls.subList(0, 2)).containsExactly("POST /healthcheck/fail",
        "POST /drain_listeners?graceful");
    assertThat(calls.subList(2, calls.size())).hasSize(4).allMatch(c -> c.startsWith("GET /stats?filter="));
    assertThat(done).exists();
  }

  @Test
  void stopsWaitingAtTheTimeoutAndStillReleasesThePod() throws Exception {
    URI admin = startEnvoy(7, false); // a WebSocket that never closes
    Path done = dir.resolve("drained");
    EnvoyDrain.Result r = drain(admin).run(Duration.ofMillis(300), Duration.ofMillis(20), done);
    assertThat(r.drained()).isFalse();
    assertThat(r.openAtEnd()).hasValue(7);
    assertThat(r.took()).isGreaterThanOrEqualTo(Duration.ofMillis(300)).isLessThan(Duration.ofSeconds(5));
    assertThat(done).exists();
  }

  @Test
  void anEnvoyThatIsAlreadyGoneIsDrained() throws Exception {
    Path done = dir.resolve("sub/drained");
    EnvoyDrain.Result r = drain(URI.create("http://127.0.0.1:1")).run(Duration.ofSeconds(10), Duration.ofMillis(10),
        done);
    assertThat(r.drained()).isTrue();
    assertThat(done).exists();
  }

  @Test
  void shutdownAnswersOnlyOnceTheDrainIsDone() throws Exception {
    URI admin = startEnvoy(2, true);
    Path done = dir.resolve("drained");
    try (ShutdownManager m = new ShutdownManager(new InetSocketAddress("127.0.0.1", 0), done,
        Duration.ofMillis(10)).start()) {
      CompletableFuture<HttpResponse<String>> preStop = HttpClient.newHttpClient().sendAsync(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + m.port() + "/shutdown")).build(), HttpResponse.BodyHandlers.ofString());
      // Envoy's preStop hook waits while the drain has not run
      await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !preStop.isDone());
      assertThat(Files.exists(done)).isFalse();
      drain(admin).run(Duration.ofSeconds(10), Duration.ofMillis(10), done);
      HttpResponse<String> r = preStop.get(5, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("drained\n");
    }
  }
}
