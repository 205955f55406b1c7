package dev.ebb.it;

import static org.awaitility.Awaitility.await;

import dev.ebb.EbbServer;
import dev.ebb.translate.EnvoyTranslator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;

/** Ebb started in this JVM from a YAML file in a temporary directory, on free ports. */
final class EbbFixture implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  /** Short, so that load-report tests take seconds. */
  static final Duration LOAD_REPORT_INTERVAL = Duration.ofMillis(500);
  final Path dir;
  final Path file;
  private EbbServer server;
  private Clock clock = Clock.systemUTC();
  private dev.ebb.xds.XdsServer.Connections connections = dev.ebb.xds.XdsServer.Connections.DEFAULT;

  private java.util.Optional<java.net.InetSocketAddress> metricsAddress = java.util.Optional.empty();

  /** Also serve /metrics, /healthz and /readyz alone on a free loopback port; set before start. */
  EbbFixture withMetricsAddress() {
    this.metricsAddress = java.util.Optional.of(new java.net.InetSocketAddress("127.0.0.1", 0));
    return this;
  }

  /** xDS connection settings (TLS, limits); set before start. */
  EbbFixture withConnections(dev.ebb.xds.XdsServer.Connections c) {
    this.connections = c;
    return this;
  }
  /** Every NACK any node sent: "node type: detail", as the client wrote it. */
  final java.util.List<String> nacks = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Envoy's proto rules on every resource this Ebb sends; checked when the fixture closes. */
  final EnvoyRulesCheck rules = new EnvoyRulesCheck();

  EbbFixture(Path dir, String yaml) {
    this.dir = dir;
    this.file = dir.resolve("ebb.yaml");
    write(yaml);
  }

  EbbFixture start() {
    return start(0);
  }

  /** Runs on this clock (tests move it forward instead of waiting out a drain); set before start. */
  EbbFixture withClock(MovableClock c) {
    this.clock = c;
    return this;
  }

  /** Moves the fixture's clock forward; pending drain deadlines and timers follow at once. */
  void advance(Duration d) {
    ((MovableClock) clock).advance(d);
    server.clockChanged();
  }

  /** Starts on the given xDS port (0: any free one). */
  EbbFixture start(int xdsPort) {
    EbbServer.Config c = new EbbServer.Config(new EbbServer.SourceSpec.File(file), "127.0.0.1", xdsPort, "127.0.0.1", 0, Duration.ofMillis(20),
        Duration.ofMillis(200), Duration.ofSeconds(1), EnvoyTranslator.Settings.DEFAULT,
        LOAD_REPORT_INTERVAL, connections, metricsAddress);
    dev.ebb.xds.XdsEvents recordNacks = new dev.ebb.xds.XdsEvents() {
      @Override
      public void nacked(dev.ebb.xds.StreamState stream, dev.ebb.publish.TypeUrl type, String version, String detail,
          java.util.Set<String> names) {
        nacks.add(stream.nodeId() + " " + type.shortName() + ": " + detail);
      }
    };
    server = new EbbServer(c, clock, dev.ebb.xds.XdsEvents.both(recordNacks, rules), java.util.Optional.empty())
        .start();
    await().atMost(Duration.ofSeconds(10)).until(() -> server.notReadyReason().isEmpty());
    return this;
  }

  void stop() {
    if (server != null) {
      server.close();
      server = null;
    }
  }

  EbbServer server() {
    return server;
  }

  int xdsPort() {
    return server.xdsPort();
  }

  long generation() {
    return server.pipeline().generation();
  }

  /** Replaces the file the way editors do: a new file renamed over the old one. */
  void write(String yaml) {
    try {
      Path tmp = Files.createTempFile(dir, ".ebb", ".tmp");
      Files.writeString(tmp, yaml, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes the file and waits until a new config is published. */
  void writeAndAwaitPublish(String yaml) {
    long before = generation();
    write(yaml);
    await().atMost(Duration.ofSeconds(10)).until(() -> generation() > before);
  }

  String admin(String path) {
    return admin(server.adminPort(), path);
  }

  /** GET on an admin port: "status body". */
  static String admin(int port, String path) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() + " " + r.body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    stop();
    rules.assertNone();
  }

  /** The YAML of one route "chat" with hosts chat.example.com, backends v1 and v2 on the given ports. */
  static String chat(String protocol, String stable, String canary, String weight, int v1Port, int v2Port) {
    return """
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            protocol: %s
            stable: %s
        %s
        backends:
          - name: v1
            endpoints: ["127.0.0.1:%d"]
          - name: v2
            endpoints: ["127.0.0.1:%d"]
        """.formatted(protocol, stable,
        canary == null ? "" : "    canary: " + canary + "\n    canaryWeight: " + weight, v1Port, v2Port);
  }
}
