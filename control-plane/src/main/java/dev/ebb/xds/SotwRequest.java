package dev.ebb.xds;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.List;

/**
 * A state-of-the-world request as read from the wire: the message and its resource names. When the same list of
 * names was read before ({@code shared}), {@code names} is that very list, the same object on every stream that
 * sends it, and {@code message} holds every other field but not the names (they are not copied into it again).
 */
record SotwRequest(DiscoveryRequest message, List<String> names, boolean shared) {
  /** A request read whole (tests, the warm-up, lists not seen before). */
  static SotwRequest of(DiscoveryRequest message) {
    return new SotwRequest(message, message.getResourceNamesList(), false);
  }

  /** The whole message, names included. */
  DiscoveryRequest whole() {
    return shared ? message.toBuilder().addAllResourceNames(names).build() : message;
  }
}
