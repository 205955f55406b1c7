package dev.ebb.metrics;

import dev.ebb.api.model.ConfigError;
import dev.ebb.load.LoadTracker;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Pipeline;
import dev.ebb.publish.TypeUrl;
import dev.ebb.rollout.DesiredState;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.source.Source;
import dev.ebb.xds.StreamState;
import dev.ebb.xds.XdsEvents;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Ebb's metrics (all named {@code ebb_*}, documented in docs/METRICS.md) and the JVM's, in Prometheus format.
 * It listens to the xDS cache and the pipeline; per-route and per-backend series are refreshed at scrape time.
 */
public final class EbbMetrics implements XdsEvents, Pipeline.Listener {
  /** A drain that ended, with the streams still open then (where known). */
  public record EndedDrain(RolloutEngine.EndedDrain drain, Optional<Long> openStreams, Instant at) {}

  private final PrometheusMeterRegistry registry;
  private final Timer propagation;
  private final Timer build;
  private final MultiGauge routeWeights;
  private final MultiGauge backendStreams;
  private final MultiGauge routeStreams;
  private final MultiGauge drainingBackends;
  private final LoadTracker load;
  private final Deque<EndedDrain> recent = new ArrayDeque<>();
  private final Set<String> seenErrors = new HashSet<>();
  private volatile Pipeline.Published published;
  private volatile Supplier<Source> source = () -> null;

  public EbbMetrics(Supplier<java.util.Collection<StreamState>> streams, LoadTracker load) {
    this(streams, load, true, MeterClock.REAL);
  }

  /**
   * Metrics nobody reads, without the JVM's meters (see {@link XdsEvents#idle()}), on a clock that leaps ahead (see
   * {@link MeterClock}).
   */
  @Override
  public EbbMetrics idle() {
    return new EbbMetrics(List::of, new LoadTracker(java.time.Clock.systemUTC()), false, MeterClock.LEAPING);
  }

  private EbbMetrics(Supplier<java.util.Collection<StreamState>> streams, LoadTracker load, boolean jvm,
      MeterClock clock) {
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT,
        new io.prometheus.metrics.model.registry.PrometheusRegistry(), clock);
    this.load = load;
    if (jvm) {
      new JvmMemoryMetrics().bindTo(registry);
      new JvmGcMetrics().bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new ClassLoaderMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
      new UptimeMetrics().bindTo(registry);
    }
    preRegister();
    propagation = Timer.builder("ebb.config.propagation")
        .description("From a source change being seen to a node ACKing everything it sent that node; one sample"
            + " per node per change")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
    build = Timer.builder("ebb.snapshot.build").description("Time to compute, translate and check one config")
        .publishPercentileHistogram().register(registry);
    routeWeights = MultiGauge.builder("ebb.route.weight.percent")
        .description("Share of a route's NEW streams per backend, in effect now").register(registry);
    backendStreams = MultiGauge.builder("ebb.backend.open.streams")
        .description("Streams in progress on a backend, summed over reporting nodes (load reports)")
        .register(registry);
    routeStreams = MultiGauge.builder("ebb.route.open.streams")
        .description("Streams in progress per route and backend (a backend shared by routes counts for each)")
        .register(registry);
    drainingBackends = MultiGauge.builder("ebb.drain.deadline.seconds")
        .description("Seconds until a backend's drain ends (it then leaves the config unless a route still lists it)")
        .register(registry);
    Gauge.builder("ebb.draining.backends", () -> Optional.ofNullable(published).map(p -> p.desired().backends()
        .stream().filter(DesiredState.BackendState::draining).count()).orElse(0L))
        .description("Backends draining now").register(registry);
    Gauge.builder("ebb.lrs.reporting.nodes", load::reportingNodes)
        .description("Nodes with an open load report stream that have sent a report").register(registry);
    Gauge.builder("ebb.config.generation", () -> Optional.ofNullable(published).map(Pipeline.Published::generation)
        .orElse(0L)).description("Configs published since start").register(registry);
    Gauge.builder("ebb.invalid.inputs", () -> Optional.ofNullable(source.get())
        .map(s -> s.status().errors().size()).orElse(0))
        .description("Inputs rejected now (their objects keep their last good config)").register(registry);
    for (String group : List.of("envoy", "grpc")) {
      for (String variant : List.of("sotw", "delta")) {
        Gauge.builder("ebb.xds.connected.nodes", () -> streams.get().stream()
                .filter(s -> s.group().map(NodeGroup::label).orElse("").equals(group))
                .filter(s -> s.delta() == variant.equals("delta")).count())
            .tags("group", group, "variant", variant)
            .description("Open ADS streams").register(registry);
      }
    }
  }

  private volatile java.util.function.LongSupplier statusWriteFailures = () -> 0;

  private void preRegister() {
    io.micrometer.core.instrument.FunctionCounter.builder("ebb.status.write.failures", this,
            m -> (double) m.statusWriteFailures.getAsLong())
        .description("Status annotation patches that failed (that route retries with backoff; others go on)")
        .register(registry);
    // every series exists from the start, at 0, so dashboards and alerts see it before the first event
    for (TypeUrl t : TypeUrl.values()) {
      pushes(t);
      pushBytes(t);
      acks(t);
      nacks(t);
    }
    for (RolloutEngine.EndedDrain.Outcome o : RolloutEngine.EndedDrain.Outcome.values()) {
      drainsEnded(o);
    }
    expiredWithStreams();
    expiredOpenStreams();
    rejectedInputs();
    for (String limit : java.util.List.of("streams", "streams-per-connection", "message-size", "load-report-size")) {
      limitHits(limit);
    }
    denials();
  }

  private Counter limitHits(String limit) {
    return Counter.builder("ebb.xds.limit.hits").tag("limit", limit)
        .description("xDS or load report streams refused at a limit (SPEC 11)").register(registry);
  }

  private Counter denials() {
    return Counter.builder("ebb.xds.authz.denied")
        .description("xDS or load report streams whose certificate may not claim their node cluster")
        .register(registry);
  }

  @Override
  public void limitHit(String limit, String detail) {
    limitHits(limit).increment();
  }

  @Override
  public void denied(String identity, String nodeCluster, String nodeId) {
    denials().increment();
  }

  private Counter pushes(TypeUrl type) {
    return Counter.builder("ebb.xds.pushes").tag("type", type.shortName()).description("xDS responses sent")
        .register(registry);
  }

  private Counter pushBytes(TypeUrl type) {
    return Counter.builder("ebb.xds.push.bytes").tag("type", type.shortName()).baseUnit("bytes")
        .description("Bytes of xDS responses sent").register(registry);
  }

  private Counter acks(TypeUrl type) {
    return Counter.builder("ebb.xds.acks").tag("type", type.shortName()).description("ACKs received")
        .register(registry);
  }

  private Counter nacks(TypeUrl type) {
    return Counter.builder("ebb.xds.nacks").tag("type", type.shortName()).description("NACKs received")
        .register(registry);
  }

  private Counter drainsEnded(RolloutEngine.EndedDrain.Outcome outcome) {
    return Counter.builder("ebb.drains.ended").tag("outcome", outcome.name().toLowerCase(java.util.Locale.ROOT))
        .description("Drains that ended: expired (deadline), idle (no open streams), cancelled (weight again)")
        .register(registry);
  }

  private Counter expiredWithStreams() {
    return Counter.builder("ebb.drains.expired.with.streams")
        .description("Drains whose deadline passed with streams still open").register(registry);
  }

  private Counter expiredOpenStreams() {
    return Counter.builder("ebb.drains.expired.open.streams")
        .description("Streams still open when their backend's drain expired").register(registry);
  }

  private Counter rejectedInputs() {
    return Counter.builder("ebb.rejected.inputs")
        .description("Rejected inputs (invalid values, YAML errors), each distinct message counted once")
        .register(registry);
  }

  /** Kubernetes: failed status patches (each route's failure counts; the route backs off and retries). */
  public void statusWriter(java.util.function.LongSupplier failures) {
    this.statusWriteFailures = failures;
  }

  public void watch(Supplier<Source> sourceSupplier) {
    this.source = sourceSupplier;
  }

  // ---- xDS events ----

  @Override
  public void pushed(StreamState stream, TypeUrl type, String version, int resources, int bytes) {
    pushes(type).increment();
    pushBytes(type).increment(bytes);
  }

  @Override
  public void acked(StreamState stream, TypeUrl type, String version) {
    acks(type).increment();
  }

  @Override
  public void nacked(StreamState stream, TypeUrl type, String version, String detail, Set<String> names) {
    nacks(type).increment();
  }

  @Override
  public void propagated(StreamState stream, Duration took) {
    propagation.record(took.isNegative() ? Duration.ZERO : took);
  }

  // ---- pipeline ----

  @Override
  public void built(Pipeline.Published p, Duration took) {
    published = p;
    build.record(took);
  }

  /** After every read of the source: each distinct rejection counts once, while it lasts. */
  public void sourceRead(dev.ebb.source.SourceStatus status) {
    synchronized (seenErrors) {
      List<String> now = status.errors().stream().map(ConfigError::message).toList();
      for (String e : now) {
        if (seenErrors.add(e)) {
          rejectedInputs().increment();
        }
      }
      seenErrors.retainAll(now);
    }
  }

  @Override
  public void drainsEnded(List<RolloutEngine.EndedDrain> ended, Instant now) {
    for (RolloutEngine.EndedDrain d : ended) {
      Optional<Long> open = d.outcome() == RolloutEngine.EndedDrain.Outcome.CANCELLED ? Optional.empty()
          : Optional.of(load.openStreams(d.backend())).filter(java.util.OptionalLong::isPresent)
              .map(java.util.OptionalLong::getAsLong);
      drainsEnded(d.outcome()).increment();
      if (d.outcome() == RolloutEngine.EndedDrain.Outcome.EXPIRED && open.orElse(0L) > 0) {
        expiredWithStreams().increment();
        expiredOpenStreams().increment(open.get());
      }
      synchronized (recent) {
        recent.addFirst(new EndedDrain(d, open, now));
        while (recent.size() > 50) {
          recent.removeLast();
        }
      }
    }
  }

  /** The last drains that ended, newest first. */
  public List<EndedDrain> recentDrains() {
    synchronized (recent) {
      return new ArrayList<>(recent);
    }
  }

  /** Prometheus text, with the per-route and per-backend series refreshed now. */
  public String scrape() {
    refresh();
    return registry.scrape();
  }

  private void refresh() {
    Pipeline.Published p = published;
    if (p == null) {
      return;
    }
    List<MultiGauge.Row<?>> weights = new ArrayList<>();
    List<MultiGauge.Row<?>> perRoute = new ArrayList<>();
    Map<String, LoadTracker.ClusterTotals> totals = load.totals();
    for (DesiredState.RouteState r : p.desired().routes()) {
      r.shares().forEach((b, w) -> weights.add(MultiGauge.Row.of(Tags.of("route", r.route().name(), "backend", b),
          w / 100.0)));
    }
    List<MultiGauge.Row<?>> perBackend = new ArrayList<>();
    List<MultiGauge.Row<?>> deadlines = new ArrayList<>();
    Instant now = Instant.now();
    for (DesiredState.BackendState b : p.desired().backends()) {
      String name = b.backend().name();
      LoadTracker.ClusterTotals t = totals.get(name);
      if (t != null) {
        perBackend.add(MultiGauge.Row.of(Tags.of("backend", name), t.openStreams()));
        p.desired().routes().stream().filter(r -> r.route().backendNames().contains(name))
            .forEach(r -> perRoute.add(MultiGauge.Row.of(Tags.of("route", r.route().name(), "backend", name),
                t.openStreams())));
        b.drains().stream().filter(d -> p.desired().routes().stream()
                .noneMatch(r -> r.route().name().equals(d.route()) && r.route().backendNames().contains(name)))
            .forEach(d -> perRoute.add(MultiGauge.Row.of(Tags.of("route", d.route(), "backend", name),
                t.openStreams())));
      }
      b.drains().forEach(d -> deadlines.add(MultiGauge.Row.of(Tags.of("route", d.route(), "backend", name),
          Math.max(0, Duration.between(now, d.deadline()).toMillis() / 1000.0))));
    }
    routeWeights.register(weights, true);
    backendStreams.register(perBackend, true);
    routeStreams.register(perRoute, true);
    drainingBackends.register(deadlines, true);
  }

  /**
   * Micrometer's clock, one class for the real registry and for the warm-up's twin. A timer's time window (its
   * {@code _max}) rotates at a record (or a scrape) that comes 40 s or more after the last rotation. The warm-up's
   * twin had recorded for less than that when the JIT compiled the record path (inlined into {@code XdsCache}'s call
   * to the listeners), so the code had no rotation in it, and the real timer's first record, at the first proxies' ACKs
   * minutes after it was made, sent that code back to the interpreter (a profile showed the recompilation: 135 ms
   * of a core, during the third change after a sync of 1,000 proxies). The twin's clock leaps ahead by
   * {@value #LEAP_MS} ms about every second and by {@value #BIG_LEAP_MS} ms more about every 8 s (every window
   * expired), so the warm-up's records rotate both ways. The real clock is the system's: its leaps are 0, computed
   * without a branch that the twin would have profiled one way only.
   */
  static final class MeterClock implements io.micrometer.core.instrument.Clock {
    static final long LEAP_MS = 41_000;
    static final long BIG_LEAP_MS = 130_000;
    static final MeterClock REAL = new MeterClock(0, 0);
    static final MeterClock LEAPING = new MeterClock(LEAP_MS, BIG_LEAP_MS);
    private final long leapMs;
    private final long bigLeapMs;
    private final long origin;

    private MeterClock(long leapMs, long bigLeapMs) {
      this(leapMs, bigLeapMs, System.nanoTime());
    }

    MeterClock(long leapMs, long bigLeapMs, long origin) {
      this.leapMs = leapMs;
      this.bigLeapMs = bigLeapMs;
      this.origin = origin;
    }

    /** How far ahead of the system's time: a leap about every 2^30 ns (1.07 s), a bigger one every 2^33 ns (8.6 s). */
    long aheadMs(long nanoTime) {
      long elapsed = nanoTime - origin;
      return (elapsed >>> 30) * leapMs + (elapsed >>> 33) * bigLeapMs;
    }

    @Override
    public long wallTime() {
      return System.currentTimeMillis() + aheadMs(System.nanoTime());
    }

    @Override
    public long monotonicTime() {
      long now = System.nanoTime();
      return now + aheadMs(now) * 1_000_000;
    }
  }
}
