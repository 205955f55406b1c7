package dev.ebb.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.text.Durations;
import dev.ebb.publish.DrainStore;
import dev.ebb.rollout.DrainState;
import dev.ebb.rollout.DrainState.RouteBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The file source's drain state: JSON beside the YAML ({@code ebb.yaml} -> {@code ebb.yaml.ebb-state.json}) or
 * where {@code --state-file} says, written to a temporary file and renamed over the old one, so a crash never
 * leaves half a file.
 */
public final class FileDrainStore implements DrainStore {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private final Path file;
  private String lastWritten;

  public FileDrainStore(Path file) {
    this.file = file;
  }

  public static Path besides(Path yaml) {
    Path abs = yaml.toAbsolutePath().normalize();
    return abs.resolveSibling(abs.getFileName() + ".ebb-state.json");
  }

  public Path file() {
    return file;
  }

  @Override
  public Loaded load() {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return new Loaded(DrainState.EMPTY, Optional.empty());
    } catch (IOException e) {
      return new Loaded(DrainState.EMPTY, Optional.of("drain state " + file + " cannot be read (" + e
          + "); starting with no drains"));
    }
    try {
      JsonNode root = JSON.readTree(text);
      SortedMap<RouteBackend, DrainState.Active> active = new TreeMap<>();
      for (JsonNode n : array(root, "active")) {
        active.put(key(n), new DrainState.Active(Durations.parse(text(n, "drainTimeout")), List.of(), protocol(n)));
      }
      SortedMap<RouteBackend, DrainState.DrainRecord> drains = new TreeMap<>();
      for (JsonNode n : array(root, "drains")) {
        drains.put(key(n), new DrainState.DrainRecord(Instant.parse(text(n, "start")),
            Durations.parse(text(n, "timeout")), endpoints(n), protocol(n)));
      }
      SortedMap<RouteBackend, DrainState.EarlyEnd> endedEarly = new TreeMap<>();
      for (JsonNode n : array(root, "endedEarly")) {
        endedEarly.put(key(n), new DrainState.EarlyEnd(Instant.parse(text(n, "start")),
            Instant.parse(text(n, "deadline")), Instant.parse(text(n, "at")), n.path("reason").asText("")));
      }
      lastWritten = text;
      return new Loaded(new DrainState(active, drains, endedEarly), Optional.empty());
    } catch (IOException | RuntimeException e) {
      return new Loaded(DrainState.EMPTY, Optional.of("drain state " + file + " is corrupt (" + e.getMessage()
          + "); starting with no drains"));
    }
  }

  @Override
  public void save(DrainState state) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", 1);
    ArrayNode active = root.putArray("active");
    state.active().forEach((k, a) -> {
      ObjectNode n = active.addObject();
      n.put("route", k.route());
      n.put("backend", k.backend());
      n.put("drainTimeout", Durations.format(a.drainTimeout()));
      n.put("protocol", a.protocol().wireName());
      // no endpoints for active backends: they are in the YAML, and writing them on every change costs
    });
    ArrayNode drains = root.putArray("drains");
    state.drains().forEach((k, d) -> {
      ObjectNode n = drains.addObject();
      n.put("route", k.route());
      n.put("backend", k.backend());
      n.put("start", d.start().toString());
      n.put("timeout", Durations.format(d.timeout()));
      n.put("deadline", d.deadline().toString());
      n.put("protocol", d.protocol().wireName());
      putEndpoints(n, d.endpoints());
    });
    // drains ended early on load reports, until their deadline: a restart must not bring them back
    ArrayNode early = root.putArray("endedEarly");
    state.endedEarly().forEach((k, x) -> {
      ObjectNode n = early.addObject();
      n.put("route", k.route());
      n.put("backend", k.backend());
      n.put("start", x.start().toString());
      n.put("deadline", x.deadline().toString());
      n.put("at", x.at().toString());
      n.put("reason", x.reason());
    });
    try {
      String text = JSON.writeValueAsString(root) + "\n";
      if (text.equals(lastWritten)) {
        return;
      }
      Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
      try {
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
      lastWritten = text;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write drain state " + file + ": " + e
          + "; if its directory is read-only (a ConfigMap mount), give a writable path with --state-file PATH", e);
    }
  }

  private static void putEndpoints(ObjectNode n, List<Endpoint> endpoints) {
    ArrayNode eps = n.putArray("endpoints");
    for (Endpoint e : endpoints) {
      ObjectNode en = eps.addObject();
      en.put("address", e.address());
      en.put("port", e.port());
      if (!e.zone().isEmpty()) {
        en.put("zone", e.zone());
      }
      en.put("state", e.state().name().toLowerCase(java.util.Locale.ROOT));
    }
  }

  private static Iterable<JsonNode> array(JsonNode root, String field) {
    JsonNode a = root.get(field);
    if (a == null) {
      return List.of();
    }
    if (!a.isArray()) {
      throw new IllegalArgumentException(field + " is not a list");
    }
    return a;
  }

  private static dev.ebb.api.model.Protocol protocol(JsonNode n) {
    return dev.ebb.api.model.Protocol.parse(n.path("protocol").asText("websocket"))
        .orElse(dev.ebb.api.model.Protocol.WEBSOCKET);
  }

  private static RouteBackend key(JsonNode n) {
    return new RouteBackend(text(n, "route"), text(n, "backend"));
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException("missing " + field);
    }
    return v.asText();
  }

  private static List<Endpoint> endpoints(JsonNode n) {
    List<Endpoint> out = new ArrayList<>();
    for (JsonNode e : array(n, "endpoints")) {
      out.add(new Endpoint(text(e, "address"), e.get("port").asInt(), e.has("zone") ? e.get("zone").asText() : "",
          "draining".equals(text(e, "state")) ? EndpointState.DRAINING : EndpointState.READY));
    }
    return out;
  }
}
