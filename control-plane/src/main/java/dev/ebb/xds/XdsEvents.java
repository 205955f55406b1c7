package dev.ebb.xds;

import dev.ebb.publish.TypeUrl;

/**
 * What happens on xDS streams, for logs, metrics and status. Called on gRPC or publisher threads, mostly while the
 * stream's state is locked: a listener must return at once (no I/O, no waiting; hand slow work to an executor, as
 * the Kubernetes status writer does), or it holds back that stream's responses.
 */
public interface XdsEvents {
  XdsEvents NONE = new XdsEvents() {};

  default void streamOpened(StreamState stream) {}

  default void streamClosed(StreamState stream) {}

  /** A response left for {@code stream}: its version, resource count and size on the wire. */
  default void pushed(StreamState stream, TypeUrl type, String version, int resources, int bytes) {}

  /**
   * The response itself ({@code DiscoveryResponse} or {@code DeltaDiscoveryResponse}), as it leaves; for checks
   * of what clients receive. Called on the stream's thread; must not keep or change it.
   */
  default void responded(StreamState stream, TypeUrl type, com.google.protobuf.Message response) {}

  default void acked(StreamState stream, TypeUrl type, String version) {}

  /** A NACK of the response that held {@code names}. */
  default void nacked(StreamState stream, TypeUrl type, String version, String detail, java.util.Set<String> names) {}

  /** A client was refused at a limit ({@code streams}, {@code streams-per-connection}, {@code message-size},
   * {@code load-report-size}). */
  default void limitHit(String limit, String detail) {}

  /** A client certificate's identity may not claim the node cluster it named. */
  default void denied(String identity, String nodeCluster, String nodeId) {}

  /** A node ACKed everything a published change sent it, {@code took} after the change was first seen. */
  default void propagated(StreamState stream, java.time.Duration took) {}

  /**
   * A listener of this one's class that records nothing anyone reads, for the warm-up's private streams: the JIT
   * compiles the cache's calls to its listeners for the classes the warm-up showed it, and a listener of another
   * class at the first real change would send the cache's largest methods back to the interpreter. By default
   * {@link #NONE} (a listener that cannot be copied so costs that one recompilation).
   */
  default XdsEvents idle() {
    return NONE;
  }

  /** Both listeners, in order. */
  static XdsEvents both(XdsEvents a, XdsEvents b) {
    return new Both(a, b);
  }

  /** Both listeners, in order. */
  record Both(XdsEvents a, XdsEvents b) implements XdsEvents {
    @Override
    public XdsEvents idle() {
      return new Both(a.idle(), b.idle());
    }

    @Override
    public void streamOpened(StreamState stream) {
      a.streamOpened(stream);
      b.streamOpened(stream);
    }

    @Override
    public void streamClosed(StreamState stream) {
      a.streamClosed(stream);
      b.streamClosed(stream);
    }

    @Override
    public void pushed(StreamState stream, TypeUrl type, String version, int resources, int bytes) {
      a.pushed(stream, type, version, resources, bytes);
      b.pushed(stream, type, version, resources, bytes);
    }

    @Override
    public void responded(StreamState stream, TypeUrl type, com.google.protobuf.Message response) {
      a.responded(stream, type, response);
      b.responded(stream, type, response);
    }

    @Override
    public void acked(StreamState stream, TypeUrl type, String version) {
      a.acked(stream, type, version);
      b.acked(stream, type, version);
    }

    @Override
    public void limitHit(String limit, String detail) {
      a.limitHit(limit, detail);
      b.limitHit(limit, detail);
    }

    @Override
    public void denied(String identity, String nodeCluster, String nodeId) {
      a.denied(identity, nodeCluster, nodeId);
      b.denied(identity, nodeCluster, nodeId);
    }

    @Override
    public void propagated(StreamState stream, java.time.Duration took) {
      a.propagated(stream, took);
      b.propagated(stream, took);
    }

    @Override
    public void nacked(StreamState stream, TypeUrl type, String version, String detail,
        java.util.Set<String> names) {
      a.nacked(stream, type, version, detail, names);
      b.nacked(stream, type, version, detail, names);
    }
  }
}
