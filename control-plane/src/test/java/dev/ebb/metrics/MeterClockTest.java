package dev.ebb.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import dev.ebb.load.LoadTracker;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The real metrics run on the system's time; the warm-up's twin runs on a clock that leaps ahead, so that its
 * timers' time windows rotate during the warm-up as the real ones do in service (see {@link EbbMetrics.MeterClock}).
 */
class MeterClockTest {
  private static final Pattern MAX = Pattern.compile("(?m)^ebb_config_propagation_seconds_max (\\S+)$");

  @Test
  void theRealClockIsTheSystemsAndTheTwinsLeapsPastOneWindowEverySecondAndPastAllOfThemEveryEightSeconds() {
    assertThat(EbbMetrics.MeterClock.REAL.wallTime()).isCloseTo(System.currentTimeMillis(), within(1_000L));
    assertThat(EbbMetrics.MeterClock.REAL.aheadMs(Long.MAX_VALUE)).isZero();

    EbbMetrics.MeterClock twin = new EbbMetrics.MeterClock(EbbMetrics.MeterClock.LEAP_MS,
        EbbMetrics.MeterClock.BIG_LEAP_MS, 1_000);
    assertThat(twin.aheadMs(1_000 + (1L << 30) - 1)).isZero();
    assertThat(twin.aheadMs(1_000 + (1L << 30))).as("one window of 40 s passed").isEqualTo(41_000);
    assertThat(twin.aheadMs(1_000 + (1L << 33))).as("more than the three windows of a timer's max passed")
        .isEqualTo(8 * 41_000 + 130_000);
  }

  @Test
  void theRealMetricsKeepTheSlowestPropagationWhileTheTwinsTimeWindowsRotateItAway() {
    EbbMetrics real = new EbbMetrics(List::of, new LoadTracker(Clock.systemUTC()));
    EbbMetrics twin = real.idle();

    real.propagated(null, Duration.ofSeconds(5));
    twin.propagated(null, Duration.ofSeconds(5));

    assertThat(max(real)).isEqualTo(5.0);
    assertThat(max(twin)).as("the twin records (its first leap is a second away)").isEqualTo(5.0);
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> max(twin) == 0.0);
    assertThat(max(real)).as("the real timer's max is still in its window").isEqualTo(5.0);
  }

  private static double max(EbbMetrics metrics) {
    Matcher m = MAX.matcher(metrics.scrape());
    assertThat(m.find()).as("the propagation timer's max is scraped").isTrue();
    return Double.parseDouble(m.group(1));
  }
}
