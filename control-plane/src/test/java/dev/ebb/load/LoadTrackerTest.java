package dev.ebb.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** When load reports may end a drain early, for each way a client family reports. */
class LoadTrackerTest {
  static final Instant T0 = Instant.parse("2026-06-01T00:00:00Z");
  static final Duration INTERVAL = Duration.ofSeconds(10);
  Instant now = T0;
  final LoadTracker tracker = new LoadTracker(new Clock() {
    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  });

  LoadTrackerTest() {
    tracker.track(Set.of("v1", "v2"));
    tracker.interval(INTERVAL);
  }

  void report(long stream, Map<String, long[]> load) {
    tracker.report(stream, load);
  }

  void tick() {
    now = now.plus(INTERVAL);
  }

  @Test
  void twoZeroReportsSinceTheDrainBeganMakeItIdle() {
    tracker.opened(1, "envoy-1", "envoy");
    report(1, Map.of("v1", new long[] {3, 0, 0, 0}));
    Instant drainStart = now;
    tick();
    report(1, Map.of());
    assertThat(tracker.idleSince("v1", drainStart)).isFalse();
    tick();
    report(1, Map.of());
    assertThat(tracker.idleSince("v1", drainStart)).isTrue();
    // a stream started since (issued > 0) is not idle, even with none in progress at report time
    tick();
    report(1, Map.of("v1", new long[] {0, 1, 0, 1}));
    assertThat(tracker.idleSince("v1", drainStart)).isFalse();
  }

  @Test
  void silenceAfterAZeroReportIsZeroAsGrpcCoreSendsNoRepeatedEmptyReport() {
    tracker.opened(1, "py-1", "gRPC C-core linux Python");
    report(1, Map.of("v1", new long[] {8, 0, 0, 8}));
    Instant drainStart = now;
    tick();
    report(1, Map.of()); // one zero report, then C-core stays silent while nothing changes
    assertThat(tracker.idleSince("v1", drainStart)).isFalse();
    now = now.plus(INTERVAL.multipliedBy(2)).minusMillis(1);
    assertThat(tracker.idleSince("v1", drainStart)).isFalse();
    now = now.plusMillis(1);
    assertThat(tracker.idleSince("v1", drainStart)).isTrue();
  }

  @Test
  void silenceAfterANonZeroReportIsNotIdle() {
    tracker.opened(1, "py-1", "gRPC C-core linux Python");
    Instant drainStart = now;
    tick();
    report(1, Map.of("v1", new long[] {2, 0, 0, 0}));
    now = now.plus(INTERVAL.multipliedBy(5));
    assertThat(tracker.idleSince("v1", drainStart)).isFalse();
  }

  @Test
  void aGrpcJsNodeKeepsEveryDrainToItsDeadline() {
    // grpc-js-xds leaves out a locality with no call started in the interval: its zero proves nothing
    tracker.opened(1, "envoy-1", "envoy");
    tracker.opened(2, "js-1", LoadTracker.GRPC_JS);
    Instant drainStart = now;
    for (int i = 0; i < 3; i++) {
      tick();
      report(1, Map.of());
      report(2, Map.of());
    }
    assertThat(tracker.idleSince("v1", drainStart)).isFalse();
    tracker.closed(2);
    assertThat(tracker.idleSince("v1", drainStart)).isTrue();
  }

  @Test
  void noReportingNodeNeverEndsADrainEarly() {
    tracker.opened(1, "envoy-1", "envoy"); // stream open, no report yet
    tick();
    tick();
    assertThat(tracker.idleSince("v1", T0)).isFalse();
  }
}
