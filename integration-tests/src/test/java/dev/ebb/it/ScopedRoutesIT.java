package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.EDS;
import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static dev.ebb.it.AdsClient.SRDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ebb.it.rules.ProtoRules;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SPEC 5, {@code routeScoping: host}: what an Envoy-like ADS client gets from a listener that scopes routes by
 * host (SRDS over ADS, SotW and delta), and what one change costs. The client subscribes like Envoy: scopes as a
 * wildcard once a listener has {@code scoped_routes}, then the RouteConfigurations the scopes name.
 */
class ScopedRoutesIT {
  @TempDir
  Path dir;

  /** Listener edge scoping routes by host; chat (WebSocket) and feed (gRPC), plus {@code extraRoutes}. */
  static String yaml(String chatWeight, String extraRoutes) {
    return """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: 10000
            routeScoping: host
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            stable: v1
            canary: v2
            canaryWeight: %s
          - name: feed
            hosts: ["feed.example.com"]
            protocol: grpc
            stable: v2
        %s
        backends:
          - name: v1
            endpoints: ["127.0.0.1:9001"]
          - name: v2
            endpoints: ["127.0.0.1:9002"]
        """.formatted(chatWeight, extraRoutes);
  }

  static final String NEWS = """
          - name: news
            hosts: ["news.example.com"]
            stable: v1
        """;

  private static void awaitScopedConfig(AdsClient client, int routes) {
    await().atMost(Duration.ofSeconds(10)).until(() -> client.count(CDS) >= 1 && client.count(EDS) >= 1
        && client.count(LDS) >= 1 && client.resources(SRDS).size() == routes
        && client.resources(RDS).keySet().containsAll(client.<ScopedRouteConfiguration>resources(SRDS).values()
            .stream().map(ScopedRouteConfiguration::getRouteConfigurationName).toList()));
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void aScopedListenerGetsOneScopeAndOneRouteConfigurationPerHost(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("20", "")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitScopedConfig(client, 2);

      Listener edge = client.<Listener>resources(LDS).get("edge");
      assertThat(AdsClient.hasScopedRoutes(edge)).isTrue();
      assertThat(AdsClient.rdsName(edge)).as("no listener-wide RouteConfiguration").isEmpty();
      ProtoRules.assertValid("listener edge", edge);
      Map<String, ScopedRouteConfiguration> scopes = client.resources(SRDS);
      assertThat(scopes).containsOnlyKeys("edge/chat.example.com", "edge/feed.example.com");
      scopes.forEach((n, s) -> ProtoRules.assertValid(n, s));
      assertThat(scopes.get("edge/chat.example.com").getKey().getFragments(0).getStringKey())
          .isEqualTo("chat.example.com");
      Map<String, RouteConfiguration> routes = client.resources(RDS);
      assertThat(routes).containsOnlyKeys("edge/chat.example.com", "edge/feed.example.com");
      assertThat(XdsPushIT.weightOf(routes.get("edge/chat.example.com"), "v2")).isEqualTo("2000");
      assertThat(routes.get("edge/feed.example.com").getVirtualHosts(0).getDomainsList())
          .containsExactly("feed.example.com");
      assertThat(client.error()).isNull();
      // /status follows the per-host RouteConfiguration the route lives in
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status")
          .contains("\"nodesOnCurrentWeights\" : \"1/1\""));
      assertThat(ebb.admin("/config_dump")).contains("\"SRDS\":[{\"name\":\"edge/chat.example.com\"");
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void aWeightChangeSendsOneSmallRouteConfigurationAndNothingElse(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("20", NEWS)).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitScopedConfig(client, 3);
      int lds = client.count(LDS);
      int cds = client.count(CDS);
      int eds = client.count(EDS);
      int srds = client.count(SRDS);
      int rds = client.count(RDS);
      byte[] listener = client.rawBytes(LDS).get("edge");

      ebb.write(yaml("35", NEWS));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) > rds);
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3)).until(() -> client.count(RDS) == rds + 1);
      AdsClient.Received push = client.lastOf(RDS);
      assertThat(push.names()).containsExactly("edge/chat.example.com");
      int bytes = client.rawBytes(RDS).get("edge/chat.example.com").length;
      System.out.println("ScopedRoutesIT (" + variant + "): a weight change sent 1 RouteConfiguration of " + bytes
          + " bytes");
      assertThat(bytes).as("a few hundred bytes").isLessThan(400);
      assertThat(XdsPushIT.weightOf(client.<RouteConfiguration>resources(RDS).get("edge/chat.example.com"), "v2"))
          .isEqualTo("3500");
      assertThat(client.count(LDS)).isEqualTo(lds);
      assertThat(client.count(CDS)).isEqualTo(cds);
      assertThat(client.count(EDS)).isEqualTo(eds);
      assertThat(client.count(SRDS)).isEqualTo(srds);
      assertThat(client.rawBytes(LDS).get("edge")).isEqualTo(listener);
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status")
          .contains("\"nodesOnCurrentWeights\" : \"1/1\""));
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void addingOrRemovingAHostChangesScopesAndRoutesNeverTheListener(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("20", "")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitScopedConfig(client, 2);
      int lds = client.count(LDS);
      byte[] listener = client.rawBytes(LDS).get("edge");
      int srds = client.count(SRDS);

      ebb.write(yaml("20", NEWS));
      awaitScopedConfig(client, 3);
      assertThat(client.<ScopedRouteConfiguration>resources(SRDS)).containsKey("edge/news.example.com");
      assertThat(client.<RouteConfiguration>resources(RDS)).containsKey("edge/news.example.com");
      assertThat(client.count(SRDS)).isEqualTo(srds + 1);

      ebb.write(yaml("20", ""));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(SRDS).size() == 2);
      assertThat(client.<ScopedRouteConfiguration>resources(SRDS)).containsOnlyKeys("edge/chat.example.com",
          "edge/feed.example.com");
      if (variant == AdsClient.Variant.DELTA) {
        assertThat(client.lastOf(SRDS).removed()).containsExactly("edge/news.example.com");
      }
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3)).until(() -> client.count(LDS) == lds);
      assertThat(client.rawBytes(LDS).get("edge")).isEqualTo(listener);
      assertThat(client.error()).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void aNackedScopeUpdateIsRecordedAndNotSentAgain(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("20", "")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitScopedConfig(client, 2);
      int srds = client.count(SRDS);
      client.nackNext(SRDS, "scope key conflict found (test rejection)");
      ebb.write(yaml("20", NEWS));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(SRDS) == srds + 1);
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.nacks.stream()
          .anyMatch(n -> n.endsWith("SRDS: scope key conflict found (test rejection)")));
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status")
          .contains("scope key conflict found (test rejection)"));
      // no resend loop: a weight change goes through by RDS, and SRDS was sent exactly once
      int rds = client.count(RDS);
      ebb.write(yaml("30", NEWS));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) > rds);
      assertThat(client.count(SRDS)).isEqualTo(srds + 1);
    }
  }

  /** SPEC 2.6 for scoped routes: a per-host RouteConfiguration never names a cluster the node has not ACKed. */
  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void aPerHostRouteConfigurationWaitsForItsClustersAck(AdsClient.Variant variant) {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("20", "")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      awaitScopedConfig(client, 2);
      int rds = client.count(RDS);

      client.holdAcks(CDS); // like Envoy while the new cluster warms
      // in one edit: a new host on a new cluster, and chat's canary moves to that cluster
      ebb.write(yaml("50", """
            - name: news
              hosts: ["news.example.com"]
              stable: v3
          """).replace("canary: v2", "canary: v3").replace("backends:\n",
          "backends:\n  - name: v3\n    endpoints: [\"127.0.0.1:9003\"]\n"));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(CDS).containsKey("v3")
          && client.resources(EDS).containsKey("v3"));
      // the scope comes at once (it names no cluster); the RouteConfigurations wait for the cluster's ACK
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(SRDS).containsKey("edge/news.example.com"));
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3))
          .until(() -> !client.resources(RDS).containsKey("edge/news.example.com"));
      assertThat(client.count(RDS)).isEqualTo(rds);
      assertThat(XdsPushIT.weightOf(client.<RouteConfiguration>resources(RDS).get("edge/chat.example.com"), "v3"))
          .isEqualTo("0");

      client.releaseAcks();
      await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(RDS).containsKey("edge/news.example.com"));
      await().atMost(Duration.ofSeconds(10)).until(() -> XdsPushIT.weightOf(
          client.<RouteConfiguration>resources(RDS).get("edge/chat.example.com"), "v3").equals("5000"));
    }
  }

  @Test
  void aWildcardHostOnTheScopedListenerIsRefusedAndTheOtherRoutesGoOn() {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("20", "")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      awaitScopedConfig(client, 2);
      int rds = client.count(RDS);
      ebb.write(yaml("40", """
            - name: wild
              hosts: ["*.example.com"]
              stable: v1
          """));
      String message = "route wild: hosts: *.example.com is a wildcard host, which listener edge cannot serve: it"
          + " has routeScoping: host, and scoped routes match exact host names only (no wildcard, no fallback scope)";
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains(message));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) > rds);
      assertThat(XdsPushIT.weightOf(client.<RouteConfiguration>resources(RDS).get("edge/chat.example.com"), "v2"))
          .isEqualTo("4000");
      assertThat(client.<ScopedRouteConfiguration>resources(SRDS)).containsOnlyKeys("edge/chat.example.com",
          "edge/feed.example.com");
    }
  }

  @Test
  void proxylessGrpcClientsGetTheirPerHostListenersAsBefore() {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("20", "")).start();
        AdsClient grpc = new AdsClient(ebb.xdsPort(), AdsClient.Variant.SOTW, "grpc-1", "grpc-java", "").start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> grpc.resources(LDS).size() == 2
          && grpc.resources(RDS).size() == 2);
      assertThat(grpc.<Listener>resources(LDS)).containsOnlyKeys("chat.example.com", "feed.example.com");
      assertThat(grpc.<RouteConfiguration>resources(RDS)).containsOnlyKeys("chat.example.com", "feed.example.com");
      assertThat(grpc.count(SRDS)).isZero();
      assertThat(List.copyOf(grpc.<RouteConfiguration>resources(RDS).get("chat.example.com").getVirtualHosts(0)
          .getDomainsList())).containsExactly("chat.example.com", "chat.example.com:*");
    }
  }
}
