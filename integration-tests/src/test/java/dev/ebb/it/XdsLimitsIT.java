package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ebb.xds.XdsGuard;
import dev.ebb.xds.XdsServer;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC 11 limits that XdsTlsIT does not cover (it covers streams per connection): streams in total, the size of
 * one inbound message, the size of one load report. Each refuses the one client that hits it with
 * RESOURCE_EXHAUSTED, is counted in {@code ebb_xds_limit_hits_total{limit=...}}, and leaves every other client
 * its stream and its pushes.
 */
class XdsLimitsIT {
  @TempDir
  Path dir;
  final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();

  @AfterEach
  void closeChannels() {
    channels.forEach(ManagedChannel::shutdownNow);
  }

  static XdsServer.Connections limits(int streams, int messageBytes, int loadReportBytes) {
    return new XdsServer.Connections(Duration.ofSeconds(30), Duration.ZERO, Duration.ofSeconds(30),
        Optional.empty(), Optional.empty(), new XdsGuard.Limits(100, streams, messageBytes, loadReportBytes));
  }

  EbbFixture ebb(XdsServer.Connections connections) {
    return new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002))
        .withConnections(connections).start();
  }

  ManagedChannel channel(int port) {
    ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    channels.add(c);
    return c;
  }

  static Status status(Throwable t) {
    return t == null ? Status.OK : Status.fromThrowable(t);
  }

  /** A weight change reaches {@code clients} (each gets a new RouteConfiguration with v2 at 60 %) unharmed. */
  static void pushReaches(EbbFixture ebb, AdsClient... clients) {
    int[] before = new int[clients.length];
    for (int i = 0; i < clients.length; i++) {
      before[i] = clients[i].count(RDS);
    }
    ebb.write(EbbFixture.chat("websocket", "v1", "v2", "60", 9001, 9002));
    for (int i = 0; i < clients.length; i++) {
      AdsClient c = clients[i];
      int n = before[i];
      await().atMost(Duration.ofSeconds(10)).until(() -> c.count(RDS) > n);
      assertThat(XdsPushIT.weightOf(c.<RouteConfiguration>resources(RDS).get("edge"), "v2")).isEqualTo("6000");
      assertThat(c.error()).as("the client that stayed within the limits").isNull();
    }
  }

  @Test
  void theStreamBeyondTheTotalLimitIsRefusedAloneAndItsSlotIsNotLost() throws Exception {
    try (EbbFixture ebb = ebb(limits(2, 4 * 1024 * 1024, 1024 * 1024))) {
      int port = ebb.xdsPort();
      AdsClient second = new AdsClient(port, AdsClient.Variant.DELTA, "second", "envoy", "edge");
      try (AdsClient first = new AdsClient(port, AdsClient.Variant.SOTW, "first", "envoy", "edge").start()) {
        second.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> first.count(RDS) >= 1 && second.count(RDS) >= 1);
        // a third stream, on a connection of its own: the total is what counts
        try (AdsClient third = new AdsClient(channel(port), AdsClient.Variant.SOTW, "third", "envoy", "edge")
            .start()) {
          await().atMost(Duration.ofSeconds(10)).until(() -> third.error() != null);
          Status refused = status(third.error());
          System.out.println("XdsLimitsIT: third stream: " + refused);
          assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(refused.getDescription()).isEqualTo("Ebb serves at most 2 xDS streams (--xds-max-streams)");
          assertThat(third.count(LDS) + third.count(CDS)).isZero();
          assertThat(ebb.admin("/metrics")).contains("ebb_xds_limit_hits_total{limit=\"streams\"} 1.0");
          pushReaches(ebb, first, second);
        }
        // a stream that ends gives its place back
        second.close();
        try (AdsClient fourth = new AdsClient(channel(port), AdsClient.Variant.SOTW, "fourth", "envoy", "edge")
            .start()) {
          await().atMost(Duration.ofSeconds(10)).until(() -> fourth.count(RDS) >= 1 || fourth.error() != null);
          assertThat(fourth.error()).isNull();
          assertThat(first.error()).isNull();
        }
        assertThat(ebb.admin("/metrics")).contains("ebb_xds_limit_hits_total{limit=\"streams\"} 1.0");
      } finally {
        second.close();
      }
    }
  }

  /** A DiscoveryRequest of 100 KiB (node metadata), over a 64 KiB limit. */
  static DiscoveryRequest oversized(Node node) {
    return DiscoveryRequest.newBuilder().setTypeUrl(LDS).setNode(node.toBuilder().setMetadata(Struct.newBuilder()
        .putFields("padding", Value.newBuilder().setStringValue("x".repeat(100 * 1024)).build()))).build();
  }

  @Test
  void anOversizedFirstRequestIsRefusedWithResourceExhaustedAlone() throws Exception {
    try (EbbFixture ebb = ebb(limits(100, 64 * 1024, 1024 * 1024))) {
      int port = ebb.xdsPort();
      try (AdsClient polite = new AdsClient(port, AdsClient.Variant.SOTW, "polite", "envoy", "edge").start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> polite.count(RDS) >= 1);
        List<DiscoveryResponse> got = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        ManagedChannel channel = channel(port);
        AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(observer(got, error))
            .onNext(oversized(Node.newBuilder().setId("big").setCluster("edge").setUserAgentName("envoy").build()));
        await().atMost(Duration.ofSeconds(10)).until(() -> error.get() != null);
        Status refused = status(error.get());
        System.out.println("XdsLimitsIT: oversized first request: " + refused);
        assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.getDescription()).startsWith("gRPC message exceeds maximum size 65536: ");
        assertThat(got).isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/metrics")
            .contains("ebb_xds_limit_hits_total{limit=\"message-size\"} 1.0"));
        pushReaches(ebb, polite);
        // the same connection may open a new stream of the right size
        try (AdsClient again = new AdsClient(channel, AdsClient.Variant.SOTW, "big", "envoy", "edge").start()) {
          await().atMost(Duration.ofSeconds(10)).until(() -> again.count(RDS) >= 1 || again.error() != null);
          assertThat(again.error()).isNull();
        }
      }
    }
  }

  /**
   * Mid-stream, grpc-java 1.85.1 cannot send RESOURCE_EXHAUSTED: once a stream has sent response headers, a
   * deframing error (a message over {@code maxInboundMessageSize}) ends the stream with RST_STREAM CANCEL, so the
   * client sees CANCELLED ("RST_STREAM closed stream. HTTP/2 error code: CANCEL")
   * (NettyServerStream.TransportState.deframeFailed -> CancelServerStreamCommand.withReason, BEST_EFFORT_STATUS:
   * trailers only while no headers were sent). docs/SECURITY.md says so. What holds either way: that stream alone
   * ends, the hit is counted, other clients keep their pushes.
   */
  @Test
  void anOversizedRequestMidStreamEndsThatStreamAlone() throws Exception {
    try (EbbFixture ebb = ebb(limits(100, 64 * 1024, 1024 * 1024))) {
      int port = ebb.xdsPort();
      try (AdsClient polite = new AdsClient(port, AdsClient.Variant.SOTW, "polite", "envoy", "edge").start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> polite.count(RDS) >= 1);
        List<DiscoveryResponse> got = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        StreamObserver<DiscoveryRequest> big = AggregatedDiscoveryServiceGrpc.newStub(channel(port))
            .streamAggregatedResources(observer(got, error));
        Node node = Node.newBuilder().setId("big").setCluster("edge").setUserAgentName("envoy").build();
        big.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
        await().atMost(Duration.ofSeconds(10)).until(() -> !got.isEmpty());
        big.onNext(oversized(node));
        await().atMost(Duration.ofSeconds(10)).until(() -> error.get() != null);
        Status refused = status(error.get());
        System.out.println("XdsLimitsIT: oversized request mid-stream: " + refused);
        await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/metrics")
            .contains("ebb_xds_limit_hits_total{limit=\"message-size\"} 1.0"));
        pushReaches(ebb, polite);
        assertThat(refused.getCode()).as("what the client is told: %s", refused)
            .isIn(Status.Code.CANCELLED, Status.Code.RESOURCE_EXHAUSTED);
      }
    }
  }

  @Test
  void aLoadReportOverItsSizeLimitEndsThatReportStreamAlone() throws Exception {
    try (EbbFixture ebb = ebb(limits(100, 4 * 1024 * 1024, 2048))) {
      int port = ebb.xdsPort();
      try (AdsClient ads = new AdsClient(port, AdsClient.Variant.SOTW, "reporter", "envoy", "edge").start();
          LrsClient polite = new LrsClient(port, "polite")) {
        await().atMost(Duration.ofSeconds(10)).until(() -> ads.count(RDS) >= 1 && !polite.responses.isEmpty());
        polite.report(Map.of("v1", 3L));
        await().atMost(Duration.ofSeconds(10)).until(() -> ebb.server().load().openStreams("v1").orElse(-1) == 3);

        List<LoadStatsResponse> got = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        StreamObserver<LoadStatsRequest> big = LoadReportingServiceGrpc.newStub(channel(port))
            .streamLoadStats(observer(got, error));
        Node node = Node.newBuilder().setId("big-reporter").setCluster("edge").setUserAgentName("envoy").build();
        big.onNext(LoadStatsRequest.newBuilder().setNode(node).build());
        await().atMost(Duration.ofSeconds(10)).until(() -> !got.isEmpty());
        LoadStatsRequest.Builder report = LoadStatsRequest.newBuilder().setNode(node);
        for (int i = 0; i < 200; i++) {
          report.addClusterStats(ClusterStats.newBuilder().setClusterName("cluster-" + i)
              .addUpstreamLocalityStats(UpstreamLocalityStats.newBuilder().setTotalRequestsInProgress(1)));
        }
        assertThat(report.build().getSerializedSize()).isGreaterThan(2048);
        big.onNext(report.build());
        await().atMost(Duration.ofSeconds(10)).until(() -> error.get() != null);
        Status refused = status(error.get());
        System.out.println("XdsLimitsIT: oversized load report: " + refused);
        assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.getDescription()).startsWith("load report of " + report.build().getSerializedSize()
            + " bytes: more than 2048 (--xds-max-load-report-bytes)");
        assertThat(ebb.admin("/metrics")).contains("ebb_xds_limit_hits_total{limit=\"load-report-size\"} 1.0");

        // the other reporter's stream goes on and its reports count; the ADS stream gets its pushes
        polite.report(Map.of("v1", 5L));
        await().atMost(Duration.ofSeconds(10)).until(() -> ebb.server().load().openStreams("v1").orElse(-1) == 5);
        assertThat(ebb.server().load().reportingNodes()).isEqualTo(1);
        pushReaches(ebb, ads);
      }
    }
  }

  static <R> StreamObserver<R> observer(List<R> got, AtomicReference<Throwable> error) {
    return new StreamObserver<>() {
      @Override
      public void onNext(R value) {
        got.add(value);
      }

      @Override
      public void onError(Throwable t) {
        error.set(t);
      }

      @Override
      public void onCompleted() {
        error.compareAndSet(null, new IllegalStateException("completed without an error"));
      }
    };
  }
}
