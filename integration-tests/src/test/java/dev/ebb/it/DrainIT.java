package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.EDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC section 2 end to end: drains outlive promotion, restarts and vanished endpoints. Drains are the real
 * default length (15m); the test moves Ebb's clock instead of waiting them out.
 */
class DrainIT {
  private static final Duration PING = Duration.ofSeconds(5);
  private static final String FIFTEEN = "15m";
  final MovableClock clock = new MovableClock();
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  Path dir;

  static String yaml(String stable, String canary, String weight, String drainTimeout, String v1Endpoints,
      int v2Port) {
    return """
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            protocol: grpc
            drainTimeout: %s
            stable: %s
        %s
        backends:
          - name: v1
            endpoints: [%s]
          - name: v2
            endpoints: ["127.0.0.1:%d"]
        """.formatted(drainTimeout, stable,
        canary == null ? "" : "    canary: " + canary + "\n    canaryWeight: " + weight, v1Endpoints, v2Port);
  }

  static Instant deadlineOf(EbbFixture ebb, String backend) throws Exception {
    JsonNode status = JSON.readTree(ebb.admin("/status").substring(4));
    for (JsonNode b : status.get("backends")) {
      if (b.get("name").asText().equals(backend) && b.has("drains")) {
        return Instant.parse(b.get("drains").get(0).get("deadline").asText());
      }
    }
    throw new AssertionError("no drain of " + backend + " in /status");
  }

  /**
   * Moves the clock to just before the deadline (the cluster must stay), then past it, and waits until
   * {@code backend}'s cluster leaves the client's CDS; returns how long that took in real time after the move.
   */
  Duration passDeadlineAndAwaitRemoval(EbbFixture ebb, AdsClient client, String backend, Instant deadline) {
    ebb.advance(Duration.between(clock.instant(), deadline).minusSeconds(1));
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
        .until(() -> client.resources(CDS).containsKey(backend));
    assertThat(clock.instant()).isBefore(deadline);
    ebb.advance(Duration.ofSeconds(2));
    Instant moved = Instant.now();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
        .until(() -> !client.resources(CDS).containsKey(backend));
    Instant removedAt = client.received(CDS).stream().filter(r -> !r.names().contains(backend))
        .map(AdsClient.Received::at).reduce((a, b) -> b).orElseThrow();
    Duration late = Duration.between(moved, removedAt);
    System.out.printf("drain of %s removed %d ms after its deadline passed%n", backend, late.toMillis());
    return late;
  }

  @Test
  void streamsOnTheOldStableSurvivePromotionUntilTheDrainDeadline() throws Exception {
    try (EchoBackend v1 = new EchoBackend("v1"); EchoBackend v2 = new EchoBackend("v2")) {
      String v1Endpoint = "\"127.0.0.1:" + v1.port() + "\"";
      try (EbbFixture ebb = new EbbFixture(dir, yaml("v1", "v2", "0", FIFTEEN, v1Endpoint, v2.port())).withClock(clock)
          .start();
          AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
        ManagedChannel channel = XdsChannel.open("chat.example.com", ebb.xdsPort(), "grpc-drain");
        try {
          List<ChatStream> streams = new ArrayList<>();
          for (int i = 0; i < 20; i++) {
            ChatStream s = new ChatStream(channel);
            assertThat(s.ping(PING)).isEqualTo("v1");
            streams.add(s);
          }
          // promotion: one edit
          ebb.writeAndAwaitPublish(yaml("v2", null, null, FIFTEEN, v1Endpoint, v2.port()));
          Instant deadline = deadlineOf(ebb, "v1");
          await().atMost(Duration.ofSeconds(10)).until(() -> ClientCalls.blockingUnaryCall(channel, EchoBackend.WHO,
              CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "who").equals("v2"));
          int v1Calls = v1.unaryCalls.get();
          // during the drain: v1's cluster is still served and every stream keeps being answered by v1
          assertThat(envoy.resources(CDS)).containsKey("v1");
          for (ChatStream s : streams) {
            assertThat(s.ping(PING)).isEqualTo("v1");
          }
          assertThat(Duration.between(clock.instant(), deadline)).isGreaterThan(Duration.ofMinutes(14));
          // ten minutes on: streams still on v1
          ebb.advance(Duration.ofMinutes(10));
          for (ChatStream s : streams) {
            assertThat(s.ping(PING)).isEqualTo("v1");
          }

          Duration late = passDeadlineAndAwaitRemoval(ebb, envoy, "v1", deadline);
          assertThat(late).isLessThan(Duration.ofSeconds(3));
          for (int i = 0; i < 100; i++) {
            assertThat(ClientCalls.blockingUnaryCall(channel, EchoBackend.WHO,
                CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "who")).isEqualTo("v2");
          }
          assertThat(v1.unaryCalls.get()).isEqualTo(v1Calls);
          assertThat(ebb.admin("/status")).doesNotContain("\"drains\"");
          streams.forEach(ChatStream::close);
        } finally {
          XdsChannel.close(channel);
        }
      }
    }
  }

  @Test
  void aRestartInTheMiddleOfADrainKeepsItsDeadline() throws Exception {
    String v1 = "\"127.0.0.1:9001\"";
    Instant deadline;
    int port;
    try (EbbFixture ebb = new EbbFixture(dir, yaml("v1", "v2", "50", FIFTEEN, v1, 9002)).withClock(clock).start()) {
      ebb.writeAndAwaitPublish(yaml("v2", null, null, FIFTEEN, v1, 9002));
      deadline = deadlineOf(ebb, "v1");
      port = ebb.xdsPort();
    }
    // Ebb is down for ten minutes of the drain
    clock.advance(Duration.ofMinutes(10));
    try (EbbFixture ebb = new EbbFixture(dir, yaml("v2", null, null, FIFTEEN, v1, 9002)).withClock(clock).start(port);
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.DELTA)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.count(EDS) >= 1);
      assertThat(clock.instant()).isBefore(deadline);
      assertThat(envoy.resources(CDS)).containsKey("v1");
      assertThat(deadlineOf(ebb, "v1")).isEqualTo(deadline);
      Duration late = passDeadlineAndAwaitRemoval(ebb, envoy, "v1", deadline);
      assertThat(late).isLessThan(Duration.ofSeconds(1));
    }
  }

  @Test
  void endpointsRemovedDuringADrainStayDrainingUntilTheDeadline() throws Exception {
    String v1 = "\"127.0.0.1:9001\", \"127.0.0.1:9003\"";
    try (EbbFixture ebb = new EbbFixture(dir, yaml("v1", "v2", "50", FIFTEEN, v1, 9002)).withClock(clock).start();
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.resources(EDS).containsKey("v1"));
      ebb.writeAndAwaitPublish(yaml("v2", null, null, FIFTEEN, v1, 9002));
      Instant deadline = deadlineOf(ebb, "v1");
      // the old pods go away: v1's entry now lists no endpoints
      ebb.writeAndAwaitPublish(yaml("v2", null, null, FIFTEEN, "", 9002));
      await().atMost(Duration.ofSeconds(5)).until(() -> {
        ClusterLoadAssignment cla = envoy.<ClusterLoadAssignment>resources(EDS).get("v1");
        return cla != null && cla.getEndpoints(0).getLbEndpointsList().stream()
            .allMatch(e -> e.getHealthStatus() == HealthStatus.DRAINING);
      });
      ClusterLoadAssignment cla = envoy.<ClusterLoadAssignment>resources(EDS).get("v1");
      assertThat(cla.getEndpoints(0).getLbEndpointsList()).extracting(
          e -> e.getEndpoint().getAddress().getSocketAddress().getPortValue()).containsExactly(9001, 9003);
      Duration late = passDeadlineAndAwaitRemoval(ebb, envoy, "v1", deadline);
      assertThat(late).isLessThan(Duration.ofSeconds(3));
    }
  }
}
