package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.RDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC section 9 and the metrics: grpc-java clients report load to Ebb (LRS), /status and /metrics show the
 * streams each version holds, and a drain ends early when the last stream leaves.
 */
class LoadReportIT {
  private static final ObjectMapper JSON = new ObjectMapper();
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

  String yaml(String stable, String canary, String drainTimeout) {
    return DrainIT.yaml(stable, canary, canary == null ? null : "0", drainTimeout, "\"127.0.0.1:" + v1.port() + "\"",
        v2.port());
  }

  JsonNode status() throws Exception {
    return JSON.readTree(ebb.admin("/status").substring(4));
  }

  long openStreams(String backend) throws Exception {
    JsonNode open = status().path("routes").path(0).path("openStreams").path(backend);
    return open.isMissingNode() ? -1 : open.asLong();
  }

  static double metric(String metrics, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  /** docs/METRICS.md and the dashboard name exactly the ebb_* series /metrics exports. */
  static void assertMetricsDocMatches(String metrics) throws Exception {
    java.util.Set<String> exported = new java.util.TreeSet<>();
    Matcher m = Pattern.compile("(?m)^(ebb_[a-z_]+)").matcher(metrics);
    while (m.find()) {
      exported.add(m.group(1).replaceAll("_(bucket|count|sum|max)$", ""));
    }
    String doc = java.nio.file.Files.readString(Path.of("../docs/METRICS.md"));
    java.util.Set<String> documented = new java.util.TreeSet<>();
    Matcher d = Pattern.compile("\\| `(ebb_[a-z_]+)` \\|").matcher(doc);
    while (d.find()) {
      documented.add(d.group(1));
    }
    assertThat(exported).isEqualTo(documented);
    String dashboard = java.nio.file.Files.readString(Path.of("../docs/grafana-dashboard.json"));
    Matcher used = Pattern.compile("(ebb_[a-z_]+)").matcher(dashboard);
    while (used.find()) {
      assertThat(documented).contains(used.group(1).replaceAll("_(bucket|count|sum|max)$", ""));
    }
  }

  List<ChatStream> openOnV1(int n) throws Exception {
    List<ChatStream> streams = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ChatStream s = new ChatStream(channel);
      assertThat(s.ping(PING)).isEqualTo("v1");
      streams.add(s);
    }
    return streams;
  }

  @Test
  void openStreamsShowUpAndADrainEndsWhenTheLastStreamLeaves() throws Exception {
    ebb = new EbbFixture(dir, yaml("v1", "v2", "60s")).start();
    channel = XdsChannel.open("chat.example.com", ebb.xdsPort(), "grpc-lrs");
    List<ChatStream> streams = openOnV1(30);
    // within two report intervals
    await().atMost(EbbFixture.LOAD_REPORT_INTERVAL.multipliedBy(2).plusSeconds(1)).until(() -> openStreams("v1") == 30);
    String metrics = ebb.admin("/metrics");
    assertThat(metric(metrics, "ebb_backend_open_streams{backend=\"v1\"}")).isEqualTo(30.0);
    assertThat(metric(metrics, "ebb_route_open_streams{backend=\"v1\",route=\"chat\"}")).isEqualTo(30.0);
    assertThat(metric(metrics, "ebb_lrs_reporting_nodes")).isEqualTo(1.0);

    try (AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.count(RDS) >= 1);
      ebb.writeAndAwaitPublish(yaml("v2", null, "60s"));
      // the drain holds while the streams are open, over several report intervals
      await().during(EbbFixture.LOAD_REPORT_INTERVAL.multipliedBy(5)).atMost(Duration.ofSeconds(10))
          .until(() -> envoy.resources(CDS).containsKey("v1")
              && status().path("routes").path(0).path("draining").path(0).path("streamsLeft").asLong() == 30);
      assertMetricsDocMatches(ebb.admin("/metrics"));
      JsonNode drain = status().path("routes").path(0).path("draining").path(0);
      assertThat(drain.path("backend").asText()).isEqualTo("v1");
      assertThat(drain.path("streamsLeft").asLong()).isEqualTo(30);
      for (ChatStream s : streams) {
        assertThat(s.ping(PING)).isEqualTo("v1");
      }

      streams.forEach(ChatStream::close);
      // the last stream left: the drain ends long before its 60 s timeout
      await().atMost(Duration.ofSeconds(15)).until(() -> !envoy.resources(CDS).containsKey("v1"));
      JsonNode ended = status().path("recentDrains").path(0);
      assertThat(ended.path("backend").asText()).isEqualTo("v1");
      assertThat(ended.path("outcome").asText()).isEqualTo("idle");
      assertThat(metric(ebb.admin("/metrics"), "ebb_drains_ended_total{outcome=\"idle\"}")).isEqualTo(1.0);
    }
  }

  @Test
  void aDrainThatExpiresWithStreamsOpenSaysHowMany() throws Exception {
    ebb = new EbbFixture(dir, yaml("v1", "v2", "3s")).start();
    channel = XdsChannel.open("chat.example.com", ebb.xdsPort(), "grpc-lrs-expire");
    List<ChatStream> streams = openOnV1(5);
    await().atMost(Duration.ofSeconds(5)).until(() -> openStreams("v1") == 5);
    ebb.writeAndAwaitPublish(yaml("v2", null, "3s"));
    await().atMost(Duration.ofSeconds(15)).until(() -> status().path("recentDrains").size() > 0);
    JsonNode ended = status().path("recentDrains").path(0);
    assertThat(ended.path("outcome").asText()).isEqualTo("expired");
    assertThat(ended.path("streamsOpenAtEnd").asLong()).isEqualTo(5);
    String metrics = ebb.admin("/metrics");
    assertThat(metric(metrics, "ebb_drains_expired_with_streams_total")).isEqualTo(1.0);
    assertThat(metric(metrics, "ebb_drains_expired_open_streams_total")).isEqualTo(5.0);
    streams.forEach(ChatStream::close);
  }

  @Test
  void nacksAndPropagationAreCounted() throws Exception {
    ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "0", 9001, 9002)).start();
    try (AdsClient a = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW);
        AdsClient b = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.DELTA)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> a.count(RDS) >= 1 && b.count(RDS) >= 1);
      String before = ebb.admin("/metrics");
      assertThat(metric(before, "ebb_xds_connected_nodes{group=\"envoy\",variant=\"sotw\"}")).isEqualTo(1.0);
      assertThat(metric(before, "ebb_xds_connected_nodes{group=\"envoy\",variant=\"delta\"}")).isEqualTo(1.0);
      double samples = metric(before, "ebb_config_propagation_seconds_count");
      for (int i = 1; i <= 3; i++) {
        int expected = i + 1;
        ebb.write(EbbFixture.chat("websocket", "v1", "v2", String.valueOf(i * 10), 9001, 9002));
        await().atMost(Duration.ofSeconds(10)).until(() -> a.count(RDS) == expected && b.count(RDS) == expected);
      }
      // one sample per node per change
      await().atMost(Duration.ofSeconds(5)).until(() ->
          metric(ebb.admin("/metrics"), "ebb_config_propagation_seconds_count") == samples + 6);

      a.nackNext(RDS, "test: rejected on purpose");
      ebb.write(EbbFixture.chat("websocket", "v1", "v2", "50", 9001, 9002));
      await().atMost(Duration.ofSeconds(10)).until(() ->
          metric(ebb.admin("/metrics"), "ebb_xds_nacks_total{type=\"RDS\"}") == 1.0);
      assertThat(ebb.admin("/status")).contains("test: rejected on purpose");
      String metrics = ebb.admin("/metrics");
      assertThat(metrics).contains("jvm_memory_used_bytes{area=\"heap\"");
      assertThat(metric(metrics, "ebb_route_weight_percent{backend=\"v2\",route=\"chat\"}")).isEqualTo(50.0);
    }
  }
}
