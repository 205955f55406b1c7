package dev.ebb.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/** The admin HTTP server: /healthz, /readyz, /status, /config_dump. */
public final class AdminServer implements AutoCloseable {
  /** What the admin endpoints read. */
  public interface Backend {
    /** Empty when ready, else why not. */
    Optional<String> notReadyReason();

    Map<String, Object> status();

    Optional<String> configDump();

    /** Prometheus text format. */
    String metrics();
  }

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private final HttpServer server;

  public AdminServer(InetSocketAddress address, Backend backend) {
    this(address, backend, true);
  }

  /**
   * @param fleetView false for {@code --metrics-address}: only /metrics, /healthz and /readyz; /status and
   *     /config_dump describe the whole fleet and stay on the admin address (SPEC 11)
   */
  public AdminServer(InetSocketAddress address, Backend backend, boolean fleetView) {
    try {
      server = HttpServer.create(address, 64);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the admin server on " + address + ": " + e.getMessage(), e);
    }
    server.setExecutor(Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "ebb-admin");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/healthz", ex -> send(ex, 200, "text/plain", () -> "ok\n"));
    server.createContext("/readyz", ex -> {
      Optional<String> why = backend.notReadyReason();
      send(ex, why.isEmpty() ? 200 : 503, "text/plain", () -> why.map(w -> "not ready: " + w + "\n")
          .orElse("ready\n"));
    });
    server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4", backend::metrics));
    if (!fleetView) {
      return;
    }
    server.createContext("/status", ex -> send(ex, 200, "application/json",
        () -> write(backend.status())));
    server.createContext("/config_dump", ex -> {
      Optional<String> dump = backend.configDump();
      send(ex, dump.isPresent() ? 200 : 503, "application/json",
          () -> dump.orElse("{\"error\":\"no config published yet\"}"));
    });
  }

  public AdminServer start() {
    server.start();
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static String write(Object o) {
    try {
      return JSON.writeValueAsString(o) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void send(HttpExchange ex, int code, String type, Supplier<String> body) throws IOException {
    try (ex) {
      if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
        ex.sendResponseHeaders(405, -1);
        return;
      }
      byte[] bytes;
      int status = code;
      try {
        bytes = body.get().getBytes(StandardCharsets.UTF_8);
      } catch (RuntimeException e) {
        bytes = ("internal error: " + e + "\n").getBytes(StandardCharsets.UTF_8);
        status = 500;
      }
      ex.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
      ex.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
