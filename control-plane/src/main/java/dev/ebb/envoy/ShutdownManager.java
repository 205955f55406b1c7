package dev.ebb.envoy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;

/**
 * The sidecar of an Envoy pod: {@code GET /shutdown} answers only once the drain is done (the done file
 * {@link EnvoyDrain} writes exists). The Envoy container's preStop hook calls it, so Envoy gets its SIGTERM only
 * after the drain; the sidecar's own preStop hook runs the drain. It has no liveness probe on purpose: a probe
 * that fails while the drain runs would restart it and cut the drain short (contour#4851).
 */
public final class ShutdownManager implements AutoCloseable {
  private final HttpServer server;
  private final Path doneFile;
  private final Duration poll;

  public ShutdownManager(InetSocketAddress address, Path doneFile, Duration poll) throws IOException {
    this.doneFile = doneFile;
    this.poll = poll;
    this.server = HttpServer.create(address, 16);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "shutdown-manager");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/shutdown", this::shutdown);
    server.createContext("/healthz", e -> reply(e, 200, "ok\n"));
  }

  public ShutdownManager start() {
    server.start();
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void shutdown(HttpExchange e) throws IOException {
    try {
      while (!Files.exists(doneFile)) {
        Thread.sleep(poll.toMillis());
      }
      reply(e, 200, "drained\n");
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      reply(e, 503, "interrupted\n");
    }
  }

  private static void reply(HttpExchange e, int code, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    e.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = e.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
