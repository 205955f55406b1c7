package dev.ebb.api.model;

import java.util.Locale;
import java.util.Optional;

/** The protocol of a route's streams; decides the Envoy settings of its route and clusters. */
public enum Protocol {
  /** HTTP/1.1 upgrade (or RFC 8441 extended CONNECT) to a WebSocket; HTTP/1.1 upstream. */
  WEBSOCKET,
  /** gRPC: HTTP/2 upstream, every call a new stream. */
  GRPC,
  /** Plain HTTP; Envoy's default route timeout applies. */
  HTTP;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<Protocol> parse(String text) {
    for (Protocol p : values()) {
      if (p.wireName().equals(text)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Long-lived streams: the route timeout is disabled and the idle timeout applies. */
  public boolean longLived() {
    return this != HTTP;
  }
}
