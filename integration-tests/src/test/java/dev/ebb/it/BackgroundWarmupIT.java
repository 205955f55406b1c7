package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ebb.publish.Warmup;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.xds.XdsWarmup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm-up that runs after {@code /readyz} (SPEC 8) shares the process, its cores, grpc's event loops and
 * executor with the real xDS server: proxies that connect while it runs must get their config as fast as ever.
 * This runs a warm-up of its own, over its loopback server, with everything the background one does (reconnects,
 * nodes moving to new connections), whether or not the fixture's own warm-up runs in this JVM.
 */
class BackgroundWarmupIT {
  @TempDir
  Path dir;

  @Test
  void proxiesThatConnectWhileTheWarmupRunsGetTheirConfigAtOnce() throws Exception {
    XdsWarmup serving = new XdsWarmup();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread warm = new Thread(() -> {
      try {
        Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 3, 0, serving); // in process
        serving.overTransport();
        while (!stop.get()) {
          Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 2, 20, serving);
        }
      } catch (Throwable t) {
        failed.set(t);
      }
    }, "test-warmup");
    List<Long> millis = new ArrayList<>();
    long connectionsBefore;
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "10", 9001, 9002))
        .start()) {
      warm.start();
      // channels connect lazily: wait for the first three (one per kind of simulated node), so that the two
      // counted below are moves
      await().atMost(Duration.ofSeconds(60)).until(() -> serving.connectionsOpened() >= 3 || failed.get() != null);
      connectionsBefore = serving.connectionsOpened();
      // until the warm-up moved nodes to new connections twice while proxies kept connecting
      for (int i = 0; i < 100 && (i < 10 || serving.connectionsOpened() < connectionsBefore + 2); i++) {
        long start = System.nanoTime();
        try (AdsClient client = AdsClient.envoy(ebb.xdsPort(), i % 2 == 0 ? AdsClient.Variant.SOTW
            : AdsClient.Variant.DELTA)) {
          // far under the 5 s a warm-up config may take to settle: nothing real waits for the warm-up
          await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(5)).until(() ->
              client.count(AdsClient.RDS) >= 1 && client.count(AdsClient.EDS) >= 1
                  && client.count(AdsClient.CDS) >= 1 && client.count(AdsClient.LDS) >= 1);
        }
        millis.add((System.nanoTime() - start) / 1_000_000);
      }
      assertThat(failed.get()).isNull();
      assertThat(serving.connectionsOpened()).as("the warm-up moved nodes to new connections meanwhile")
          .isGreaterThanOrEqualTo(connectionsBefore + 2);
    } finally {
      stop.set(true);
      warm.interrupt();
      warm.join(10_000);
      serving.close();
    }
    System.out.println("first config of each proxy that connected while the warm-up ran (ms): " + millis);
    assertThat(serving.responses()).isPositive();
  }
}
