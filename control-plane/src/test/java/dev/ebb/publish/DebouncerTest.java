package dev.ebb.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class DebouncerTest {
  /** A scheduler on a fake clock: tasks run when the test advances time past them. */
  static final class FakeScheduler implements Scheduler {
    record Task(Instant at, Runnable run, boolean[] cancelled) {}

    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    final List<Task> tasks = new ArrayList<>();
    /** The delay of every task ever scheduled, in order. */
    final List<Duration> delays = new ArrayList<>();

    @Override
    public Instant now() {
      return now;
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
      boolean[] cancelled = {false};
      delays.add(delay);
      tasks.add(new Task(now.plus(delay), task, cancelled));
      return () -> cancelled[0] = true;
    }

    void advance(Duration d) {
      Instant end = now.plus(d);
      while (true) {
        Task next = tasks.stream().filter(t -> !t.cancelled()[0] && !t.at().isAfter(end))
            .min(Comparator.comparing(Task::at)).orElse(null);
        if (next == null) {
          break;
        }
        tasks.remove(next);
        now = next.at();
        next.run().run();
      }
      now = end;
    }
  }

  static final Duration QUIET = Duration.ofMillis(100);
  static final Duration MAX_DELAY = Duration.ofSeconds(1);

  final FakeScheduler clock = new FakeScheduler();
  final Instant t0 = clock.now();
  /** When each run of the action started. */
  final List<Instant> runs = new ArrayList<>();
  final Debouncer debouncer = new Debouncer(clock, QUIET, MAX_DELAY, () -> runs.add(clock.now()));

  private Duration sinceStart(Instant at) {
    return Duration.between(t0, at);
  }

  @Test
  void aLoneChangeRunsAtOnceOnTheSchedulersThread() {
    debouncer.trigger();
    // not inside trigger(): the action runs on the scheduler, with no delay
    assertThat(runs).isEmpty();
    assertThat(clock.delays).containsExactly(Duration.ZERO);
    clock.advance(Duration.ZERO);
    assertThat(runs).containsExactly(t0);
    clock.advance(Duration.ofSeconds(5));
    assertThat(runs).hasSize(1);
  }

  @Test
  void aBurstWithinOneWindowRunsOnceAtOnceAndOnceMergedAfterTheQuietPeriod() {
    for (int i = 0; i < 10; i++) {
      debouncer.trigger();
      clock.advance(Duration.ofMillis(9));
    }
    // the leading run at 0; changes at 9..81 ms wait for 100 ms of quiet after the last one
    assertThat(runs).containsExactly(t0);
    clock.advance(Duration.ofSeconds(5));
    assertThat(runs).extracting(this::sinceStart).containsExactly(Duration.ZERO, Duration.ofMillis(181));
  }

  @Test
  void aChangeAfterAQuietPeriodRunsAtOnceAgain() {
    debouncer.trigger();
    clock.advance(Duration.ofMillis(10));
    debouncer.trigger();
    clock.advance(Duration.ofSeconds(1));
    assertThat(runs).hasSize(2);
    Instant before = clock.now();
    debouncer.trigger();
    clock.advance(Duration.ZERO);
    assertThat(runs).hasSize(3).last().isEqualTo(before);
  }

  @Test
  void aChangeSoonAfterARunWaitsForTheQuietPeriod() {
    debouncer.trigger();
    clock.advance(Duration.ofMillis(150));
    assertThat(runs).hasSize(1);
    // the burst is over (150 ms since the run): the next change is the first of a new one
    debouncer.trigger();
    clock.advance(Duration.ZERO);
    assertThat(runs).hasSize(2);
    clock.advance(Duration.ofMillis(30));
    debouncer.trigger();
    clock.advance(Duration.ofMillis(99));
    assertThat(runs).hasSize(2);
    clock.advance(Duration.ofMillis(1));
    assertThat(runs).extracting(this::sinceStart)
        .containsExactly(Duration.ZERO, Duration.ofMillis(150), Duration.ofMillis(280));
  }

  @Test
  void aSteadyStreamOfChangesIsStillPushedWithinTheMaximumDelay() {
    // a change every 50 ms for 5 s: never 100 ms of quiet
    List<Instant> changes = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      changes.add(clock.now());
      debouncer.trigger();
      clock.advance(Duration.ofMillis(50));
    }
    clock.advance(Duration.ofSeconds(5));
    // no change waits longer than maxDelay for a run that starts after it
    for (Instant c : changes) {
      assertThat(runs).as("a run within %s of the change at %s", MAX_DELAY, sinceStart(c))
          .anyMatch(r -> !r.isBefore(c) && !r.isAfter(c.plus(MAX_DELAY)));
    }
    // the first change that had to wait (at 50 ms) is pushed exactly maxDelay later, the last one quiet after it
    assertThat(runs).extracting(this::sinceStart).containsExactly(Duration.ZERO, Duration.ofMillis(1050),
        Duration.ofMillis(2050), Duration.ofMillis(3050), Duration.ofMillis(4050), Duration.ofMillis(5050));
  }

  @Test
  void changesDuringARunAreMergedIntoExactlyOneMoreRun() {
    AtomicInteger inner = new AtomicInteger();
    List<Instant> at = new ArrayList<>();
    Debouncer[] self = new Debouncer[1];
    self[0] = new Debouncer(clock, QUIET, MAX_DELAY, () -> {
      at.add(clock.now());
      if (inner.incrementAndGet() == 1) {
        self[0].trigger();
        self[0].trigger();
        self[0].trigger();
      }
    });
    self[0].trigger();
    clock.advance(Duration.ofSeconds(2));
    assertThat(inner).hasValue(2);
    assertThat(at).extracting(this::sinceStart).containsExactly(Duration.ZERO, QUIET);
  }

  @Test
  void aChangeWhileTheLeadingRunIsScheduledIsTakenByIt() {
    debouncer.trigger();
    debouncer.trigger();
    debouncer.trigger();
    clock.advance(Duration.ofSeconds(2));
    assertThat(runs).containsExactly(t0);
  }

  /**
   * With a scheduler of several threads and triggers from several threads, runs never overlap and the last
   * change is always followed by a run. No timing is asserted.
   */
  @Test
  void neverRunsTwiceAtOnceAndNeverLosesTheLastChange() throws Exception {
    ScheduledExecutorService pool = Executors.newScheduledThreadPool(4);
    Clock real = Clock.systemUTC();
    Scheduler threads = new Scheduler() {
      @Override
      public Instant now() {
        return real.instant();
      }

      @Override
      public Cancellable schedule(Duration delay, Runnable task) {
        ScheduledFuture<?> f = pool.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
      }
    };
    AtomicInteger inAction = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    AtomicLong changes = new AtomicLong();
    AtomicLong seenByLastRun = new AtomicLong(-1);
    Debouncer d = new Debouncer(threads, Duration.ofMillis(1), Duration.ofMillis(5), () -> {
      if (inAction.incrementAndGet() > 1) {
        overlaps.incrementAndGet();
      }
      seenByLastRun.set(changes.get());
      Thread.onSpinWait();
      inAction.decrementAndGet();
    });
    CountDownLatch go = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> writers = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      Thread t = new Thread(() -> {
        try {
          go.await();
          for (int i = 0; i < 2_000; i++) {
            changes.incrementAndGet();
            d.trigger();
          }
        } catch (Throwable e) {
          failure.set(e);
        }
      });
      t.start();
      writers.add(t);
    }
    go.countDown();
    for (Thread t : writers) {
      t.join();
    }
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> seenByLastRun.get() == 8_000 && inAction.get() == 0);
    } finally {
      pool.shutdownNow();
    }
    assertThat(failure.get()).isNull();
    assertThat(overlaps).hasValue(0);
  }
}
