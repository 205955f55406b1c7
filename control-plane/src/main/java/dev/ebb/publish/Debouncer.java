package dev.ebb.publish;

import java.time.Duration;
import java.time.Instant;

/**
 * Batches bursts of changes, firing on the leading edge (SPEC 8: a lone edit never waits for a timer).
 *
 * <ul>
 *   <li>A change when nothing is pending and the last run started at least {@code quiet} ago runs the action at
 *       once (on the scheduler's thread).
 *   <li>A change within {@code quiet} of the last run has to wait: it and every later change are merged into one
 *       run, {@code quiet} after the latest of them, but never later than {@code maxDelay} after the first of
 *       them, so a steady stream of changes is still pushed every {@code maxDelay}.
 *   <li>Changes that arrive while the action runs are merged into the next run, timed as above.
 * </ul>
 *
 * The action never runs twice at once. Waiting for {@code quiet} after the latest change (rather than at a fixed
 * rate) keeps a burst, such as a Kubernetes rollout touching many EndpointSlices, in one trailing run.
 */
public final class Debouncer {
  private final Scheduler scheduler;
  private final Duration quiet;
  private final Duration maxDelay;
  private final Runnable action;
  // guarded by this: sources call trigger() on their own threads, runs happen on the scheduler's
  private Instant lastRunStart;
  private Instant firstWaiting;
  private Instant lastChange;
  private Run scheduled;
  private boolean running;
  private boolean changedWhileRunning;

  /**
   * One scheduled run. Cancelling does not stop a run that has already started and waits for the lock, so a run
   * checks that it is still the scheduled one instead of trusting {@link Scheduler.Cancellable#cancel()}.
   */
  private final class Run implements Runnable {
    final boolean leading;
    Scheduler.Cancellable handle;

    Run(boolean leading) {
      this.leading = leading;
    }

    @Override
    public void run() {
      fire(this);
    }
  }

  public Debouncer(Scheduler scheduler, Duration quiet, Duration maxDelay, Runnable action) {
    this.scheduler = scheduler;
    this.quiet = quiet;
    this.maxDelay = maxDelay;
    this.action = action;
  }

  /** Notes a change; the action will run at once after a quiet period, else within {@code maxDelay}. */
  public synchronized void trigger() {
    Instant now = scheduler.now();
    lastChange = now;
    if (running) {
      changedWhileRunning = true;
      if (firstWaiting == null) {
        firstWaiting = now;
      }
      return;
    }
    if (scheduled != null && scheduled.leading) {
      return; // the action has not started yet, so it will see this change too
    }
    if (scheduled == null && (lastRunStart == null || !now.isBefore(lastRunStart.plus(quiet)))) {
      schedule(new Run(true), Duration.ZERO);
      return;
    }
    if (firstWaiting == null) {
      firstWaiting = now;
    }
    scheduleTrailing(now);
  }

  private void scheduleTrailing(Instant now) {
    Instant at = lastChange.plus(quiet);
    Instant latest = firstWaiting.plus(maxDelay);
    if (at.isAfter(latest)) {
      at = latest;
    }
    Duration delay = Duration.between(now, at);
    schedule(new Run(false), delay.isNegative() ? Duration.ZERO : delay);
  }

  private void schedule(Run run, Duration delay) {
    if (scheduled != null) {
      scheduled.handle.cancel();
    }
    scheduled = run;
    run.handle = scheduler.schedule(delay, run);
  }

  private void fire(Run run) {
    synchronized (this) {
      if (run != scheduled) {
        return; // superseded after it was already on its way
      }
      // nothing is scheduled while a run is in progress (trigger() only notes the change), so this one is alone
      scheduled = null;
      running = true;
      firstWaiting = null;
      lastRunStart = scheduler.now();
    }
    try {
      action.run();
    } finally {
      synchronized (this) {
        running = false;
        if (changedWhileRunning) {
          changedWhileRunning = false;
          scheduleTrailing(scheduler.now());
        }
      }
    }
  }
}
