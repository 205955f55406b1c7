package dev.ebb.publish;

import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * Which resources a node gets. Envoy nodes ({@code user_agent_name} exactly "envoy") get socket listeners,
 * filtered by their {@code node.cluster}; every other node is a proxyless gRPC client.
 */
public record NodeGroup(boolean envoy, String nodeCluster) {
  public static final NodeGroup GRPC = new NodeGroup(false, "");

  public static NodeGroup of(Node node) {
    return "envoy".equals(node.getUserAgentName()) ? new NodeGroup(true, node.getCluster()) : GRPC;
  }

  public String label() {
    return envoy ? "envoy" : "grpc";
  }
}
