package dev.ebb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.xds.XdsEvents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm-up's private streams report to listeners of the same classes, in the same places, as the real ones: the
 * JIT compiles the cache's calls to its listeners for the classes it saw, and a listener of another class at the
 * first real change sent the cache's largest methods back to the interpreter (a profile showed it).
 */
class WarmupEventsTest {
  @Test
  void theWarmUpsListenersHaveTheRealListenersClassesButAreOtherObjects(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("ebb.yaml");
    Files.writeString(file, "routes: []\n");
    EbbServer.Config config = new EbbServer.Config(new EbbServer.SourceSpec.File(file), "127.0.0.1", 0, "127.0.0.1",
        0, Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(2), EnvoyTranslator.Settings.DEFAULT,
        EbbServer.Config.DEFAULT_LOAD_REPORT_INTERVAL);
    try (EbbServer server = new EbbServer(config, Clock.systemUTC(), XdsEvents.NONE, java.util.Optional.empty())) {
      assertThat(shape(server.warmupEvents())).isEqualTo(shape(server.xdsEvents))
          .isEqualTo("Both(NONE, Both(RejectionEvents, EbbMetrics))");
      assertThat(server.warmupEvents()).isNotSameAs(server.xdsEvents);
      // nothing the warm-up reports reaches the real metrics
      XdsEvents.Both real = (XdsEvents.Both) ((XdsEvents.Both) server.xdsEvents).b();
      XdsEvents.Both warm = (XdsEvents.Both) ((XdsEvents.Both) server.warmupEvents()).b();
      assertThat(warm.a()).isNotSameAs(real.a());
      assertThat(warm.b()).isNotSameAs(real.b()).isNotSameAs(server.metrics());
    }
  }

  @Test
  void aListenerThatCanMakeAnIdleTwinGetsOneOfItsClassAndOthersGetNone() {
    XdsEvents counting = new Counting(new java.util.concurrent.atomic.AtomicLong());
    XdsEvents events = XdsEvents.both(counting, XdsEvents.both(new XdsEvents() {}, XdsEvents.NONE));

    XdsEvents idle = events.idle();

    assertThat(shape(idle)).isEqualTo("Both(Counting, Both(NONE, NONE))");
    idle.pushed(null, dev.ebb.publish.TypeUrl.ROUTE, "v", 1, 10);
    assertThat(((Counting) counting).pushes.get()).as("the real listener heard nothing").isZero();
  }

  private record Counting(java.util.concurrent.atomic.AtomicLong pushes) implements XdsEvents {
    @Override
    public void pushed(dev.ebb.xds.StreamState stream, dev.ebb.publish.TypeUrl type, String version, int resources,
        int bytes) {
      pushes.incrementAndGet();
    }

    @Override
    public XdsEvents idle() {
      return new Counting(new java.util.concurrent.atomic.AtomicLong());
    }
  }

  private static String shape(XdsEvents e) {
    if (e instanceof XdsEvents.Both b) {
      return "Both(" + shape(b.a()) + ", " + shape(b.b()) + ")";
    }
    return e == XdsEvents.NONE ? "NONE" : e.getClass().getSimpleName();
  }
}
