package dev.ebb.api.model;

import java.util.List;
import java.util.Objects;

/**
 * A socket listener that Envoy nodes get. {@code nodeClusters} empty means every Envoy node gets it;
 * otherwise only nodes whose {@code node.cluster} is in the list.
 */
public record ListenerSpec(String name, String address, int port, List<String> nodeClusters) {
  public static final ListenerSpec DEFAULT = new ListenerSpec("edge", "0.0.0.0", 10000, List.of());

  public ListenerSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(address, "address");
    nodeClusters = nodeClusters.stream().sorted().distinct().toList();
  }

  public boolean servesNodeCluster(String nodeCluster) {
    return nodeClusters.isEmpty() || nodeClusters.contains(nodeCluster);
  }
}
