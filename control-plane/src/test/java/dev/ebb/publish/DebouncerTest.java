package dev.ebb.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DebouncerTest {
  /** A scheduler on a fake clock: tasks run when the test advances time past them. */
  static final class FakeScheduler implements Scheduler {
    record Task(Instant at, Runnable run, boolean[] cancelled) {}

    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    final List<Task> tasks = new ArrayList<>();

    @Override
    public Instant now() {
      return now;
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
      boolean[] cancelled = {false};
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

  final FakeScheduler clock = new FakeScheduler();
  final AtomicInteger runs = new AtomicInteger();
  final Debouncer debouncer = new Debouncer(clock, Duration.ofMillis(100), Duration.ofSeconds(1), runs::incrementAndGet);

  @Test
  void runsOnceAfterAQuietPeriod() {
    debouncer.trigger();
    clock.advance(Duration.ofMillis(50));
    debouncer.trigger();
    clock.advance(Duration.ofMillis(99));
    assertThat(runs).hasValue(0);
    clock.advance(Duration.ofMillis(1));
    assertThat(runs).hasValue(1);
    clock.advance(Duration.ofSeconds(5));
    assertThat(runs).hasValue(1);
  }

  @Test
  void aSteadyStreamOfChangesIsStillPushedWithinTheMaximumDelay() {
    for (int i = 0; i < 30; i++) {
      debouncer.trigger();
      clock.advance(Duration.ofMillis(50));
    }
    // 1.5 s of changes every 50 ms: pushed at 1 s, and the rest within a second after
    assertThat(runs).hasValue(1);
    clock.advance(Duration.ofSeconds(1));
    assertThat(runs).hasValue(2);
  }

  @Test
  void changesDuringARunAreMergedIntoOneMoreRun() {
    AtomicInteger inner = new AtomicInteger();
    Debouncer[] self = new Debouncer[1];
    self[0] = new Debouncer(clock, Duration.ofMillis(100), Duration.ofSeconds(1), () -> {
      if (inner.incrementAndGet() == 1) {
        self[0].trigger();
        self[0].trigger();
      }
    });
    self[0].trigger();
    clock.advance(Duration.ofSeconds(2));
    assertThat(inner).hasValue(2);
  }
}
