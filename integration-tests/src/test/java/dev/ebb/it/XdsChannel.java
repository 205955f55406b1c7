package dev.ebb.it;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.xds.XdsNameResolverProvider;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A grpc-java channel to {@code xds:///host} whose xDS client talks to Ebb (its own bootstrap, its own node). */
final class XdsChannel {
  private XdsChannel() {}

  static ManagedChannel open(String host, int xdsPort, String nodeId) {
    Map<String, Object> bootstrap = Map.of(
        "xds_servers", List.of(Map.of(
            "server_uri", "127.0.0.1:" + xdsPort,
            "channel_creds", List.of(Map.of("type", "insecure")),
            "server_features", List.of("xds_v3"))),
        "node", Map.of("id", nodeId, "cluster", "grpc-clients", "locality", Map.of("zone", "test")));
    return NettyChannelBuilder.forTarget("xds:///" + host)
        .nameResolverFactory(XdsNameResolverProvider.createForTest("xds", bootstrap))
        .usePlaintext()
        .build();
  }

  static void close(ManagedChannel channel) {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
