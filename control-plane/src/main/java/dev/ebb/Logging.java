package dev.ebb;

import java.util.TimeZone;
import java.util.logging.Logger;

/**
 * Log lines start with an ISO-8601 timestamp in UTC ({@code simplelogger.properties}). slf4j-simple formats
 * with the JVM's default time zone, fixed when its first logger is made, so {@link #init} sets that zone to UTC
 * before anything logs. Ebb itself reads time only as {@code Instant}s, which have no zone.
 *
 * <p>grpc-java logs through {@code java.util.logging}. Its server logs a WARNING with a stack trace ("Stream
 * Error ... Stream closed before write could take place", grpc-java#1578) whenever a proxy closes or resets a
 * stream while a response to it is still queued behind HTTP/2 flow control: every proxy that restarts or goes away
 * during a push (an Envoy fleet's rolling update) would print one. Nothing is wrong, and the stream's end
 * already shows in {@code ebb_xds_connected_nodes}; {@link #init} drops exactly that record.
 */
final class Logging {
  /** grpc-java's server handler, whose stream errors {@link #init} filters. */
  static final String GRPC_SERVER_HANDLER = "io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler";
  /** Kept referenced: java.util.logging holds its loggers weakly, and a collected logger loses its filter. */
  private static final Logger GRPC_SERVER_LOG = Logger.getLogger(GRPC_SERVER_HANDLER);

  private Logging() {}

  static void init() {
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    GRPC_SERVER_LOG.setFilter(r -> !peerWentAway(r.getThrown()));
  }

  /** A write dropped because the peer closed or reset its stream (Netty's message for it). */
  static boolean peerWentAway(Throwable thrown) {
    return thrown instanceof io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Exception.StreamException e
        && "Stream closed before write could take place".equals(e.getMessage());
  }
}
