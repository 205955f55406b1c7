package dev.ebb.xds;

import dev.ebb.publish.TypeUrl;

/** What happens on xDS streams, for logs, metrics and status. Called on gRPC or publisher threads. */
public interface XdsEvents {
  XdsEvents NONE = new XdsEvents() {};

  default void streamOpened(StreamState stream) {}

  default void streamClosed(StreamState stream) {}

  /** A response left for {@code stream}: its version, resource count and size on the wire. */
  default void pushed(StreamState stream, TypeUrl type, String version, int resources, int bytes) {}

  default void acked(StreamState stream, TypeUrl type, String version) {}

  default void nacked(StreamState stream, TypeUrl type, String version, String detail) {}
}
