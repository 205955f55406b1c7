package dev.ebb.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code ebb status --admin URL}: the same table as from the cluster, read from a running Ebb's {@code /status}
 * (so a file-source Ebb has one too). Fails within the timeout, with a hint, when nothing answers.
 */
public final class AdminStatus {
  private static final ObjectMapper JSON = new ObjectMapper();

  private AdminStatus() {}

  /** GET {@code <admin>/status}, parsed. */
  public static JsonNode fetch(String admin, Duration timeout) {
    URI uri;
    try {
      uri = URI.create(admin.replaceAll("/+$", "") + "/status");
      if (uri.getScheme() == null || uri.getHost() == null) {
        throw new IllegalArgumentException("no scheme or host");
      }
    } catch (IllegalArgumentException e) {
      throw new RouteCli.CliException("--admin " + admin + " is not a URL like http://127.0.0.1:18001");
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).build();
    HttpResponse<String> response;
    try {
      response = http.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new RouteCli.CliException("no Ebb answers at " + uri + " (" + RouteCli.rootCause(e) + "); start one with"
          + " ./ebb serve, or name its admin address with --admin URL");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RouteCli.CliException("interrupted while reading " + uri);
    }
    if (response.statusCode() != 200) {
      throw new RouteCli.CliException(uri + " answered " + response.statusCode() + ": is this an Ebb admin port?");
    }
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new RouteCli.CliException(uri + " did not answer JSON: is this an Ebb admin port?");
    }
  }

  /** The table of a /status document. */
  public static void print(JsonNode status, PrintStream out) {
    List<StatusTable.Row> rows = new ArrayList<>();
    List<String> routeErrors = new ArrayList<>();
    for (JsonNode r : status.path("routes")) {
      String name = r.path("name").asText();
      List<String> hosts = new ArrayList<>();
      r.path("hosts").forEach(h -> hosts.add(h.asText()));
      String stable = backend(r, r.path("stable").asText("-"));
      String canary = r.has("canary") ? backend(r, r.path("canary").asText()) : "-";
      List<String> notes = new ArrayList<>();
      for (JsonNode d : r.path("draining")) {
        notes.add(d.path("backend").asText() + " drains, " + d.path("timeLeft").asText("?") + " left"
            + (d.has("streamsLeft") ? ", " + d.get("streamsLeft").asText() + " streams" : "")
            + (d.path("afterDrain").asText().startsWith("cluster stays") ? ", then stays warm" : ""));
      }
      // errors of this route (the source names the object "route <name>")
      for (JsonNode e : status.path("source").path("errors")) {
        if (e.path("object").asText().equals("route " + name)) {
          notes.add("error: " + e.path("message").asText());
          routeErrors.add(e.path("message").asText());
        }
      }
      rows.add(new StatusTable.Row(name, String.join(",", hosts), stable, canary,
          r.path("nodesOnCurrentWeights").asText("-"), notes));
    }
    List<String> others = new ArrayList<>();
    for (JsonNode e : status.path("errors")) {
      if (routeErrors.stream().noneMatch(m -> e.asText().contains(m))) {
        others.add(e.asText());
      }
    }
    String empty = status.has("routes") ? "(no routes)"
        : "(nothing published yet" + (status.path("ready").asBoolean() ? "" : ": not ready") + ")";
    StatusTable.print(rows, empty, others, out);
  }

  /** "chat-v1 80%, 12 streams": the backend's share in effect, and its open streams where load reports tell. */
  private static String backend(JsonNode route, String name) {
    String weight = route.path("weights").path(name).asText("(?)");
    JsonNode open = route.path("openStreams").path(name);
    return name + " " + weight + (open.isMissingNode() ? "" : ", " + open.asText() + " streams");
  }
}
