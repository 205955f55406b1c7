package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.EDS;
import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static dev.ebb.it.MockApiServer.Ep;
import static dev.ebb.it.MockApiServer.backendService;
import static dev.ebb.it.MockApiServer.routeService;
import static dev.ebb.it.MockApiServer.slice;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** SPEC section 3 against fabric8's mock API server (CRUD mode), with Envoy-like ADS clients. */
class KubernetesIT {
  static final String V1 = "default/chat-v1/80";
  static final String V2 = "default/chat-v2/80";
  MockApiServer api;

  @BeforeEach
  void start() {
    api = new MockApiServer().start();
  }

  @AfterEach
  void stop() {
    api.close();
  }

  static Map<String, String> chat(String weight) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put("ebb.dev/hosts", "chat.example.com");
    a.put("ebb.dev/stable", "chat-v1");
    a.put("ebb.dev/canary", "chat-v2");
    a.put("ebb.dev/canary-weight", weight);
    a.put("ebb.dev/drain-timeout", "10m");
    return a;
  }

  void createChat(String weight) {
    createChat(api, weight);
  }

  static void createChat(MockApiServer api, String weight) {
    api.apply(backendService("chat-v1"));
    api.apply(backendService("chat-v2"));
    api.apply(slice("chat-v1", "chat-v1-a", Ep.ready("10.0.1.1", "zone-a"), Ep.ready("10.0.1.2", "zone-b")));
    api.apply(slice("chat-v2", "chat-v2-a", Ep.ready("10.0.2.1", "zone-a")));
    api.apply(routeService("chat", chat(weight)));
  }

  static String weight(AdsClient c, String cluster) {
    return XdsPushIT.weightOf(c.<RouteConfiguration>resources(RDS).get("edge"), cluster);
  }

  static Map<String, HealthStatus> health(AdsClient c, String cluster) {
    ClusterLoadAssignment cla = c.<ClusterLoadAssignment>resources(EDS).get(cluster);
    return cla.getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream())
        .collect(Collectors.toMap(e -> e.getEndpoint().getAddress().getSocketAddress().getAddress(),
            LbEndpoint::getHealthStatus));
  }

  @Test
  void objectsInXdsOutAndAnAnnotationPatchChangesOnlyRoutes() {
    createChat("20");
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0).awaitReady();
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.resources(EDS).size() == 2
          && envoy.count(RDS) >= 1);
      assertThat(envoy.resources(CDS)).containsOnlyKeys(V1, V2);
      assertThat(envoy.<Cluster>resources(CDS).get(V1).getType()).isEqualTo(Cluster.DiscoveryType.EDS);
      ClusterLoadAssignment v1 = envoy.<ClusterLoadAssignment>resources(EDS).get(V1);
      assertThat(v1.getEndpointsList()).extracting(l -> l.getLocality().getZone()).containsExactly("zone-a", "zone-b");
      assertThat(v1.getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress().getPortValue())
          .isEqualTo(8080);
      assertThat(health(envoy, V1)).containsOnly(Map.entry("10.0.1.1", HealthStatus.HEALTHY),
          Map.entry("10.0.1.2", HealthStatus.HEALTHY));
      assertThat(weight(envoy, V2)).isEqualTo("2000");

      int lds = envoy.count(LDS);
      int cds = envoy.count(CDS);
      int eds = envoy.count(EDS);
      int rds = envoy.count(RDS);
      api.annotate("chat", "ebb.dev/canary-weight", "35.5");
      await().atMost(Duration.ofSeconds(10)).until(() -> weight(envoy, V2).equals("3550"));
      assertThat(envoy.count(RDS)).isEqualTo(rds + 1);
      assertThat(envoy.count(LDS)).isEqualTo(lds);
      assertThat(envoy.count(CDS)).isEqualTo(cds);
      assertThat(envoy.count(EDS)).isEqualTo(eds);

      // the leader writes the status annotation and Events, and its own write causes no push
      await().atMost(Duration.ofSeconds(10)).until(() -> api.annotations("chat")
          .getOrDefault("ebb.dev/status", "").contains("\"" + V2 + "\":\"35.5\""));
      await().atMost(Duration.ofSeconds(10)).until(() -> api.events("chat").stream()
          .anyMatch(e -> e.getReason().equals("WeightApplied") && e.getMessage().contains(V2 + " 35.5%")));
      assertThat(envoy.count(RDS)).isEqualTo(rds + 1);
    }
  }

  @Test
  void aProxyNackBecomesAConfigRejectedWarningEvent() {
    createChat("20");
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0).awaitReady();
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.count(RDS) >= 1 && ebb.server.leader());
      envoy.nackNext(RDS, "weighted_clusters: unknown cluster (test)");
      api.annotate("chat", "ebb.dev/canary-weight", "30");
      await().atMost(Duration.ofSeconds(10)).until(() -> api.events("chat").stream()
          .anyMatch(e -> e.getType().equals("Warning") && e.getReason().equals("ConfigRejected")
              && e.getMessage().contains("node envoy-sotw rejected RDS version")
              && e.getMessage().endsWith("weighted_clusters: unknown cluster (test)")));
    }
  }

  @Test
  void aRouteWhoseStatusCannotBeWrittenHoldsUpNoOtherRoute() {
    createChat("20");
    Map<String, String> other = chat("5");
    other.put("ebb.dev/hosts", "feed.example.com");
    api.apply(routeService("feed", other));
    // "chat" sorts before "feed": a failure that escaped the loop would leave feed without status
    var refusals = new java.util.concurrent.atomic.AtomicInteger();
    api.refusePatches.put("chat", refusals);
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0).awaitReady()) {
      await().atMost(Duration.ofSeconds(15)).until(() -> api.annotations("feed").getOrDefault("ebb.dev/status", "")
          .contains("\"" + V2 + "\":\"5\""));
      await().atMost(Duration.ofSeconds(10)).until(() -> refusals.get() >= 2);
      assertThat(api.annotations("chat")).doesNotContainKey("ebb.dev/status");
      String status = ebb.admin("/status");
      assertThat(status).contains("status of service default/chat not written").contains("Forbidden");
      assertThat(LoadReportIT.metric(ebb.admin("/metrics"), "ebb_status_write_failures_total"))
          .isGreaterThanOrEqualTo(2.0);
      // the permission comes back: chat gets its status at the next try, and /status no longer shows a failure
      api.refusePatches.remove("chat");
      await().atMost(Duration.ofSeconds(15)).until(() -> api.annotations("chat").containsKey("ebb.dev/status"));
      await().atMost(Duration.ofSeconds(5)).until(() -> !ebb.admin("/status").contains("not written"));
    }
  }

  @Test
  void terminatingPodsDrainThenLeave() {
    createChat("20");
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0).awaitReady();
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.DELTA)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.resources(EDS).size() == 2);
      // a v1 pod starts terminating: still serving its streams, no new ones
      api.apply(slice("chat-v1", "chat-v1-a", Ep.ready("10.0.1.1", "zone-a"), Ep.terminating("10.0.1.2", "zone-b")));
      await().atMost(Duration.ofSeconds(10)).until(() -> health(envoy, V1).get("10.0.1.2") == HealthStatus.DRAINING);
      assertThat(health(envoy, V1).get("10.0.1.1")).isEqualTo(HealthStatus.HEALTHY);
      // it is gone: removed (v1 is not draining)
      api.apply(slice("chat-v1", "chat-v1-a", Ep.ready("10.0.1.1", "zone-a")));
      await().atMost(Duration.ofSeconds(10)).until(() -> !health(envoy, V1).containsKey("10.0.1.2"));

      // a draining backend keeps a vanished pod, DRAINING, until its deadline
      api.annotate("chat", "ebb.dev/canary-weight", "0");
      await().atMost(Duration.ofSeconds(10)).until(() -> weight(envoy, V2).equals("0"));
      api.apply(slice("chat-v2", "chat-v2-a"));
      await().atMost(Duration.ofSeconds(10)).until(() -> health(envoy, V2).get("10.0.2.1") == HealthStatus.DRAINING);
    }
  }

  // every rejection message is a table case of the pure AnnotationParserTest (api/); these few show the whole
  // path end to end: Warning Event, status annotation, metric, and the last good config kept
  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', value = {
      "ebb.dev/canary-weight      | 150    | service default/chat: ebb.dev/canary-weight: 150 is out of range 0..100",
      "ebb.dev/canary             | nope   | service default/chat: ebb.dev/canary: service default/nope does not exist",
      "ebb.dev/drain-timeout      | soon   | service default/chat: ebb.dev/drain-timeout: \"soon\" is not a duration (use a number with a unit: 90s, 30m, 2h)",
      "ebb.dev/canary-wieght      | 50     | service default/chat: ebb.dev/canary-wieght: 50 is not a known annotation",
  })
  void invalidAnnotationGivesAWarningEventAndKeepsTheLastGoodConfig(String annotation, String value,
      String message) {
    createChat("20");
    Map<String, String> other = chat("5");
    other.put("ebb.dev/hosts", "feed.example.com");
    api.apply(routeService("feed", other));
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0).awaitReady();
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.count(RDS) >= 1 && envoy.resources(EDS).size() == 2);
      api.annotate("chat", annotation, value);
      // counted alone, although the model did not change (chat keeps its last good config)
      await().atMost(Duration.ofSeconds(10)).until(() ->
          LoadReportIT.metric(ebb.admin("/metrics"), "ebb_rejected_inputs_total") >= 1.0);
      api.annotate("feed", "ebb.dev/canary-weight", "7");
      await().atMost(Duration.ofSeconds(10)).until(() -> api.events("chat").stream()
          .anyMatch(e -> e.getType().equals("Warning") && e.getReason().equals("InvalidAnnotation")
              && e.getMessage().startsWith(message)));
      // chat keeps its last good weights; feed's change went through
      await().atMost(Duration.ofSeconds(10)).until(() -> feedWeight(envoy).equals("700"));
      assertThat(chatWeight(envoy)).isEqualTo("2000");
      await().atMost(Duration.ofSeconds(10)).until(() -> api.annotations("chat").getOrDefault("ebb.dev/status", "")
          .contains(message.replace("\"", "\\\"")));
      assertThat(ebb.server.notReadyReason()).isEmpty();
    }
  }

  static String chatWeight(AdsClient c) {
    return vhostWeight(c, "chat.example.com");
  }

  static String feedWeight(AdsClient c) {
    return vhostWeight(c, "feed.example.com");
  }

  static String vhostWeight(AdsClient c, String host) {
    RouteConfiguration rc = c.<RouteConfiguration>resources(RDS).get("edge");
    var vh = rc.getVirtualHostsList().stream().filter(v -> v.getName().equals(host)).findFirst().orElseThrow();
    return vh.getRoutes(0).getRoute().getWeightedClusters().getClustersList().stream()
        .filter(w -> w.getName().endsWith("/chat-v2/80")).map(w -> String.valueOf(w.getWeight().getValue()))
        .findFirst().orElse("0");
  }

  @Test
  void nothingIsPublishedBeforeSyncAndAnApiServerRestartKeepsTheConfig() {
    createChat("20");
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0);
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> envoy.count(CDS) >= 1 && envoy.count(RDS) >= 1);
      // the very first CDS response already holds the clusters: never an empty config
      assertThat(envoy.received(CDS).get(0).names()).containsExactly(V1, V2);

      int cds = envoy.count(CDS);
      api.stop();
      // API server down: Ebb keeps serving what it had
      await().atMost(Duration.ofSeconds(10)).until(() -> !((dev.ebb.kube.KubernetesSource) ebb.server.source())
          .watching());
      assertThat(envoy.resources(CDS)).containsOnlyKeys(V1, V2);
      assertThat(envoy.count(CDS)).isEqualTo(cds);
      assertThat(ebb.server.notReadyReason()).isEmpty();

      api.start();
      api.annotate("chat", "ebb.dev/canary-weight", "60");
      await().atMost(Duration.ofSeconds(20)).until(() -> weight(envoy, V2).equals("6000"));
      assertThat(envoy.resources(CDS)).containsOnlyKeys(V1, V2);
    }
  }

  @Test
  void twoReplicasServeTheSameVersionsAndTheFollowerTakesOverWithTheSameDeadlines() throws Exception {
    createChat("20");
    try (KubeEbb a = new KubeEbb(api, "ebb-a", 0).awaitReady();
        KubeEbb b = new KubeEbb(api, "ebb-b", 0).awaitReady();
        AdsClient toA = AdsClient.envoy(a.xdsPort(), AdsClient.Variant.SOTW);
        AdsClient toB = AdsClient.envoy(b.xdsPort(), AdsClient.Variant.DELTA)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> a.server.leader() ^ b.server.leader());
      // promotion: chat-v1 drains
      api.annotate("chat", "ebb.dev/stable", "chat-v2");
      api.annotate("chat", "ebb.dev/canary-weight", "0");
      api.editService("chat", s -> {
        s.getMetadata().getAnnotations().remove("ebb.dev/canary");
        s.getMetadata().getAnnotations().remove("ebb.dev/canary-weight");
        return s;
      });
      await().atMost(Duration.ofSeconds(10)).until(() -> api.annotations("chat").getOrDefault("ebb.dev/status", "")
          .contains("\"draining\":[{\"backend\":\"" + V1 + "\""));
      await().atMost(Duration.ofSeconds(10)).until(() -> weight(toA, V2).equals("10000")
          && weight(toB, V2).equals("10000"));
      assertThat(a.server.pipeline().published().orElseThrow().snapshot().version())
          .isEqualTo(b.server.pipeline().published().orElseThrow().snapshot().version());
      assertThat(toA.rawBytes(RDS).get("edge")).isEqualTo(toB.rawBytes(RDS).get("edge"));
      toA.rawBytes(CDS).forEach((name, bytes) -> assertThat(toB.rawBytes(CDS).get(name)).isEqualTo(bytes));
      // only the leader wrote: the status annotation and every Event name it as their writer
      String leaderId = a.server.leader() ? "ebb-a" : "ebb-b";
      assertThat(api.admin().leases().inNamespace(MockApiServer.NS).withName("ebb-leader").get().getSpec()
          .getHolderIdentity()).isEqualTo(leaderId);
      assertThat(api.annotations("chat").get("ebb.dev/status")).contains("\"writer\":\"" + leaderId + "\"");
      assertThat(api.events("chat")).isNotEmpty().allSatisfy(e ->
          assertThat(e.getReportingInstance()).isEqualTo(leaderId));
      String deadline = deadline(api.annotations("chat").get("ebb.dev/status"));

      KubeEbb leader = a.server.leader() ? a : b;
      KubeEbb follower = leader == a ? b : a;
      leader.close();
      await().atMost(Duration.ofSeconds(15)).until(() -> follower.server.leader());
      // the new leader writes the same drain deadline (it adopted the recorded start)
      api.annotate("chat", "ebb.dev/idle-timeout", "2h"); // any change: the new leader rewrites status
      await().atMost(Duration.ofSeconds(10)).until(() -> follower.server.pipeline().published().orElseThrow()
          .desired().routes().get(0).route().idleTimeout().equals(Duration.ofHours(2)));
      await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() ->
          deadline(api.annotations("chat").get("ebb.dev/status")).equals(deadline));
    }
  }

  static String deadline(String status) {
    int i = status.indexOf("\"deadline\":\"");
    return i < 0 ? "" : status.substring(i + 12, status.indexOf('"', i + 12));
  }
}
