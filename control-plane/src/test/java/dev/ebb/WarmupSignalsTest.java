package dev.ebb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** When the warm-up after /readyz waits (EbbServer.busyWhileConnecting). */
class WarmupSignalsTest {
  private final AtomicLong streams = new AtomicLong();
  private final AtomicLong generation = new AtomicLong();
  private final AtomicLong nanos = new AtomicLong(5_000_000_000L);
  private final BooleanSupplier busy = EbbServer.busyWhileConnecting(streams::get, generation::get, nanos::get);

  @Test
  void busyUntilTheFirstConfigIsPublished() {
    nanos.addAndGet(10_000_000_000L);
    assertThat(busy.getAsBoolean()).isTrue();
    nanos.addAndGet(10_000_000_000L);
    assertThat(busy.getAsBoolean()).isTrue();

    generation.set(1);
    nanos.addAndGet(10_000_000_000L);
    assertThat(busy.getAsBoolean()).isFalse();
  }

  @Test
  void busyForASecondAfterTheNumberOfStreamsLastChanged() {
    generation.set(1);
    assertThat(busy.getAsBoolean()).isTrue(); // the first look counts as a change
    nanos.addAndGet(1_100_000_000L);
    assertThat(busy.getAsBoolean()).isFalse();

    streams.set(40); // proxies connecting
    assertThat(busy.getAsBoolean()).isTrue();
    nanos.addAndGet(600_000_000L);
    assertThat(busy.getAsBoolean()).isTrue(); // no new stream in this look, but one 0.6 s ago
    streams.set(41);
    nanos.addAndGet(600_000_000L);
    assertThat(busy.getAsBoolean()).isTrue();
    nanos.addAndGet(999_000_000L);
    assertThat(busy.getAsBoolean()).isTrue();
    nanos.addAndGet(2_000_000L);
    assertThat(busy.getAsBoolean()).isFalse();
  }
}
