package dev.ebb.kube;

import dev.ebb.api.kube.Annotations;
import dev.ebb.api.kube.KubeObjects;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.text.Weights;
import dev.ebb.publish.Pipeline;
import dev.ebb.rollout.DrainState.RouteBackend;
import dev.ebb.source.SourceStatus;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one writer: every replica serves xDS, but only the holder of the Lease writes {@code ebb.dev/status}
 * on route Services and creates Events. Every second it compares what the status should say with what the
 * Service carries and patches only the difference (a JSON merge patch of one annotation), so its own writes
 * never cause another write. Every replica (leader or not) adopts the drain starts the leader recorded.
 */
public final class KubeStatusWriter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubeStatusWriter.class);
  static final Duration ADOPT_WINDOW = Duration.ofSeconds(5);

  private final KubernetesClient client;
  private final KubernetesSource source;
  private final Pipeline pipeline;
  private final Clock clock;
  private final String identity;
  private final String leaseNamespace;
  private final Duration leaseDuration;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "ebb-status-writer");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong eventCounter = new AtomicLong();
  private volatile boolean leader;
  /** Bumped on every change of leadership, so a queued take-over of a lost term does nothing. */
  private final AtomicLong terms = new AtomicLong();
  private volatile boolean closed;
  private volatile String currentLeader = "";
  private CompletableFuture<?> election;
  /** What Events were already told, per route: so a restart or a new leader does not repeat them. */
  private final Map<String, RouteStatus> told = new HashMap<>();
  private final Map<String, Set<String>> toldErrors = new HashMap<>();
  /** Drains whose deadline passed with streams open: route/backend to the count. */
  private final Map<String, Long> expiredWithStreams = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, java.time.Instant> lastWrite = new HashMap<>();
  private final Map<String, Backoff> backoff = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong failures = new AtomicLong();
  private volatile String lastFailure;
  private final java.util.function.DoubleSupplier jitter =
      () -> java.util.concurrent.ThreadLocalRandom.current().nextDouble();
  /** NACKs already told as Events: one Event per route, type, version and detail. */
  private final Set<String> toldRejections = java.util.Collections.newSetFromMap(
      new java.util.concurrent.ConcurrentHashMap<>());
  private volatile java.util.function.Function<String, java.util.OptionalLong> streams =
      b -> java.util.OptionalLong.empty();
  private volatile java.util.function.Supplier<java.util.Collection<dev.ebb.xds.StreamState>> cache = List::of;

  public KubeStatusWriter(KubernetesClient client, KubernetesSource source, Pipeline pipeline, Clock clock,
      String identity, String leaseNamespace, Duration leaseDuration) {
    this.client = client;
    this.source = source;
    this.pipeline = pipeline;
    this.clock = clock;
    this.identity = identity;
    this.leaseNamespace = leaseNamespace;
    this.leaseDuration = leaseDuration;
  }

  public KubeStatusWriter start() {
    elect();
    timer.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
    return this;
  }

  /** fabric8's elector runs once: after it loses the lease (an API outage), a new one competes again. */
  private synchronized void elect() {
    if (closed) {
      return;
    }
    election = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
        .withName("ebb")
        .withLock(new LeaseLock(leaseNamespace, "ebb-leader", identity))
        .withLeaseDuration(leaseDuration)
        .withRenewDeadline(leaseDuration.multipliedBy(2).dividedBy(3))
        .withRetryPeriod(leaseDuration.dividedBy(5))
        .withReleaseOnCancel(true)
        .withLeaderCallbacks(new LeaderCallbacks(
            () -> {
              LOG.info("{} is now the leader: writing status and events", identity);
              long term = terms.incrementAndGet();
              timer.execute(() -> takeOver(term));
            },
            () -> {
              LOG.info("{} is no longer the leader", identity);
              terms.incrementAndGet();
              leader = false;
            },
            newLeader -> currentLeader = newLeader))
        .build()).build().start();
    election.whenComplete((v, t) -> {
      terms.incrementAndGet();
      leader = false;
      if (!closed) {
        timer.schedule(this::elect, leaseDuration.dividedBy(5).toMillis(), TimeUnit.MILLISECONDS);
      }
    });
  }

  public boolean leader() {
    return leader;
  }

  /** This replica's identity (the Lease holder name when it leads). */
  public String identity() {
    return identity;
  }

  /** Where open streams per backend (load reports) and connected nodes (for ACK progress) come from. */
  public void streamsFrom(java.util.function.Function<String, java.util.OptionalLong> source,
      java.util.function.Supplier<java.util.Collection<dev.ebb.xds.StreamState>> nodes) {
    this.streams = source;
    this.cache = nodes;
  }

  /** Drains that just ended; an expired one with streams open gets a Warning Event. */
  public void drainsEnded(List<dev.ebb.metrics.EbbMetrics.EndedDrain> ended) {
    for (var e : ended) {
      if (e.drain().outcome() == dev.ebb.rollout.RolloutEngine.EndedDrain.Outcome.EXPIRED
          && e.openStreams().orElse(0L) > 0) {
        expiredWithStreams.put(e.drain().route() + "|" + e.drain().backend(), e.openStreams().get());
      }
    }
  }

  public String currentLeader() {
    return currentLeader;
  }

  /** A new leader starts from what the annotations say, so it does not repeat Events already written. */
  private void takeOver(long term) {
    if (term != terms.get()) {
      return; // lost the lease again before this ran
    }
    told.clear();
    toldErrors.clear();
    for (KubeObjects.Service s : source.services()) {
      RouteStatus.parse(s.annotations().get(Annotations.STATUS)).ifPresent(st -> {
        told.put(s.key(), st);
        st.lastError().ifPresent(e -> toldErrors.put(s.key(), new HashSet<>(List.of(e.split("; ")))));
      });
    }
    leader = term == terms.get();
  }

  private void tick() {
    try {
      adoptRecordedDrains();
      if (leader) {
        write();
      }
    } catch (RuntimeException e) {
      LOG.warn("status writer: {}; retrying in a second", e.toString());
    }
  }

  /** The leader's record: drain starts, and drains it ended early. Every replica follows it. */
  private void adoptRecordedDrains() {
    Map<RouteBackend, java.time.Instant> starts = new HashMap<>();
    Map<RouteBackend, dev.ebb.rollout.DrainState.EarlyEnd> ended = new HashMap<>();
    for (KubeObjects.Service s : source.services()) {
      RouteStatus.parse(s.annotations().get(Annotations.STATUS)).ifPresent(st -> {
        st.draining().forEach(d -> starts.put(new RouteBackend(s.key(), d.backend()), d.start()));
        st.endedEarly().forEach(x -> ended.put(new RouteBackend(s.key(), x.backend()),
            new dev.ebb.rollout.DrainState.EarlyEnd(x.start(), x.deadline(), x.at(), x.reason())));
      });
    }
    if (!starts.isEmpty() || !ended.isEmpty()) {
      pipeline.adoptRecord(starts, ended, ADOPT_WINDOW);
    }
  }

  /** How many status patches failed since start (each route's failures count). */
  public long failures() {
    return failures.get();
  }

  /** The last failed status patch (route, error, when), while some route is backing off. */
  public Optional<String> lastFailure() {
    return backoff.isEmpty() ? Optional.empty() : Optional.ofNullable(lastFailure);
  }

  private void write() {
    Optional<Pipeline.Published> published = pipeline.published();
    if (published.isEmpty()) {
      return;
    }
    SourceStatus status = source.status();
    Map<String, List<ConfigError>> errorsByRoute = status.errors().stream()
        .collect(Collectors.groupingBy(e -> e.object().replaceFirst("^service ", "").replaceFirst("^route ", "")));
    for (KubeObjects.Service s : source.services()) {
      if (!s.annotations().containsKey(Annotations.HOSTS)) {
        continue;
      }
      List<ConfigError> errors = new ArrayList<>(errorsByRoute.getOrDefault(s.key(), List.of()));
      // a listener's certificate problem concerns every route served on that listener (SPEC 10)
      errors.addAll(errorsByRoute.getOrDefault("listener " + s.annotations().getOrDefault(Annotations.LISTENER,
          dev.ebb.api.model.Route.DEFAULT_LISTENER), List.of()));
      Optional<String> lastError = errors.isEmpty() ? Optional.empty()
          : Optional.of(errors.stream().map(ConfigError::message).collect(Collectors.joining("; ")));
      Optional<String> nodes = published.get().desired().routes().stream()
          .filter(r -> r.route().name().equals(s.key())).findFirst()
          .map(r -> dev.ebb.admin.StatusReport.ackProgress(r, published.get(), List.copyOf(cache.get())));
      RouteStatus want = RouteStatus.of(published.get().desired(), published.get().drains(), s.key(), lastError,
          streams, nodes, identity);
      String rendered = want.render();
      String current = s.annotations().get(Annotations.STATUS);
      java.time.Instant now = clock.instant();
      Backoff b = backoff.get(s.key());
      if (!rendered.equals(current) && (b == null || !now.isBefore(b.next()))) {
        // stream counts alone change all the time: write them at most every 10 s
        boolean onlyStreams = RouteStatus.parse(current).map(RouteStatus::withoutStreams)
            .map(c -> c.equals(want.withoutStreams())).orElse(false);
        java.time.Instant last = lastWrite.get(s.key());
        if (!onlyStreams || last == null || now.isAfter(last.plusSeconds(10))) {
          // one route's failure (RBAC, a deleted Service, a conflict) never holds up the others
          try {
            patchStatus(s, rendered);
            lastWrite.put(s.key(), now);
            if (backoff.remove(s.key()) != null) {
              LOG.info("status of {} written again", s.key());
            }
          } catch (RuntimeException e) {
            Backoff next = Backoff.after(b, now, jitter);
            backoff.put(s.key(), next);
            failures.incrementAndGet();
            lastFailure = "status of service " + s.key() + " not written at " + now + " (failure " + next.failures()
                + ", next try in " + Duration.between(now, next.next()).toMillis() + " ms): " + e.getMessage();
            LOG.warn(lastFailure);
          }
        }
      }
      events(s, want, errors);
    }
    backoff.keySet().retainAll(source.services().stream().map(KubeObjects.Service::key).toList());
  }

  /** Per route: consecutive failures and when to try again (1 s doubling to 60 s, each with +-25% jitter). */
  record Backoff(int failures, java.time.Instant next) {
    static final Duration FIRST = Duration.ofSeconds(1);
    static final Duration MAX = Duration.ofSeconds(60);

    static Backoff after(Backoff previous, java.time.Instant now, java.util.function.DoubleSupplier jitter) {
      int n = previous == null ? 1 : previous.failures() + 1;
      long base = Math.min(MAX.toMillis(), FIRST.toMillis() << Math.min(n - 1, 16));
      long delay = Math.round(base * (0.75 + 0.5 * jitter.getAsDouble()));
      return new Backoff(n, now.plusMillis(delay));
    }
  }

  private void patchStatus(KubeObjects.Service s, String rendered) {
    client.services().inNamespace(s.namespace()).withName(s.name())
        .patch(PatchContext.of(PatchType.JSON_MERGE), statusPatch(rendered));
  }

  /** The JSON merge patch that sets the status annotation and nothing else. */
  static String statusPatch(String rendered) {
    return AnnotationPatch.of(Map.of(Annotations.STATUS, rendered));
  }

  private void events(KubeObjects.Service s, RouteStatus now, List<ConfigError> errors) {
    RouteStatus before = told.get(s.key());
    if (before == null || !before.weights().equals(now.weights())) {
      if (!now.weights().isEmpty()) {
        event(s, "Normal", "WeightApplied", "weights in effect: " + now.weights().entrySet().stream()
            .sorted(Map.Entry.comparingByKey())
            .map(e -> e.getKey() + " " + Weights.formatPercent(e.getValue()) + "%")
            .collect(Collectors.joining(", ")));
      }
    }
    Set<String> drainingBefore = before == null ? Set.of() : before.draining().stream()
        .map(RouteStatus.DrainEntry::backend).collect(Collectors.toSet());
    for (RouteStatus.DrainEntry d : now.draining()) {
      if (!drainingBefore.contains(d.backend())) {
        event(s, "Normal", "DrainStarted", "backend " + d.backend() + " drains until " + d.deadline()
            + " (new streams go elsewhere; established ones stay)");
      }
    }
    Set<String> drainingNow = now.draining().stream().map(RouteStatus.DrainEntry::backend)
        .collect(Collectors.toSet());
    for (String b : drainingBefore) {
      if (!drainingNow.contains(b)) {
        boolean cancelled = now.weights().getOrDefault(b, 0) > 0;
        // a backend the route still lists at 0% (a canary rolled back) keeps its cluster, warm, after its drain
        String cluster = now.weights().containsKey(b) ? "its cluster stays, warm at 0% (the route still lists it)"
            : "its cluster left the config";
        Long open = expiredWithStreams.remove(s.key() + "|" + b);
        if (open != null) {
          event(s, "Warning", "DrainFinished", "backend " + b + " reached its drain deadline with " + open
              + " streams still open; " + cluster + " (the streams run until the backend or the client closes"
              + " them)");
        } else {
          event(s, "Normal", "DrainFinished", "backend " + b + (cancelled
              ? " has weight again: drain cancelled" : " finished draining; " + cluster));
        }
      }
    }
    Set<String> seen = toldErrors.computeIfAbsent(s.key(), k -> new HashSet<>());
    for (ConfigError e : errors) {
      if (seen.add(e.message())) {
        if (e.object().startsWith("listener ")) {
          event(s, "Warning", "InvalidCertificate", e.message());
        } else {
          event(s, "Warning", "InvalidAnnotation", e.message() + "; the last good config stays in force");
        }
      }
    }
    seen.retainAll(errors.stream().map(ConfigError::message).collect(Collectors.toSet()));
    told.put(s.key(), now);
  }

  /**
   * A Warning Event on a route Service: a proxy rejected config for it. Written by the replica the proxy is
   * connected to, leader or not: only that replica knows of the NACK, so no other could tell it, and no two
   * replicas tell the same one. One Event per route and distinct rejection ({@code key}), not one per node.
   */
  public void configRejected(String namespace, String name, String key, String message) {
    if (!toldRejections.add(namespace + "/" + name + "|" + key)) {
      return;
    }
    if (toldRejections.size() > 10_000) {
      toldRejections.clear(); // bounded: a flood of distinct rejections may repeat an Event, never grow memory
    }
    source.services().stream().filter(s -> s.namespace().equals(namespace) && s.name().equals(name)).findFirst()
        .ifPresent(s -> timer.execute(() -> event(s, "Warning", "ConfigRejected", message)));
  }

  private void event(KubeObjects.Service s, String type, String reason, String message) {
    String now = clock.instant().toString();
    try {
      client.v1().events().inNamespace(s.namespace()).resource(new EventBuilder()
          .withNewMetadata()
          .withName(s.name() + "." + Long.toHexString(clock.millis()) + eventCounter.incrementAndGet())
          .withNamespace(s.namespace())
          .endMetadata()
          .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion("v1").withKind("Service")
              .withName(s.name()).withNamespace(s.namespace()).withUid(s.uid().isEmpty() ? null : s.uid()).build())
          .withType(type)
          .withReason(reason)
          .withMessage(message)
          .withFirstTimestamp(now)
          .withLastTimestamp(now)
          .withCount(1)
          .withNewSource().withComponent("ebb").withHost(identity).endSource()
          .withReportingComponent("ebb")
          .withReportingInstance(identity)
          .build()).create();
      LOG.info("event {} {} on service {}: {}", type, reason, s.key(), message);
    } catch (RuntimeException e) {
      LOG.warn("cannot create event {} on service {}: {}", reason, s.key(), e.toString());
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    if (election != null) {
      election.cancel(true);
    }
    timer.shutdownNow();
  }
}
