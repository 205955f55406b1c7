package dev.ebb.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.Warmup;
import dev.ebb.translate.EnvoyTranslator;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The serving half of the warm-up really drives the stream tracker: every simulated stream is answered and ACKs. */
class XdsWarmupTest {
  @Test
  void everySimulatedStreamGetsEachTypeItAsksForAndAcksEveryResponse() {
    try (XdsWarmup serving = new XdsWarmup()) {
      Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 8, 4, serving);

      assertThat(serving.problems()).isZero();
      assertThat(serving.allInSync()).isTrue();
      assertThat(serving.cache().streams()).hasSize(3 * XdsWarmup.STREAMS_PER_KIND);
      // at least one response per stream and type, and more as the configs change
      assertThat(serving.responses()).isGreaterThan(4L * 3 * XdsWarmup.STREAMS_PER_KIND);
      for (StreamState s : serving.cache().streams()) {
        synchronized (s) {
          for (TypeUrl t : new TypeUrl[] {TypeUrl.CLUSTER, TypeUrl.ENDPOINT, TypeUrl.LISTENER, TypeUrl.ROUTE}) {
            StreamState.TypeState ts = s.types.get(t);
            assertThat(ts).as("%s %s", s.nodeId(), t).isNotNull();
            assertThat(ts.sentNonce).as("%s %s answered", s.nodeId(), t).isNotNull();
            assertThat(ts.ackedNonce).as("%s %s ACKed its last response", s.nodeId(), t).isEqualTo(ts.sentNonce);
            assertThat(ts.nackedVersion).isNull();
          }
        }
      }
      // Envoy nodes of the "warm" cluster have the TLS listener, scoped by host: they ask for scopes (SRDS) too
      long scoped = serving.cache().streams().stream().filter(s -> {
        synchronized (s) {
          StreamState.TypeState ts = s.types.get(TypeUrl.SCOPED_ROUTE);
          return ts != null && ts.sentNonce != null && ts.sentNonce.equals(ts.ackedNonce);
        }
      }).count();
      assertThat(scoped).isEqualTo(XdsWarmup.STREAMS_PER_KIND); // half of each Envoy kind
    }
  }

  @Test
  void closingEndsItsStreams() {
    XdsWarmup serving = new XdsWarmup();
    Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 3, 0, serving);
    XdsCache cache = serving.cache();
    assertThat(cache.streams()).isNotEmpty();

    serving.close();

    assertThat(cache.streams()).isEmpty();
  }
}
