package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SPEC 5: every proxyless gRPC client family follows Ebb's weights, keeps its streams on their version through
 * shift, rollback and promotion, reports load where it can, and sees a drain end. Each family validates config
 * its own way: any NACK fails the test with the client's own message.
 */
class InteropIT {
  @TempDir
  Path dir;
  final MovableClock clock = new MovableClock();

  /** The one route "chat" (grpc, 15m drains) over v1 and v2 on the given ports. */
  static String yaml(String stable, String canary, String weight, int v1Port, int v2Port) {
    return DrainIT.yaml(stable, canary, weight, "15m", "\"127.0.0.1:" + v1Port + "\"", v2Port);
  }

  private static void assertNoNack(EbbFixture ebb, XdsClientDriver client) {
    assertThat(ebb.nacks).as("%s rejected config Ebb sent it", client.client()).isEmpty();
  }

  /** Waits until {@code n} calls in a row reach {@code backend}: the client has applied the new weights. */
  private static void awaitAllCallsTo(EbbFixture ebb, XdsClientDriver client, String backend) {
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      assertNoNack(ebb, client);
      return client.split(20).equals(Map.of(backend, 20));
    });
  }

  private static boolean served(EbbFixture ebb, String backend) {
    return ebb.server().pipeline().published().orElseThrow().desired().backends().stream()
        .anyMatch(b -> b.backend().name().equals(backend));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientFamily.class)
  void weightsStreamsDrainsAndLoadReports(ClientFamily family) throws Exception {
    Optional<String> unavailable = family.unavailable();
    if (unavailable.isPresent()) {
      // printed too, so the skip and its reason are in the build output, not only in the XML reports
      System.out.println("SKIPPED InteropIT[" + family.label() + "]: " + unavailable.get());
      Assumptions.abort(unavailable.get());
    }
    try (EchoBackend v1 = new EchoBackend("v1"); EchoBackend v2 = new EchoBackend("v2");
        EbbFixture ebb = new EbbFixture(dir, yaml("v1", "v2", "20", v1.port(), v2.port())).withClock(clock).start();
        XdsClientDriver client = family.start(ebb.xdsPort(), "interop-" + family.label(), dir)) {
      System.out.println("InteropIT: " + client.client());
      // 1. a 20% canary gets about 20% of new calls
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        assertNoNack(ebb, client);
        return client.split(40).keySet().equals(java.util.Set.of("v1", "v2"));
      });
      Map<String, Integer> counts = client.split(1000);
      assertThat(counts).as("%s: calls per backend", client.client()).containsOnlyKeys("v1", "v2");
      assertThat(counts.get("v2") / 10.0).as("%s: percent of new calls on the canary, %s", client.client(), counts)
          .isBetween(16.0, 24.0);
      assertNoNack(ebb, client);

      // 2. streams keep their backend through a full shift, a rollback and a promotion
      ebb.writeAndAwaitPublish(yaml("v1", "v2", "0", v1.port(), v2.port()));
      awaitAllCallsTo(ebb, client, "v1");
      List<String> expected = new ArrayList<>(client.open(8));
      assertThat(expected).containsOnly("v1");
      ebb.writeAndAwaitPublish(yaml("v1", "v2", "100", v1.port(), v2.port()));
      awaitAllCallsTo(ebb, client, "v2");
      assertThat(client.ping()).as("%s: streams after the shift", client.client()).isEqualTo(expected);
      List<String> onV2 = client.open(4);
      assertThat(onV2).containsOnly("v2");
      expected.addAll(onV2);
      ebb.writeAndAwaitPublish(yaml("v1", "v2", "0", v1.port(), v2.port()));
      awaitAllCallsTo(ebb, client, "v1");
      assertThat(client.ping()).as("%s: streams after the rollback", client.client()).isEqualTo(expected);
      ebb.writeAndAwaitPublish(yaml("v2", null, null, v1.port(), v2.port()));
      awaitAllCallsTo(ebb, client, "v2");
      assertThat(client.ping()).as("%s: streams after the promotion", client.client()).isEqualTo(expected);
      assertThat(v1.openStreams.get()).isEqualTo(8);
      assertThat(served(ebb, "v1")).as("v1 drains: its cluster stays").isTrue();

      // 3. load reports count the streams v1 still holds (every family reports; not every one counts idle streams)
      await().atMost(Duration.ofSeconds(15)).until(() -> ebb.server().load().reportingNodes() == 1);
      if (client.countsIdleStreams()) {
        await().atMost(Duration.ofSeconds(15)).until(() ->
            ebb.server().load().openStreams("v1").orElse(-1) == 8);
      }

      // 4. the drain ends: early once reports show v1 idle; at its deadline where reports cannot show it
      client.closeStreams();
      await().atMost(Duration.ofSeconds(10)).until(() -> v1.openStreams.get() == 0);
      if (client.countsIdleStreams()) {
        await().atMost(Duration.ofSeconds(15)).until(() -> !served(ebb, "v1"));
        assertThat(ebb.admin("/status")).contains("\"outcome\" : \"idle\"");
      } else {
        // its zero reports prove nothing (streams could be open and idle): no early end, the deadline decides
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> served(ebb, "v1"));
        ebb.advance(Duration.ofMinutes(16));
        await().atMost(Duration.ofSeconds(10)).until(() -> !served(ebb, "v1"));
        assertThat(ebb.admin("/status")).contains("\"outcome\" : \"expired\"");
      }
      assertThat(client.split(50)).isEqualTo(Map.of("v2", 50));
      assertThat(Collections.frequency(client.open(2), "v2")).isEqualTo(2);
      assertNoNack(ebb, client);
    }
  }
}
