package dev.ebb.it;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A load-reporting node as Envoy is one (envoy.service.load_stats.v3): it opens the stream with its node, then
 * sends a report whenever the test says, with the streams in progress per cluster (a cluster left out counts as
 * none).
 */
final class LrsClient implements AutoCloseable {
  private final ManagedChannel channel;
  private final StreamObserver<LoadStatsRequest> out;
  private final Node node;
  final List<LoadStatsResponse> responses = new CopyOnWriteArrayList<>();

  LrsClient(int port, String nodeId) {
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    node = Node.newBuilder().setId(nodeId).setCluster("edge").setUserAgentName("envoy").build();
    out = LoadReportingServiceGrpc.newStub(channel).streamLoadStats(new StreamObserver<>() {
      @Override
      public void onNext(LoadStatsResponse r) {
        responses.add(r);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    });
    synchronized (this) {
      out.onNext(LoadStatsRequest.newBuilder().setNode(node).build());
    }
  }

  /** One report: streams in progress per cluster. */
  synchronized void report(Map<String, Long> inProgress) {
    LoadStatsRequest.Builder r = LoadStatsRequest.newBuilder().setNode(node);
    inProgress.forEach((cluster, n) -> r.addClusterStats(ClusterStats.newBuilder().setClusterName(cluster)
        .addUpstreamLocalityStats(UpstreamLocalityStats.newBuilder().setTotalRequestsInProgress(n))));
    out.onNext(r.build());
  }

  @Override
  public void close() {
    synchronized (this) {
      try {
        out.onCompleted();
      } catch (RuntimeException e) {
        // already gone
      }
    }
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
