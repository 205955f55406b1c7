package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.EDS;
import static dev.ebb.it.AdsClient.RDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** SPEC 2.6: a route never names a cluster before the node has ACKed that cluster. */
class MakeBeforeBreakIT {
  @TempDir
  Path dir;

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void routeToANewClusterWaitsForTheClusterAck(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", null, null, 9001, 9002)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) >= 1 && client.count(EDS) >= 1);
      assertThat(client.resources(CDS)).containsOnlyKeys("v1");
      int rds = client.count(RDS);

      client.holdAcks(CDS); // like Envoy while the new cluster warms
      ebb.write(EbbFixture.chat("websocket", "v1", "v2", "50", 9001, 9002));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(CDS).containsKey("v2"));
      // the node asks for v2's endpoints and gets them; by then the route change had been decided
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(EDS).containsKey("v2"));
      assertThat(client.count(RDS)).isEqualTo(rds);
      assertThat(XdsPushIT.weightOf(client.<RouteConfiguration>resources(RDS).get("edge"), "v2")).isEqualTo("0");

      client.releaseAcks();
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) == rds + 1);
      assertThat(XdsPushIT.weightOf(client.<RouteConfiguration>resources(RDS).get("edge"), "v2")).isEqualTo("5000");
    }
  }
}
