package dev.ebb.kube;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ebb.api.text.Weights;
import dev.ebb.rollout.DesiredState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code ebb.dev/status} annotation: weights in effect, draining backends with start and deadline, the
 * last error. Rendered deterministically (no timestamps of its own), so an unchanged state is never
 * rewritten, and read back after a restart or a leader change to recover drains.
 */
public record RouteStatus(Map<String, Integer> weights, List<DrainEntry> draining, Optional<String> lastError,
    Optional<String> nodes, Map<String, Long> streams, List<EarlyEndEntry> endedEarly, Optional<String> writer) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One draining backend (its cluster name) of this route, with its open streams where load reports tell. */
  public record DrainEntry(String backend, Instant start, Instant deadline, Optional<Long> streams) {
    DrainEntry withoutStreams() {
      return new DrainEntry(backend, start, deadline, Optional.empty());
    }
  }

  /**
   * A drain the leader ended before its deadline because load reports showed it idle: every replica ends the
   * drain that started at {@code start} too (kept until the deadline, then every replica ends it anyway).
   */
  public record EarlyEndEntry(String backend, Instant start, Instant deadline, Instant at, String reason) {}

  /** The same status without stream counts and ACK progress: what decides whether a write is due at once. */
  RouteStatus withoutStreams() {
    return new RouteStatus(weights, draining.stream().map(DrainEntry::withoutStreams).toList(), lastError,
        Optional.empty(), Map.of(), endedEarly, writer);
  }

  public RouteStatus {
    weights = Map.copyOf(weights);
    draining = List.copyOf(draining);
    streams = Map.copyOf(streams);
    endedEarly = List.copyOf(endedEarly);
  }

  static RouteStatus of(DesiredState desired, dev.ebb.rollout.DrainState drainState, String route,
      Optional<String> lastError, java.util.function.Function<String, java.util.OptionalLong> streams,
      Optional<String> nodes, String writer) {
    Map<String, Long> open = new LinkedHashMap<>();
    Map<String, Integer> weights = new LinkedHashMap<>();
    desired.routes().stream().filter(r -> r.route().name().equals(route)).findFirst()
        .ifPresent(r -> r.shares().forEach((b, w) -> {
          weights.put(b, w);
          streams.apply(b).ifPresent(n -> open.put(b, n));
        }));
    List<DrainEntry> drains = new ArrayList<>();
    desired.backends().forEach(b -> b.drains().stream().filter(d -> d.route().equals(route))
        .forEach(d -> {
          java.util.OptionalLong n = streams.apply(d.backend());
          drains.add(new DrainEntry(d.backend(), d.start(), d.deadline(),
              n.isPresent() ? Optional.of(n.getAsLong()) : Optional.empty()));
        }));
    List<EarlyEndEntry> early = new ArrayList<>();
    drainState.endedEarly().forEach((k, x) -> {
      if (k.route().equals(route)) {
        early.add(new EarlyEndEntry(k.backend(), x.start(), x.deadline(), x.at(), x.reason()));
      }
    });
    return new RouteStatus(weights, drains, lastError, nodes, open, early, Optional.of(writer));
  }

  String render() {
    Map<String, Object> doc = new LinkedHashMap<>();
    Map<String, String> w = new LinkedHashMap<>();
    weights.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> w.put(e.getKey(), Weights.formatPercent(e.getValue())));
    doc.put("weights", w);
    List<Map<String, String>> d = new ArrayList<>();
    for (DrainEntry e : draining) {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("backend", e.backend());
      m.put("start", e.start().toString());
      m.put("deadline", e.deadline().toString());
      e.streams().ifPresent(n -> m.put("streams", String.valueOf(n)));
      d.add(m);
    }
    doc.put("draining", d);
    nodes.ifPresent(n -> doc.put("nodes", n));
    if (!streams.isEmpty()) {
      Map<String, String> st = new LinkedHashMap<>();
      streams.entrySet().stream().sorted(Map.Entry.comparingByKey())
          .forEach(e -> st.put(e.getKey(), String.valueOf(e.getValue())));
      doc.put("streams", st);
    }
    if (!endedEarly.isEmpty()) {
      List<Map<String, String>> x = new ArrayList<>();
      for (EarlyEndEntry e : endedEarly) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("backend", e.backend());
        m.put("start", e.start().toString());
        m.put("deadline", e.deadline().toString());
        m.put("at", e.at().toString());
        m.put("reason", e.reason());
        x.add(m);
      }
      doc.put("endedEarly", x);
    }
    lastError.ifPresent(e -> doc.put("lastError", e));
    writer.ifPresent(id -> doc.put("writer", id));
    try {
      return JSON.writeValueAsString(doc);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads an annotation back; empty when it is missing or not ours. */
  static Optional<RouteStatus> parse(String text) {
    if (text == null || text.isBlank()) {
      return Optional.empty();
    }
    try {
      JsonNode root = JSON.readTree(text);
      Map<String, Integer> weights = new LinkedHashMap<>();
      root.path("weights").properties().forEach(e ->
          weights.put(e.getKey(), Weights.parseBasisPoints(e.getValue().asText())));
      List<DrainEntry> drains = new ArrayList<>();
      for (JsonNode n : root.path("draining")) {
        drains.add(new DrainEntry(n.get("backend").asText(), Instant.parse(n.get("start").asText()),
            Instant.parse(n.get("deadline").asText()),
            n.has("streams") ? Optional.of(n.get("streams").asLong()) : Optional.empty()));
      }
      Optional<String> err = root.has("lastError") ? Optional.of(root.get("lastError").asText()) : Optional.empty();
      Optional<String> nodes = root.has("nodes") ? Optional.of(root.get("nodes").asText()) : Optional.empty();
      Map<String, Long> streams = new LinkedHashMap<>();
      root.path("streams").properties().forEach(e -> streams.put(e.getKey(), e.getValue().asLong()));
      List<EarlyEndEntry> early = new ArrayList<>();
      for (JsonNode n : root.path("endedEarly")) {
        early.add(new EarlyEndEntry(n.get("backend").asText(), Instant.parse(n.get("start").asText()),
            Instant.parse(n.get("deadline").asText()), Instant.parse(n.get("at").asText()),
            n.path("reason").asText("")));
      }
      Optional<String> writer = root.has("writer") ? Optional.of(root.get("writer").asText()) : Optional.empty();
      return Optional.of(new RouteStatus(weights, drains, err, nodes, streams, early, writer));
    } catch (JsonProcessingException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
