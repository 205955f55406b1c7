package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.EDS;
import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What an Envoy-like ADS client receives, and when: SotW and delta. */
class XdsPushIT {
  @TempDir
  Path dir;

  static String weightOf(RouteConfiguration rc, String cluster) {
    if (rc == null || rc.getVirtualHostsCount() == 0) {
      return "(no route yet)";
    }
    var action = rc.getVirtualHosts(0).getRoutes(0).getRoute();
    if (!action.getCluster().isEmpty()) {
      return action.getCluster().equals(cluster) ? "10000" : "0";
    }
    return action.getWeightedClusters().getClustersList().stream().filter(c -> c.getName().equals(cluster))
        .map(c -> String.valueOf(c.getWeight().getValue())).findFirst().orElse("0");
  }

  private static void awaitInitialConfig(AdsClient client) {
    await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) >= 1 && client.count(EDS) >= 1
        && client.count(CDS) >= 1 && client.count(LDS) >= 1);
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void tenWeightChangesAreTenRoutePushesAndNoListenerOrClusterPush(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "0", 9001, 9002)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitInitialConfig(client);
      int lds = client.count(LDS);
      int cds = client.count(CDS);
      int eds = client.count(EDS);
      int rds = client.count(RDS);
      byte[] listenerBytes = client.rawBytes(LDS).get("edge");
      for (int i = 1; i <= 10; i++) {
        String weight = String.valueOf(i * 10);
        ebb.write(EbbFixture.chat("websocket", "v1", "v2", weight, 9001, 9002));
        int expected = rds + i;
        await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) >= expected);
        RouteConfiguration rc = client.<RouteConfiguration>resources(RDS).get("edge");
        assertThat(weightOf(rc, "v2")).isEqualTo(String.valueOf(i * 1000));
      }
      assertThat(client.count(RDS)).isEqualTo(rds + 10);
      assertThat(client.count(LDS)).isEqualTo(lds);
      assertThat(client.count(CDS)).isEqualTo(cds);
      assertThat(client.count(EDS)).isEqualTo(eds);
      // a last, unrelated edit (one endpoint moves) proves the stream is still live and nothing else was
      // queued: exactly one more EDS push, and still ten RDS pushes
      ebb.write(EbbFixture.chat("websocket", "v1", "v2", "100", 9001, 9003));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(EDS) > eds);
      assertThat(client.count(RDS)).isEqualTo(rds + 10);
      assertThat(client.count(LDS)).isEqualTo(lds);
      assertThat(client.count(CDS)).isEqualTo(cds);
      assertThat(client.rawBytes(LDS).get("edge")).isEqualTo(listenerBytes);
      assertThat(client.error()).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void endpointChangePushesOnlyEndpoints(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitInitialConfig(client);
      int lds = client.count(LDS);
      int cds = client.count(CDS);
      int rds = client.count(RDS);
      int eds = client.count(EDS);
      ebb.write(EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9003));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(EDS) > eds);
      ClusterLoadAssignment v2 = client.<ClusterLoadAssignment>resources(EDS).get("v2");
      assertThat(v2.getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress().getPortValue())
          .isEqualTo(9003);
      assertThat(client.count(LDS)).isEqualTo(lds);
      assertThat(client.count(CDS)).isEqualTo(cds);
      assertThat(client.count(RDS)).isEqualTo(rds);
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void nackIsRecordedAndNotAnsweredWithTheSameConfig(AdsClient.Variant variant) throws Exception {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "0", 9001, 9002)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitInitialConfig(client);
      int rds = client.count(RDS);
      client.nackNext(RDS, "route: unknown field 'frobnicate' (test rejection)");
      ebb.write(EbbFixture.chat("websocket", "v1", "v2", "30", 9001, 9002));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) == rds + 1);
      await().atMost(Duration.ofSeconds(10)).until(() -> ebb.admin("/status").contains("unknown field 'frobnicate'"));
      String status = ebb.admin("/status");
      assertThat(status).contains("\"nackDetail\" : \"route: unknown field 'frobnicate' (test rejection)\"");
      assertThat(status).contains("rejected RDS version");
      // a later request that still carries the NACKed nonce (a subscription change) is not an ACK
      client.resubscribe(RDS, java.util.Set.of("edge", "other"));
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains("\"nodesOnCurrentWeights\" : \"0/1\""));
      // no resend loop: an unrelated endpoint change goes through, and RDS was still sent exactly once
      int eds = client.count(EDS);
      ebb.write(EbbFixture.chat("websocket", "v1", "v2", "30", 9001, 9005));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(EDS) > eds);
      assertThat(client.count(RDS)).isEqualTo(rds + 1);
      // the next weight change is sent (and this time ACKed)
      ebb.write(EbbFixture.chat("websocket", "v1", "v2", "40", 9001, 9005));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) == rds + 2);
      assertThat(weightOf(client.<RouteConfiguration>resources(RDS).get("edge"), "v2")).isEqualTo("4000");
      // that ACK of a newer version ends the rejection: /status no longer shows it as a current problem
      await().atMost(Duration.ofSeconds(5)).until(() -> !ebb.admin("/status").contains("frobnicate"));
      assertThat(ebb.admin("/status")).contains("\"nodesOnCurrentWeights\" : \"1/1\"");
      if (variant == AdsClient.Variant.SOTW) {
        // a subscription change repeats the ACKed nonce: it is no second ACK
        double acks = LoadReportIT.metric(ebb.admin("/metrics"), "ebb_xds_acks_total{type=\"RDS\"}");
        client.resubscribe(RDS, java.util.Set.of("edge"));
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() ->
            LoadReportIT.metric(ebb.admin("/metrics"), "ebb_xds_acks_total{type=\"RDS\"}") == acks);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void restartWithTheSameFileGivesTheSameVersionsAndBytes(AdsClient.Variant variant) {
    Map<String, byte[]> before;
    String rdsVersion;
    String cdsVersion;
    int port;
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "12.34", 9001, 9002)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitInitialConfig(client);
      before = client.rawBytes(CDS);
      rdsVersion = client.lastOf(RDS).version();
      cdsVersion = client.lastOf(CDS).version();
      port = ebb.xdsPort();
    }
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "12.34", 9001, 9002)).start(port);
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitInitialConfig(client);
      assertThat(client.lastOf(RDS).version()).isEqualTo(rdsVersion);
      assertThat(client.lastOf(CDS).version()).isEqualTo(cdsVersion);
      assertThat(client.rawBytes(CDS)).containsOnlyKeys(before.keySet());
      before.forEach((name, b) -> assertThat(client.rawBytes(CDS).get(name)).as(name).isEqualTo(b));
      assertThat(weightOf(client.<RouteConfiguration>resources(RDS).get("edge"), "v2")).isEqualTo("1234");
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void aResubscriptionIsAnsweredEvenWhenNoVersionChanged(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "50", 9001, 9002)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(EDS).size() == 2);
      client.resubscribe(EDS, java.util.Set.of("v2"));
      int eds = client.count(EDS);
      long generation = ebb.generation();
      client.resubscribe(EDS, java.util.Set.of("v1", "v2"));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.received(EDS).stream().skip(eds)
          .anyMatch(r -> r.names().contains("v1")));
      assertThat(ebb.generation()).as("nothing was published meanwhile").isEqualTo(generation);
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void endpointsFollowInFullWhenClustersChange(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "50", 9001, 9002)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(EDS).size() == 2);
      int eds = client.count(EDS);
      // clusters change (HTTP/2 for grpc) and one endpoint moves, in one edit
      ebb.write(EbbFixture.chat("grpc", "v1", "v2", "50", 9001, 9003));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.received(EDS).stream().skip(eds)
          .anyMatch(r -> r.names().contains("v2")));
      // Envoy re-warms a changed cluster and waits for its endpoints: they come again, changed or not
      await().atMost(Duration.ofSeconds(5)).until(() -> client.received(EDS).stream().skip(eds)
          .flatMap(r -> r.names().stream()).anyMatch("v1"::equals));
      ClusterLoadAssignment v2 = client.<ClusterLoadAssignment>resources(EDS).get("v2");
      assertThat(v2.getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress().getPortValue())
          .isEqualTo(9003);
      // and only once: ACKs are not answered by more full resends
      int settled = client.count(EDS);
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> client.count(EDS) == settled);
    }
  }
}
