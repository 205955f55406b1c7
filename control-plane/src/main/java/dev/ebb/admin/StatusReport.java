package dev.ebb.admin;

import dev.ebb.api.model.ConfigError;
import dev.ebb.api.text.Durations;
import dev.ebb.api.text.Weights;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Pipeline;
import dev.ebb.publish.TypeUrl;
import dev.ebb.rollout.DesiredState;
import dev.ebb.source.SourceStatus;
import dev.ebb.xds.StreamState;
import dev.ebb.xds.XdsCache;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Builds the /status document: plain maps and lists, rendered as JSON by the admin server. */
public final class StatusReport {
  private StatusReport() {}

  public static Map<String, Object> build(SourceStatus source, Pipeline pipeline, XdsCache cache,
      dev.ebb.load.LoadTracker load, List<dev.ebb.metrics.EbbMetrics.EndedDrain> recentDrains, boolean ready,
      Instant now) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("ready", ready);
    doc.put("time", now.toString());
    doc.put("source", source(source));
    Optional<Pipeline.Published> published = pipeline.published();
    List<StreamState> streams = cache.streams().stream()
        .sorted(Comparator.comparing(StreamState::nodeId).thenComparingLong(StreamState::id)).toList();
    published.ifPresent(p -> {
      doc.put("config", Map.of("version", p.snapshot().version(), "publishedAt", p.at().toString()));
      List<Object> routes = new ArrayList<>();
      Map<String, dev.ebb.load.LoadTracker.ClusterTotals> totals = load.totals();
      int reporting = load.reportingNodes();
      for (DesiredState.RouteState r : p.desired().routes()) {
        Map<String, Object> route = route(r, p, streams);
        if (reporting > 0) {
          Map<String, Long> open = new LinkedHashMap<>();
          r.route().backendNames().forEach(b -> open.put(b, Optional.ofNullable(totals.get(b))
              .map(dev.ebb.load.LoadTracker.ClusterTotals::openStreams).orElse(0L)));
          route.put("openStreams", open);
        }
        route.put("draining", p.desired().backends().stream().flatMap(b -> b.drains().stream())
            .filter(d -> d.route().equals(r.route().name())).map(d -> drain(d, now, load, p.desired())).toList());
        routes.add(route);
      }
      doc.put("loadReports", Map.of("reportingNodes", reporting,
          "rule", "a drain ends early once every reporting node has reported, since it began, no stream in"
              + " progress or started on the backend (in two reports, or one followed by two intervals of silence);"
              + " with no reporting node, or while a grpc-js-xds node reports, it runs to its deadline; on"
              + " Kubernetes the leader decides and every replica follows its record"));
      // drains of routes that no longer exist
      List<Object> orphans = p.desired().backends().stream().flatMap(b -> b.drains().stream())
          .filter(d -> p.desired().routes().stream().noneMatch(r -> r.route().name().equals(d.route())))
          .map(d -> (Object) drain(d, now, load, p.desired())).toList();
      doc.put("drainsOfRemovedRoutes", orphans);
      doc.put("routes", routes);
      List<Object> backends = new ArrayList<>();
      for (DesiredState.BackendState b : p.desired().backends()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", b.backend().name());
        m.put("endpoints", b.backend().endpoints().stream()
            .map(e -> e.hostPort() + (e.zone().isEmpty() ? "" : " zone=" + e.zone()) + " " + e.state()
                .name().toLowerCase(java.util.Locale.ROOT)).toList());
        m.put("state", b.draining() ? "draining" : warm(b.backend().name(), p.desired()) ? "warm" : "active");
        if (b.draining()) {
          m.put("drains", b.drains().stream().map(d -> drain(d, now, load, p.desired())).toList());
        }
        backends.add(m);
      }
      doc.put("backends", backends);
      // SPEC 10: which certificate each TLS listener serves (never the key)
      doc.put("listeners", p.desired().listeners().stream().map(l -> {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", l.name());
        m.put("address", l.address() + ":" + l.port());
        l.secretName().ifPresent(n -> {
          m.put("tlsSecret", n);
          p.desired().secrets().stream().filter(sec -> sec.name().equals(n)).findFirst()
              .ifPresent(sec -> m.put("certificate", sec.summary()));
        });
        return (Object) m;
      }).toList());
      doc.put("recentDrains", recentDrains.stream().limit(20).map(e -> {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("route", e.drain().route());
        m.put("backend", e.drain().backend());
        m.put("start", e.drain().start().toString());
        m.put("deadline", e.drain().deadline().toString());
        m.put("ended", e.at().toString());
        m.put("outcome", e.drain().outcome().name().toLowerCase(java.util.Locale.ROOT));
        e.openStreams().ifPresent(n -> m.put("streamsOpenAtEnd", n));
        if (e.drain().outcome() != dev.ebb.rollout.RolloutEngine.EndedDrain.Outcome.CANCELLED) {
          m.put("cluster", e.drain().keptBy().map(r -> "kept: route " + r + " still lists " + e.drain().backend())
              .orElse("removed"));
        }
        return m;
      }).toList());
    });
    List<Object> nodes = new ArrayList<>();
    for (StreamState s : streams) {
      nodes.add(node(s));
    }
    doc.put("nodes", nodes);
    List<String> errors = new ArrayList<>();
    source.errors().forEach(e -> errors.add(e.describe()));
    pipeline.lastError().ifPresent(errors::add);
    for (StreamState s : streams) {
      for (StreamState.TypeStatus t : s.typeStatus()) {
        t.nackDetail().ifPresent(d -> errors.add("node " + s.nodeId() + " rejected " + t.type().shortName()
            + " version " + t.nackedVersion().orElse("?") + ": " + d));
      }
    }
    doc.put("errors", errors);
    doc.put("warnings", source.warnings().stream().map(ConfigError::describe).toList());
    return doc;
  }

  private static Map<String, Object> source(SourceStatus s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", s.kind());
    m.put("location", s.location());
    m.put("synced", s.synced());
    m.put("drainState", s.drainState());
    s.lastChange().ifPresent(t -> m.put("lastChange", t.toString()));
    m.put("errors", s.errors().stream().map(StatusReport::error).toList());
    m.put("warnings", s.warnings().stream().map(StatusReport::error).toList());
    return m;
  }

  private static Map<String, Object> error(ConfigError e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("message", e.message());
    m.put("object", e.object());
    m.put("field", e.field());
    m.put("value", e.value());
    e.location().ifPresent(l -> m.put("location", l));
    return m;
  }

  private static Map<String, Object> route(DesiredState.RouteState r, Pipeline.Published p,
      List<StreamState> streams) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", r.route().name());
    m.put("hosts", r.route().hosts());
    m.put("listener", r.route().listener());
    m.put("protocol", r.route().protocol().wireName());
    m.put("pathPrefix", r.route().pathPrefix());
    m.put("stable", r.route().rollout().stable());
    r.route().rollout().canary().ifPresent(c -> m.put("canary", c));
    Map<String, String> weights = new LinkedHashMap<>();
    r.shares().forEach((b, w) -> weights.put(b, Weights.formatPercent(w) + "%"));
    m.put("weights", weights);
    m.put("drainTimeout", Durations.format(r.route().drainTimeout()));
    m.put("idleTimeout", Durations.format(r.route().idleTimeout()));
    r.route().maxStreamDuration().ifPresent(d -> m.put("maxStreamDuration", Durations.format(d)));
    m.put("nodesOnCurrentWeights", ackProgress(r, p, streams));
    return m;
  }

  /**
   * ACK progress of a route: "9/10" means 10 connected nodes subscribe to the RouteConfiguration that carries
   * this route and 9 of them have ACKed the version they should have now.
   */
  public static String ackProgress(DesiredState.RouteState r, Pipeline.Published p, List<StreamState> streams) {
    int total = 0;
    int current = 0;
    for (StreamState s : streams) {
      Optional<NodeGroup> g = s.group();
      if (g.isEmpty()) {
        continue;
      }
      String rcName = g.get().envoy() ? envoyRouteName(r, p) : r.route().hosts().get(0);
      var res = p.snapshot().view(g.get()).of(TypeUrl.ROUTE).get(rcName);
      if (res == null || !s.subscribed(TypeUrl.ROUTE, rcName)) {
        continue;
      }
      total++;
      if (s.ackedHash(TypeUrl.ROUTE, rcName).map(h -> h.equals(res.hash())).orElse(false)) {
        current++;
      }
    }
    return current + "/" + total;
  }

  /**
   * The RouteConfiguration that carries a route to Envoy nodes: the listener's, or, on a listener that scopes
   * routes by host, the one of the route's first exact host.
   */
  static String envoyRouteName(DesiredState.RouteState r, Pipeline.Published p) {
    String listener = r.route().listener();
    boolean scoped = p.desired().listeners().stream()
        .anyMatch(l -> l.name().equals(listener) && l.scopesRoutesByHost());
    if (!scoped) {
      return listener;
    }
    return r.route().hosts().stream().filter(h -> !h.startsWith("*")).findFirst()
        .map(h -> dev.ebb.translate.EnvoyTranslator.scopedRouteName(listener, h)).orElse(listener);
  }

  private static Map<String, Object> drain(DesiredState.Drain d, Instant now, dev.ebb.load.LoadTracker load,
      DesiredState desired) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("route", d.route());
    m.put("backend", d.backend());
    m.put("start", d.start().toString());
    m.put("deadline", d.deadline().toString());
    java.time.Duration left = java.time.Duration.between(now, d.deadline());
    m.put("timeLeft", left.isNegative() ? "0" : Durations.format(left.withNanos(0)));
    load.openStreams(d.backend()).ifPresent(n -> m.put("streamsLeft", n));
    // what the end of this drain does: a backend a route still lists (a canary at 0%) stays, warm
    m.put("afterDrain", desired.routes().stream().filter(r -> r.route().backendNames().contains(d.backend()))
        .findFirst().map(r -> "cluster stays: route " + r.route().name() + " lists it at "
            + Weights.formatPercent(r.shares().get(d.backend())) + "%")
        .orElse("cluster leaves the config"));
    return m;
  }

  /** A backend every route that lists it gives 0% (a canary rolled back, its drain over): kept warm. */
  private static boolean warm(String backend, DesiredState desired) {
    List<DesiredState.RouteState> listing = desired.routes().stream()
        .filter(r -> r.route().backendNames().contains(backend)).toList();
    return !listing.isEmpty() && listing.stream().allMatch(r -> r.shares().get(backend) == 0);
  }

  private static Map<String, Object> node(StreamState s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", s.nodeId());
    s.node().ifPresent(n -> {
      m.put("cluster", n.getCluster());
      m.put("userAgent", n.getUserAgentName());
    });
    m.put("group", s.group().map(NodeGroup::label).orElse("unknown"));
    m.put("variant", s.delta() ? "delta" : "sotw");
    m.put("connectedAt", s.opened().toString());
    Map<String, Object> types = new LinkedHashMap<>();
    for (StreamState.TypeStatus t : s.typeStatus()) {
      Map<String, Object> tm = new LinkedHashMap<>();
      t.sentVersion().ifPresent(v -> tm.put("sent", v));
      t.ackedVersion().ifPresent(v -> tm.put("acked", v));
      t.ackedAt().ifPresent(v -> tm.put("ackedAt", v.toString()));
      t.nackedVersion().ifPresent(v -> tm.put("nacked", v));
      t.nackDetail().ifPresent(v -> tm.put("nackDetail", v));
      t.nackedAt().ifPresent(v -> tm.put("nackedAt", v.toString()));
      tm.put("nacks", t.nacks());
      tm.put("resources", t.resources());
      types.put(t.type().shortName(), tm);
    }
    m.put("types", types);
    return m;
  }
}
