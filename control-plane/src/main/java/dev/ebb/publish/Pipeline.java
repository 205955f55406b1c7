package dev.ebb.publish;

import dev.ebb.api.model.Model;
import dev.ebb.rollout.DesiredState;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.xds.XdsCache;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * model -> rollout -> translate -> publish. Sources hand in models; a debounce batches them; each run builds
 * the desired state for "now", translates it, checks it and, when its content hash differs from the last
 * one, publishes it to the cache.
 */
public final class Pipeline {
  private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

  /** What the last build produced, for /status and /readyz. */
  public record Published(XdsSnapshot snapshot, DesiredState desired, Instant at, long generation) {}

  private final Scheduler scheduler;
  private final EnvoyTranslator translator;
  private final XdsCache cache;
  private final Debouncer debouncer;
  private final AtomicLong generation = new AtomicLong();
  private volatile Model model;
  private volatile Published published;
  private volatile String lastError;

  public Pipeline(Scheduler scheduler, Duration quiet, Duration maxDelay, EnvoyTranslator translator,
      XdsCache cache) {
    this.scheduler = scheduler;
    this.translator = translator;
    this.cache = cache;
    this.debouncer = new Debouncer(scheduler, quiet, maxDelay, this::build);
  }

  /** A source's new model. Nothing is published before the first one arrives. */
  public void submit(Model next) {
    this.model = next;
    debouncer.trigger();
  }

  public Optional<Published> published() {
    return Optional.ofNullable(published);
  }

  public Optional<String> lastError() {
    return Optional.ofNullable(lastError);
  }

  /** Monotonic count of snapshots handed to the cache; tests wait on it instead of sleeping. */
  public long generation() {
    return generation.get();
  }

  private void build() {
    Model m = model;
    if (m == null) {
      return;
    }
    Instant now = scheduler.now();
    try {
      DesiredState desired = RolloutEngine.desired(m, now);
      XdsSnapshot snapshot = XdsSnapshot.of(translator.translate(desired));
      Published previous = published;
      if (previous != null && previous.snapshot().version().equals(snapshot.version())) {
        published = new Published(previous.snapshot(), desired, previous.at(), previous.generation());
      } else {
        cache.publish(snapshot);
        long gen = generation.incrementAndGet();
        published = new Published(snapshot, desired, now, gen);
        LOG.info("published config {} ({} routes, {} clusters)", snapshot.version(), desired.routes().size(),
            desired.backends().size());
      }
      lastError = null;
      desired.nextChange().ifPresent(at -> scheduler.schedule(Duration.between(scheduler.now(), at),
          debouncer::trigger));
    } catch (RuntimeException e) {
      lastError = "config not published: " + e.getMessage();
      LOG.error("config not published; the last good config stays in force", e);
    }
  }
}
