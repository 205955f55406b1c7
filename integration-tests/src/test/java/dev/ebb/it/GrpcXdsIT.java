package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with grpc-java's own xDS client as the data plane: weights split new calls, and established
 * streams stay on the backend they started on through a full shift and a rollback.
 */
class GrpcXdsIT {
  private static final Duration PING = Duration.ofSeconds(5);
  @TempDir
  Path dir;
  EchoBackend v1;
  EchoBackend v2;
  EbbFixture ebb;
  ManagedChannel channel;

  @BeforeEach
  void start() {
    v1 = new EchoBackend("v1");
    v2 = new EchoBackend("v2");
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      XdsChannel.close(channel);
    }
    if (ebb != null) {
      ebb.close();
    }
    v1.close();
    v2.close();
  }

  private String yaml(String weight) {
    return EbbFixture.chat("grpc", "v1", "v2", weight, v1.port(), v2.port());
  }

  private String who() {
    return ClientCalls.blockingUnaryCall(channel, EchoBackend.WHO, CallOptions.DEFAULT
        .withDeadlineAfter(5, java.util.concurrent.TimeUnit.SECONDS), "who");
  }

  private Map<String, Integer> split(int calls) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < calls; i++) {
      counts.merge(who(), 1, Integer::sum);
    }
    return counts;
  }

  /** Waits until the client has the new weights: {@code n} calls in a row went to {@code backend}. */
  private void awaitAllCallsTo(String backend) {
    await().atMost(Duration.ofSeconds(15)).until(() -> {
      for (int i = 0; i < 20; i++) {
        if (!who().equals(backend)) {
          return false;
        }
      }
      return true;
    });
  }

  @Test
  void weightTwentySplitsNewCallsEightyTwenty() {
    ebb = new EbbFixture(dir, yaml("20")).start();
    channel = XdsChannel.open("chat.example.com", ebb.xdsPort(), "grpc-split");
    // the first call waits for the xDS config; wait until both backends are reachable
    AtomicReference<Map<String, Integer>> seen = new AtomicReference<>();
    await().atMost(Duration.ofSeconds(15)).until(() -> {
      seen.set(split(50));
      return seen.get().size() == 2;
    });
    Map<String, Integer> counts = split(2000);
    double v2Share = 100.0 * counts.getOrDefault("v2", 0) / 2000;
    assertThat(v2Share).as("share of new calls on v2, counts %s", counts).isBetween(17.0, 23.0);
    assertThat(counts.get("v1") + counts.get("v2")).isEqualTo(2000);
  }

  @Test
  void streamsSurviveAFullShiftAndARollback() throws Exception {
    ebb = new EbbFixture(dir, yaml("0")).start();
    channel = XdsChannel.open("chat.example.com", ebb.xdsPort(), "grpc-streams");
    awaitAllCallsTo("v1");
    List<ChatStream> onV1 = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      ChatStream s = new ChatStream(channel);
      assertThat(s.ping(PING)).isEqualTo("v1");
      onV1.add(s);
    }
    assertThat(v1.openStreams.get()).isEqualTo(50);

    // full shift by editing the file: new calls go to v2, the 50 streams stay on v1
    ebb.writeAndAwaitPublish(yaml("100"));
    awaitAllCallsTo("v2");
    assertThat(split(200)).containsOnlyKeys("v2");
    for (ChatStream s : onV1) {
      assertThat(s.ping(PING)).isEqualTo("v1");
    }
    assertThat(onV1).noneMatch(ChatStream::broken);
    assertThat(v1.openStreams.get()).isEqualTo(50);

    List<ChatStream> onV2 = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ChatStream s = new ChatStream(channel);
      assertThat(s.ping(PING)).isEqualTo("v2");
      onV2.add(s);
    }

    // rollback: one weight change; new calls go back to v1, streams on v2 stay alive and on v2
    ebb.writeAndAwaitPublish(yaml("0"));
    awaitAllCallsTo("v1");
    assertThat(split(200)).containsOnlyKeys("v1");
    for (ChatStream s : onV2) {
      assertThat(s.ping(PING)).isEqualTo("v2");
    }
    for (ChatStream s : onV1) {
      assertThat(s.ping(PING)).isEqualTo("v1");
    }
    assertThat(onV1).noneMatch(ChatStream::broken);
    assertThat(onV2).noneMatch(ChatStream::broken);
    assertThat(v1.openStreams.get()).isEqualTo(50);
    assertThat(v2.openStreams.get()).isEqualTo(10);
    onV1.forEach(ChatStream::close);
    onV2.forEach(ChatStream::close);
  }
}
