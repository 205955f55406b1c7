package dev.ebb.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPEC 11 at the door of the xDS port: stream limits (per connection and in total), the identity of a client
 * certificate (for node authorization), and what refusals cost (a metric and a log line). One client at a limit
 * is refused alone; every other client goes on.
 */
public final class XdsGuard implements ServerInterceptor {
  private static final Logger LOG = LoggerFactory.getLogger(XdsGuard.class);
  static final Context.Key<List<String>> IDENTITIES = Context.key("ebb-xds-identities");
  private static final Attributes.Key<Object> CONNECTION = Attributes.Key.create("ebb-xds-connection");

  /** The limits, each with its flag. */
  public record Limits(int streamsPerConnection, int streams, int maxMessageBytes, int maxLoadReportBytes) {
    public static final Limits DEFAULT = new Limits(100, 100_000, 4 * 1024 * 1024, 1024 * 1024);
  }

  private final Limits limits;
  private final XdsEvents events;
  private final Optional<NodeAuthz> authz;
  private final AtomicInteger open = new AtomicInteger();
  private final Map<Object, AtomicInteger> perConnection = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong connectionsOpened = new java.util.concurrent.atomic.AtomicLong();

  public XdsGuard(Limits limits, XdsEvents events, Optional<NodeAuthz> authz) {
    this.limits = limits;
    this.events = events;
    this.authz = authz;
  }

  /** A load report over its size limit: counted; the caller closes the stream. */
  public void reportTooBig(String nodeId, int bytes) {
    events.limitHit("load-report-size", "node " + nodeId + ": " + bytes + " bytes");
    LOG.warn("load report of node {} refused: {} bytes, more than {} (--xds-max-load-report-bytes)", nodeId, bytes,
        limits.maxLoadReportBytes());
  }

  public Limits limits() {
    return limits;
  }

  /** Connections made since the server started. */
  long connectionsOpened() {
    return connectionsOpened.get();
  }

  /** Tags each connection, so streams can be counted per connection. */
  ServerTransportFilter connections() {
    return new ServerTransportFilter() {
      @Override
      public Attributes transportReady(Attributes attrs) {
        connectionsOpened.incrementAndGet();
        return attrs.toBuilder().set(CONNECTION, new Object()).build();
      }

      @Override
      public void transportTerminated(Attributes attrs) {
        Object c = attrs == null ? null : attrs.get(CONNECTION);
        if (c != null) {
          perConnection.remove(c);
        }
      }
    };
  }

  /** Counts streams closed for an inbound message over the size limit (gRPC closes them itself). */
  ServerStreamTracer.Factory messageSizes() {
    return new ServerStreamTracer.Factory() {
      @Override
      public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
        return new ServerStreamTracer() {
          @Override
          public void streamClosed(Status status) {
            if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED && status.getDescription() != null
                && status.getDescription().contains("exceeds maximum")) {
              events.limitHit("message-size", status.getDescription());
            }
          }
        };
      }
    };
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Object connection = call.getAttributes().get(CONNECTION);
    AtomicInteger onConnection = connection == null ? new AtomicInteger()
        : perConnection.computeIfAbsent(connection, c -> new AtomicInteger());
    String peer = String.valueOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    if (open.incrementAndGet() > limits.streams()) {
      open.decrementAndGet();
      return refuse(call, "streams", "Ebb serves at most " + limits.streams() + " xDS streams (--xds-max-streams)",
          peer);
    }
    if (onConnection.incrementAndGet() > limits.streamsPerConnection()) {
      onConnection.decrementAndGet();
      open.decrementAndGet();
      return refuse(call, "streams-per-connection", "at most " + limits.streamsPerConnection()
          + " xDS streams per connection (--xds-max-streams-per-connection)", peer);
    }
    AtomicBoolean released = new AtomicBoolean();
    Runnable release = () -> {
      if (released.compareAndSet(false, true)) {
        open.decrementAndGet();
        onConnection.decrementAndGet();
      }
    };
    Context ctx = Context.current().withValue(IDENTITIES, identities(call.getAttributes().get(
        Grpc.TRANSPORT_ATTR_SSL_SESSION)));
    ServerCall.Listener<Q> inner = Contexts.interceptCall(ctx, call, headers, next);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(inner) {
      @Override
      public void onComplete() {
        release.run();
        super.onComplete();
      }

      @Override
      public void onCancel() {
        release.run();
        super.onCancel();
      }
    };
  }

  private <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, String limit, String why, String peer) {
    events.limitHit(limit, peer);
    LOG.warn("xDS stream from {} refused: {}", peer, why);
    call.close(Status.RESOURCE_EXHAUSTED.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /**
   * Why the client of the current stream may not claim {@code node}'s cluster (checked on the first request
   * that names the node), or empty. Without a node-authz file every client that passed the TLS handshake may.
   */
  public Optional<Status> admit(Node node) {
    if (authz.isEmpty()) {
      return Optional.empty();
    }
    List<String> ids = Optional.ofNullable(IDENTITIES.get()).orElse(List.of());
    Optional<String> why = authz.get().deny(ids, node);
    why.ifPresent(w -> {
      events.denied(String.join(",", ids), node.getCluster(), node.getId());
      LOG.warn("xDS stream refused: {}", w);
    });
    return why.map(NodeAuthz::denied);
  }

  /** SAN URIs and DNS names of the client certificate, if the connection has one. */
  static List<String> identities(SSLSession session) {
    List<String> out = new ArrayList<>();
    if (session == null) {
      return out;
    }
    try {
      Certificate[] certs = session.getPeerCertificates();
      if (certs.length > 0 && certs[0] instanceof X509Certificate leaf && leaf.getSubjectAlternativeNames() != null) {
        for (List<?> san : leaf.getSubjectAlternativeNames()) {
          Object type = san.get(0);
          if ((type.equals(6) || type.equals(2)) && san.get(1) instanceof String value) {
            out.add(value);
          }
        }
      }
    } catch (SSLPeerUnverifiedException | CertificateParsingException e) {
      // no client certificate: no identity
    }
    return out;
  }
}
