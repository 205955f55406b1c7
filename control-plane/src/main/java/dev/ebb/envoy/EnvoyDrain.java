package dev.ebb.envoy;

import java.io.IOException;
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
import java.time.Instant;
import java.util.OptionalLong;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Drains an Envoy pod that is being terminated, the way long-lived streams need it (Contour's shutdown-manager
 * and Envoy Gateway's drain are the anchors): fail health checks first, so the readiness probe takes the pod
 * out of its Service and load balancers stop sending new connections; then drain the listeners gracefully
 * (HTTP/1 connections get {@code Connection: close}, HTTP/2 a GOAWAY; an upgraded WebSocket gets nothing and
 * lives on). Every listener is drained, not only inbound ones ({@code inboundonly} is for sidecars and depends on
 * each listener's {@code traffic_direction}); then wait until no downstream connection is left
 * or the timeout passes; then write the done file
 * that releases the Envoy container's preStop hook (see {@link ShutdownManager}).
 */
public final class EnvoyDrain {
  private static final Pattern TOTAL = Pattern.compile("(?m)^server\\.total_connections: (\\d+)\\s*$");

  /** What a drain did, for the log and the tests. */
  public record Result(boolean drained, OptionalLong openAtEnd, Duration took) {}

  private final URI admin;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Clock clock;
  private final Consumer<String> log;

  public EnvoyDrain(URI admin, Clock clock, Consumer<String> log) {
    this.admin = admin;
    this.clock = clock;
    this.log = log;
  }

  /**
   * Runs the drain; never throws for Envoy's sake (an Envoy that is already gone is drained). The done file is
   * written in every case, so the pod never waits longer than {@code timeout} plus one poll.
   */
  public Result run(Duration timeout, Duration poll, Path doneFile) throws InterruptedException {
    Instant start = clock.instant();
    Instant deadline = start.plus(timeout);
    post("/healthcheck/fail");
    post("/drain_listeners?graceful");
    OptionalLong open = openConnections();
    while (open.isPresent() && open.getAsLong() > 0 && clock.instant().isBefore(deadline)) {
      log.accept("envoy-drain: " + open.getAsLong() + " downstream connections open; waiting (until "
          + deadline + ")");
      Thread.sleep(Math.max(1, Math.min(poll.toMillis(), Duration.between(clock.instant(), deadline).toMillis())));
      open = openConnections();
    }
    boolean drained = open.isEmpty() || open.getAsLong() == 0;
    Duration took = Duration.between(start, clock.instant());
    log.accept(drained ? "envoy-drain: no connection left after " + took.toSeconds() + " s"
        : "envoy-drain: timeout " + timeout.toSeconds() + " s reached with " + open.getAsLong()
            + " connections open; Envoy stops now and closes them");
    writeDone(doneFile);
    return new Result(drained, open, took);
  }

  private void post(String path) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(admin.resolve(path))
          .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      log.accept("envoy-drain: POST " + path + " -> " + r.statusCode());
    } catch (IOException e) {
      log.accept("envoy-drain: POST " + path + " failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Envoy's {@code server.total_connections}; empty when Envoy does not answer (it is gone: nothing to wait for). */
  OptionalLong openConnections() {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
          admin.resolve("/stats?filter=%5Eserver%5C.total_connections%24")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      Matcher m = TOTAL.matcher(r.body());
      return r.statusCode() == 200 && m.find() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
    } catch (IOException e) {
      return OptionalLong.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OptionalLong.empty();
    }
  }

  static void writeDone(Path doneFile) {
    try {
      Path dir = doneFile.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, ".drained", ".tmp");
      Files.writeString(tmp, Instant.now() + "\n");
      Files.move(tmp, doneFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot write " + doneFile + ": " + e.getMessage(), e);
    }
  }
}
