package dev.ebb.publish;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The real {@link Scheduler}: one thread, so scheduled tasks never overlap. A task is due at an instant of the
 * injected clock; when that clock is moved (tests of 15-minute drains), {@link #clockChanged()} re-times every
 * pending task, and those now due run at once.
 */
public final class ExecutorScheduler implements Scheduler, AutoCloseable {
  private final Clock clock;
  private final ScheduledExecutorService executor;
  private final Set<Pending> pending = ConcurrentHashMap.newKeySet();

  public ExecutorScheduler(Clock clock, String threadName) {
    this.clock = clock;
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, threadName);
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public Instant now() {
    return clock.instant();
  }

  /** A task and its due instant; its timer is replaced when the clock moves. */
  private final class Pending implements Cancellable {
    final Instant due;
    final Runnable task;
    volatile boolean cancelled;
    ScheduledFuture<?> timer;

    Pending(Instant due, Runnable task) {
      this.due = due;
      this.task = task;
    }

    synchronized void arm() {
      if (timer != null) {
        timer.cancel(false);
      }
      long nanos = Math.max(0, Duration.between(clock.instant(), due).toNanos());
      timer = executor.schedule(this::run, nanos, TimeUnit.NANOSECONDS);
    }

    private void run() {
      if (pending.remove(this) && !cancelled) {
        task.run();
      }
    }

    @Override
    public synchronized void cancel() {
      cancelled = true;
      pending.remove(this);
      if (timer != null) {
        timer.cancel(false);
      }
    }
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable task) {
    Pending p = new Pending(clock.instant().plus(delay.isNegative() ? Duration.ZERO : delay), task);
    pending.add(p);
    try {
      p.arm();
    } catch (java.util.concurrent.RejectedExecutionException e) {
      pending.remove(p); // closed
    }
    return p;
  }

  /** The clock jumped (a test moved it): every pending task is re-timed against it. */
  public void clockChanged() {
    for (Pending p : pending) {
      p.arm();
    }
  }

  @Override
  public void close() {
    pending.clear();
    executor.shutdownNow();
  }
}
