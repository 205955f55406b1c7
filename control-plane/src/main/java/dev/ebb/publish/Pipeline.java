package dev.ebb.publish;

import dev.ebb.api.model.Model;
import dev.ebb.rollout.DesiredState;
import dev.ebb.rollout.DrainState;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.translate.EnvoyTranslator;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * model -> rollout -> translate -> publish. Sources hand in models; a debounce batches them; each run builds
 * the desired state for "now" from the model and the drain state, translates it, checks it and, when its
 * content hash differs from the last one, publishes it to the cache. The next drain deadline schedules the
 * next run (a timer, not a polling loop).
 */
public final class Pipeline {
  private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

  /** What the last build produced, for /status and /readyz. */
  public record Published(XdsSnapshot snapshot, DesiredState desired, Instant at, long generation,
      DrainState drains) {}

  /** What the pipeline did, for metrics, load reporting and Events. Called on the pipeline's thread. */
  public interface Listener {
    Listener NONE = new Listener() {};

    /** After every build that published (or confirmed) a config. */
    default void built(Published published, Duration took) {}

    default void drainsEnded(List<RolloutEngine.EndedDrain> ended, Instant now) {}
  }

  private final Scheduler scheduler;
  private final EnvoyTranslator translator;
  private final SnapshotSink cache;
  private final DrainStore drainStore;
  private final RolloutEngine.IdleSignal idle;
  private final Duration idleCheck;
  private final Listener listener;
  private final Debouncer debouncer;
  private volatile Instant changeSeenAt;
  private final AtomicLong generation = new AtomicLong();
  private final AtomicLong builds = new AtomicLong();
  private volatile Model model;
  private volatile Published published;
  private volatile String lastError;
  private volatile String drainStoreProblem;
  private DrainState drains;
  private Scheduler.Cancellable wakeUp;
  private Instant wakeUpAt;

  public Pipeline(Scheduler scheduler, Duration quiet, Duration maxDelay, EnvoyTranslator translator,
      SnapshotSink cache, DrainStore drainStore) {
    this(scheduler, quiet, maxDelay, translator, cache, drainStore, RolloutEngine.IdleSignal.NONE, Duration.ZERO,
        Listener.NONE);
  }

  /**
   * @param idle load reports' verdict on draining backends (a drain may end early)
   * @param idleCheck while drains run, how often to ask {@code idle} again (zero: only at deadlines)
   */
  public Pipeline(Scheduler scheduler, Duration quiet, Duration maxDelay, EnvoyTranslator translator,
      SnapshotSink cache, DrainStore drainStore, RolloutEngine.IdleSignal idle, Duration idleCheck, Listener listener) {
    this.idle = idle;
    this.idleCheck = idleCheck;
    this.listener = listener;
    this.scheduler = scheduler;
    this.translator = translator;
    this.cache = cache;
    this.drainStore = drainStore;
    this.debouncer = new Debouncer(scheduler, quiet, maxDelay, this::build);
  }

  /** Reads the drain store at the first build: for Kubernetes, only the synced caches hold it. */
  private void loadDrains() {
    DrainStore.Loaded loaded = drainStore.load();
    drains = loaded.state();
    loaded.problem().ifPresent(p -> {
      drainStoreProblem = p;
      LOG.warn(p);
    });
    if (!drains.drains().isEmpty()) {
      LOG.info("resuming {} drains from the last run", drains.drains().size());
    }
  }

  /**
   * Drain starts another replica (the leader) recorded. A drain this replica runs too, started within
   * {@code window} of the recorded start, takes the recorded start, so every replica keeps one deadline.
   */
  public void adoptDrainStarts(java.util.Map<DrainState.RouteBackend, Instant> starts, Duration window) {
    adoptRecord(starts, java.util.Map.of(), window);
  }

  /**
   * What the leader recorded: drain starts (adopted as in {@link #adoptDrainStarts}) and drains it ended early
   * on load reports. A drain this replica runs with the same start (within {@code window}) ends here too, at
   * the next build: replicas never decide early ends on their own reports, so they publish the same config.
   */
  public void adoptRecord(java.util.Map<DrainState.RouteBackend, Instant> starts,
      java.util.Map<DrainState.RouteBackend, DrainState.EarlyEnd> endedEarly, Duration window) {
    scheduler.schedule(Duration.ZERO, () -> {
      if (drains == null) {
        return;
      }
      java.util.Map<DrainState.RouteBackend, DrainState.EarlyEnd> news = new java.util.TreeMap<>();
      endedEarly.forEach((key, end) -> {
        DrainState.DrainRecord mine = drains.drains().get(key);
        if (mine != null && !end.equals(drains.endedEarly().get(key))
            && Duration.between(mine.start(), end.start()).abs().compareTo(window) <= 0) {
          news.put(key, new DrainState.EarlyEnd(mine.start(), end.deadline(), end.at(), end.reason()));
        }
      });
      if (!news.isEmpty()) {
        drains = drains.withEndedEarly(news);
        debouncer.trigger();
      }
      java.util.SortedMap<DrainState.RouteBackend, DrainState.DrainRecord> adopted =
          new java.util.TreeMap<>(drains.drains());
      boolean changed = false;
      for (var e : starts.entrySet()) {
        DrainState.DrainRecord mine = adopted.get(e.getKey());
        if (mine != null && !mine.start().equals(e.getValue())
            && Duration.between(mine.start(), e.getValue()).abs().compareTo(window) <= 0) {
          adopted.put(e.getKey(), new DrainState.DrainRecord(e.getValue(), mine.timeout(), mine.endpoints(),
              mine.protocol()));
          changed = true;
        }
      }
      if (changed) {
        drains = new DrainState(drains.active(), adopted, drains.endedEarly());
        debouncer.trigger();
      }
    });
  }

  /** A source's new model. Nothing is published before the first one arrives. */
  public void submit(Model next) {
    if (changeSeenAt == null) {
      changeSeenAt = scheduler.now();
    }
    this.model = next;
    debouncer.trigger();
  }

  public Optional<Published> published() {
    return Optional.ofNullable(published);
  }

  /** The last build's problem, or the drain store's. */
  public Optional<String> lastError() {
    return Optional.ofNullable(lastError != null ? lastError : drainStoreProblem);
  }

  /** Monotonic count of snapshots handed to the cache; tests wait on it instead of sleeping. */
  public long generation() {
    return generation.get();
  }

  /** Monotonic count of completed builds (published or not). */
  public long builds() {
    return builds.get();
  }

  private void build() {
    Model m = model;
    if (m == null) {
      return;
    }
    Instant now = scheduler.now();
    Instant seen = changeSeenAt != null ? changeSeenAt : now;
    changeSeenAt = null;
    if (drains == null) {
      loadDrains();
    }
    long started = System.nanoTime();
    try {
      RolloutEngine.Result result = RolloutEngine.step(m, drains, now, idle);
      DesiredState desired = result.desired();
      XdsSnapshot snapshot = XdsSnapshot.of(translator.translate(desired),
          published == null ? null : published.snapshot());
      logDrainChanges(drains, result.next(), now);
      if (!result.next().equals(drains) || drainStoreProblem != null) {
        saveDrains(result.next()); // before any client hears of the change; most changes start or end no drain
      }
      drains = result.next();
      Published previous = published;
      if (previous != null && previous.snapshot().version().equals(snapshot.version())) {
        published = new Published(previous.snapshot(), desired, previous.at(), previous.generation(), drains);
      } else {
        long gen = generation.get() + 1;
        XdsSnapshot origin = snapshot.published(gen, seen);
        cache.publish(origin);
        generation.set(gen);
        published = new Published(origin, desired, now, gen, drains);
        LOG.info("published config {} ({} routes, {} clusters)", snapshot.version(), desired.routes().size(),
            desired.backends().size());
      }
      lastError = null;
      if (!result.ended().isEmpty()) {
        listener.drainsEnded(result.ended(), now);
      }
      listener.built(published, Duration.ofNanos(System.nanoTime() - started));
      Optional<Instant> wake = desired.nextChange();
      if (wake.isPresent() && !idleCheck.isZero() && now.plus(idleCheck).isBefore(wake.get())) {
        wake = Optional.of(now.plus(idleCheck)); // drains may end early on load reports: look again soon
      }
      scheduleWakeUp(wake);
    } catch (RuntimeException e) {
      lastError = "config not published: " + e.getMessage();
      LOG.error("config not published; the last good config stays in force", e);
      // drains keep their deadlines: try again soon rather than wait for the next change
      scheduleWakeUp(Optional.of(now.plusSeconds(1)));
    } finally {
      builds.incrementAndGet();
    }
  }

  private void saveDrains(DrainState next) {
    try {
      drainStore.save(next);
      drainStoreProblem = null;
    } catch (RuntimeException e) {
      drainStoreProblem = e.getMessage() + " (drains go on, but a restart now would forget them)";
      LOG.error(drainStoreProblem);
    }
  }

  private void scheduleWakeUp(Optional<Instant> at) {
    if (at.equals(Optional.ofNullable(wakeUpAt))) {
      return;
    }
    if (wakeUp != null) {
      wakeUp.cancel();
      wakeUp = null;
      wakeUpAt = null;
    }
    at.ifPresent(t -> {
      wakeUpAt = t;
      // the debounce runs it at the deadline (leading edge) or a little after, so a drain is never removed before
      // runs on the scheduler's one thread, like build()
      wakeUp = scheduler.schedule(Duration.between(scheduler.now(), t), () -> {
        wakeUpAt = null;
        wakeUp = null;
        debouncer.trigger();
      });
    });
  }

  private static void logDrainChanges(DrainState before, DrainState after, Instant now) {
    after.drains().forEach((k, d) -> {
      if (!before.drains().containsKey(k)) {
        LOG.info("route {}: backend {} drains from {} until {}", k.route(), k.backend(), d.start(), d.deadline());
      }
    });
    before.drains().forEach((k, d) -> {
      if (!after.drains().containsKey(k)) {
        boolean cancelled = after.active().containsKey(k);
        LOG.info("route {}: backend {} drain {} at {}", k.route(), k.backend(),
            cancelled ? "cancelled (it has weight again)" : "finished", now);
      }
    });
  }
}
