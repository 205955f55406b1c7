package dev.ebb.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import dev.ebb.publish.NodeGroup;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The admin HTTP server: /healthz, /readyz, /metrics, /status, /config_dump, and at / (and any unknown path, with a
 * 404) the list of them. {@code ?pretty} indents /config_dump (compact by default: it can be large); /status is
 * always indented, since people read it.
 */
public final class AdminServer implements AutoCloseable {
  /** What the admin endpoints read. */
  public interface Backend {
    /** Empty when ready, else why not. */
    Optional<String> notReadyReason();

    Map<String, Object> status();

    /** What /config_dump shows; empty before the first config is published. */
    Optional<ConfigDump.Input> configDump();

    /** Prometheus text format. */
    String metrics();
  }

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private final HttpServer server;
  private final Backend backend;

  public AdminServer(InetSocketAddress address, Backend backend) {
    this(address, backend, true);
  }

  /**
   * @param fleetView false for {@code --metrics-address}: only /metrics, /healthz and /readyz; /status and
   *     /config_dump describe the whole fleet and stay on the admin address (SPEC 11)
   */
  public AdminServer(InetSocketAddress address, Backend backend, boolean fleetView) {
    this.backend = backend;
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
    String index = index(fleetView);
    // "/" is also the context of every path no other context serves. On --metrics-address only the three
    // endpoints answer 200 (SPEC 11: they alone are exposed there); its 404s still say what it serves.
    server.createContext("/", ex -> {
      boolean root = ex.getRequestURI().getPath().equals("/") && fleetView;
      send(ex, root ? 200 : 404, "text/plain", () -> (root ? "" : "not found: " + ex.getRequestURI().getPath()
          + "\n\n") + index);
    });
    if (!fleetView) {
      return;
    }
    server.createContext("/status", ex -> send(ex, 200, "application/json", () -> write(backend.status())));
    server.createContext("/config_dump", this::configDump);
  }

  /** What / says: every endpoint of this server, with its parameters. */
  static String index(boolean fleetView) {
    StringBuilder sb = new StringBuilder("Ebb admin endpoints (GET):\n")
        .append("  /healthz                  200 while the process runs\n")
        .append("  /readyz                   200 once the source was read and a first config published; 503 and"
            + " why before\n")
        .append("  /metrics                  Prometheus metrics (docs/METRICS.md)\n");
    if (fleetView) {
      sb.append("  /status                   routes, weights in effect, drains, connected nodes (ACKs, NACKs),"
              + " errors and warnings; JSON, indented\n")
          .append("  /config_dump              the resources each node group gets; JSON, ?pretty to indent\n")
          .append("  /config_dump?group=ID     one node group, connected or not: grpc, envoy (no node.cluster) or"
              + " envoy:CLUSTER (e.g. envoy:sidecar)\n");
    } else {
      sb.append("(this is --metrics-address: /status, /config_dump and this list are served on the admin address)\n");
    }
    return sb.toString();
  }

  private void configDump(HttpExchange ex) throws IOException {
    Map<String, String> query = query(ex.getRequestURI().getRawQuery());
    boolean pretty = query.containsKey("pretty") && !query.get("pretty").equals("false");
    Optional<NodeGroup> only = Optional.empty();
    if (query.containsKey("group")) {
      String id = query.get("group");
      only = ConfigDump.group(id);
      if (only.isEmpty()) {
        send(ex, 400, "application/json", () -> write(Map.of("error", "group " + id + " is not grpc, envoy or"
            + " envoy:CLUSTER")));
        return;
      }
    }
    Optional<ConfigDump.Input> input = backend.configDump();
    if (input.isEmpty()) {
      send(ex, 503, "application/json", () -> write(Map.of("error", "no config published yet")));
      return;
    }
    List<NodeGroup> groups = only.map(List::of).orElseGet(() -> ConfigDump.groups(input.get()));
    send(ex, 200, "application/json", () -> ConfigDump.render(input.get(), groups, pretty));
  }

  /** {@code a=1&b} as {a: "1", b: ""}; the first of repeated names counts. */
  static Map<String, String> query(String raw) {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.putIfAbsent(name, value);
    }
    return out;
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
