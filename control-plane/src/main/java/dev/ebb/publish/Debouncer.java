package dev.ebb.publish;

import java.time.Duration;
import java.time.Instant;

/**
 * Batches bursts of changes: the action runs once things have been quiet for {@code quiet}, but never later
 * than {@code maxDelay} after the first change of a burst. Changes that arrive while the action runs are
 * merged into the next run. The action runs on the scheduler's thread, never twice at once.
 */
public final class Debouncer {
  private final Scheduler scheduler;
  private final Duration quiet;
  private final Duration maxDelay;
  private final Runnable action;
  private Instant firstPending;
  private Scheduler.Cancellable timer;
  private boolean running;
  private boolean dirtyWhileRunning;

  public Debouncer(Scheduler scheduler, Duration quiet, Duration maxDelay, Runnable action) {
    this.scheduler = scheduler;
    this.quiet = quiet;
    this.maxDelay = maxDelay;
    this.action = action;
  }

  /** Notes a change; the action will run within {@code maxDelay}. */
  public synchronized void trigger() {
    if (running) {
      dirtyWhileRunning = true;
      return;
    }
    Instant now = scheduler.now();
    if (firstPending == null) {
      firstPending = now;
    }
    Instant at = now.plus(quiet);
    Instant latest = firstPending.plus(maxDelay);
    if (at.isAfter(latest)) {
      at = latest;
    }
    if (timer != null) {
      timer.cancel();
    }
    timer = scheduler.schedule(Duration.between(now, at), this::fire);
  }

  private void fire() {
    synchronized (this) {
      timer = null;
      firstPending = null;
      running = true;
    }
    try {
      action.run();
    } finally {
      boolean again;
      synchronized (this) {
        running = false;
        again = dirtyWhileRunning;
        dirtyWhileRunning = false;
      }
      if (again) {
        trigger();
      }
    }
  }
}
