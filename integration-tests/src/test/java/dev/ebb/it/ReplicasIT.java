package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.EDS;
import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static dev.ebb.it.KubernetesIT.V1;
import static dev.ebb.it.KubernetesIT.V2;
import static dev.ebb.it.KubernetesIT.health;
import static dev.ebb.it.KubernetesIT.weight;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC 5: same input, same versions and bytes on every replica, at every step of a release, including the
 * steps one replica decides (an early drain end, on the leader's load reports) and a replica that starts in the
 * middle of a drain.
 */
class ReplicasIT {
  MockApiServer api;
  final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void start() {
    api = new MockApiServer().start();
  }

  @AfterEach
  void stop() throws Exception {
    List<AutoCloseable> closing = new ArrayList<>(open);
    java.util.Collections.reverse(closing);
    for (AutoCloseable c : closing) {
      try {
        c.close();
      } catch (RuntimeException e) {
        // closed by the test already
      }
    }
    api.close();
  }

  private <T extends AutoCloseable> T keep(T c) {
    open.add(c);
    return c;
  }

  private static String version(KubeEbb e) {
    return e.server.pipeline().published().orElseThrow().snapshot().version();
  }

  private static boolean sameBytes(AdsClient a, AdsClient b) {
    for (String type : List.of(LDS, CDS, EDS, RDS)) {
      // a state-of-the-world client keeps the endpoints of a removed cluster (EDS responses are partial): compare
      // what the clusters in force use
      Map<String, byte[]> x = new java.util.TreeMap<>(a.rawBytes(type));
      Map<String, byte[]> y = new java.util.TreeMap<>(b.rawBytes(type));
      if (type.equals(EDS)) {
        x.keySet().retainAll(a.rawBytes(CDS).keySet());
        y.keySet().retainAll(b.rawBytes(CDS).keySet());
      }
      if (!x.keySet().equals(y.keySet()) || x.keySet().stream().anyMatch(n -> !Arrays.equals(x.get(n), y.get(n)))) {
        return false;
      }
    }
    return true;
  }

  /** Every replica publishes the same version, and their clients hold the same resources, byte for byte. */
  private static void assertSame(String step, KubeEbb a, AdsClient toA, KubeEbb b, AdsClient toB) {
    await(step).atMost(Duration.ofSeconds(15)).until(() -> !toA.rawBytes(CDS).isEmpty()
        && !toA.rawBytes(RDS).isEmpty() && !toB.rawBytes(RDS).isEmpty()
        && version(a).equals(version(b)) && sameBytes(toA, toB));
  }

  private static long idleTimeoutSeconds(AdsClient c) {
    RouteConfiguration rc = c.<RouteConfiguration>resources(RDS).get("edge");
    return rc == null ? -1 : rc.getVirtualHosts(0).getRoutes(0).getRoute().getIdleTimeout().getSeconds();
  }

  private void promote(String to) {
    api.editService("chat", s -> {
      s.getMetadata().getAnnotations().put("ebb.dev/stable", to);
      s.getMetadata().getAnnotations().remove("ebb.dev/canary");
      s.getMetadata().getAnnotations().remove("ebb.dev/canary-weight");
      return s;
    });
  }

  private String status() {
    return api.annotations("chat").getOrDefault("ebb.dev/status", "");
  }

  @Test
  void everyReplicaServesTheSameConfigAtEveryStep() {
    KubernetesIT.createChat(api, "20");
    KubeEbb a = keep(new KubeEbb(api, "ebb-a", 0).awaitReady());
    KubeEbb b = keep(new KubeEbb(api, "ebb-b", 0).awaitReady());
    AdsClient toA = keep(AdsClient.envoy(a.xdsPort(), AdsClient.Variant.SOTW));
    AdsClient toB = keep(AdsClient.envoy(b.xdsPort(), AdsClient.Variant.DELTA));
    await().atMost(Duration.ofSeconds(10)).until(() -> a.server.leader() ^ b.server.leader());
    assertSame("start", a, toA, b, toB);

    api.annotate("chat", "ebb.dev/canary-weight", "35");
    await().atMost(Duration.ofSeconds(10)).until(() -> weight(toA, V2).equals("3500") && weight(toB, V2).equals("3500"));
    assertSame("shift", a, toA, b, toB);

    promote("chat-v2");
    await().atMost(Duration.ofSeconds(10)).until(() -> status().contains("\"draining\":[{\"backend\":\"" + V1 + "\""));
    assertSame("promotion", a, toA, b, toB);
    assertThat(health(toA, V1)).containsOnlyKeys("10.0.1.1", "10.0.1.2");

    KubeEbb leader = a.server.leader() ? a : b;
    KubeEbb follower = leader == a ? b : a;
    AdsClient toLeader = leader == a ? toA : toB;
    AdsClient toFollower = leader == a ? toB : toA;
    // a follower's own load reports never end a drain: only the leader decides, for every replica
    try (LrsClient onFollower = new LrsClient(follower.xdsPort(), "envoy-on-follower")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> !onFollower.responses.isEmpty());
      onFollower.report(Map.of());
      onFollower.report(Map.of());
      await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() ->
          toFollower.resources(CDS).containsKey(V1) && toLeader.resources(CDS).containsKey(V1));
    }
    try (LrsClient onLeader = new LrsClient(leader.xdsPort(), "envoy-on-leader")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> !onLeader.responses.isEmpty());
      onLeader.report(Map.of());
      onLeader.report(Map.of());
      await().atMost(Duration.ofSeconds(15)).until(() -> !toA.resources(CDS).containsKey(V1)
          && !toB.resources(CDS).containsKey(V1));
    }
    assertThat(status()).contains("\"endedEarly\":[{\"backend\":\"" + V1 + "\"").contains("reporting node");
    assertSame("early drain end", a, toA, b, toB);

    // a NACK on the follower's stream becomes a Warning Event, written by the follower (only it saw it)
    toFollower.nackNext(RDS, "test: only the follower saw this");
    api.annotate("chat", "ebb.dev/idle-timeout", "2h");
    String followerId = follower == a ? "ebb-a" : "ebb-b";
    await().atMost(Duration.ofSeconds(10)).until(() -> api.events("chat").stream().anyMatch(e ->
        e.getReason().equals("ConfigRejected") && e.getMessage().endsWith("test: only the follower saw this")
            && followerId.equals(e.getReportingInstance())));
    api.annotate("chat", "ebb.dev/idle-timeout", "3h");
    await().atMost(Duration.ofSeconds(10)).until(() -> idleTimeoutSeconds(toA) == 10800
        && idleTimeoutSeconds(toB) == 10800);
    assertSame("after a NACK", a, toA, b, toB);

    // a second release: chat-v1 comes back as canary and is promoted; chat-v2, named by no route, drains
    api.annotate("chat", "ebb.dev/canary", "chat-v1");
    api.annotate("chat", "ebb.dev/canary-weight", "50");
    await().atMost(Duration.ofSeconds(10)).until(() -> weight(toA, V1).equals("5000") && weight(toB, V1).equals("5000"));
    promote("chat-v1");
    await().atMost(Duration.ofSeconds(10)).until(() -> status().contains("\"draining\":[{\"backend\":\"" + V2 + "\""));
    assertSame("second promotion", a, toA, b, toB);

    // the leader stops; a new replica starts in the middle of the drain: it serves the draining cluster with
    // every endpoint its Service has, the same bytes as the replica that saw the drain begin
    leader.close();
    await().atMost(Duration.ofSeconds(15)).until(() -> follower.server.leader());
    KubeEbb c = keep(new KubeEbb(api, "ebb-c", 0).awaitReady());
    AdsClient toC = keep(AdsClient.envoy(c.xdsPort(), AdsClient.Variant.SOTW));
    await().atMost(Duration.ofSeconds(10)).until(() -> toC.resources(EDS).containsKey(V2));
    assertThat(health(toC, V2)).containsOnly(Map.entry("10.0.2.1", HealthStatus.HEALTHY));
    assertSame("new replica mid-drain", follower, toFollower, c, toC);
  }
}
