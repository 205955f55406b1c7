package dev.ebb.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** A route whose status cannot be written is retried later and later, each delay spread by jitter. */
class BackoffTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void doublesFromOneSecondToAMinuteWithJitterOfAQuarter() {
    KubeStatusWriter.Backoff b = null;
    long[] expectedMillis = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (long expected : expectedMillis) {
      b = KubeStatusWriter.Backoff.after(b, T0, () -> 0.5); // jitter at its middle: the base delay
      assertThat(Duration.between(T0, b.next()).toMillis()).isEqualTo(expected);
    }
    assertThat(b.failures()).isEqualTo(expectedMillis.length);
    // the extremes of the jitter: 75% and 125% of the base
    assertThat(KubeStatusWriter.Backoff.after(null, T0, () -> 0.0).next()).isEqualTo(T0.plusMillis(750));
    assertThat(KubeStatusWriter.Backoff.after(null, T0, () -> 1.0).next()).isEqualTo(T0.plusMillis(1250));
  }
}
