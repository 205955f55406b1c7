package dev.ebb.xds;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ADS over gRPC, state of the world and delta: the I/O half of Ebb's xDS server. Each call becomes a
 * {@link StreamState} in the {@link XdsCache}; requests go there, responses come back through the call with
 * gRPC's flow control (a response is only planned while the call is ready).
 */
final class AdsService extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(AdsService.class);

  private final XdsCache cache;
  private final XdsGuard guard;
  private final AtomicLong ids = new AtomicLong();

  AdsService(XdsCache cache, XdsGuard guard) {
    this.cache = cache;
    this.guard = guard;
  }

  /** A state-of-the-world stream (bound by {@link #definition}, with requests read by SotwRequestMarshaller). */
  StreamObserver<SotwRequest> sotw(StreamObserver<DiscoveryResponse> out) {
    StreamState s = start(out);
    return new Requests<>(s, out) {
      @Override
      void handle(SotwRequest request) {
        if (admitted(request.message().hasNode(), request.message().getNode())) {
          cache.onSotwRequest(s, request);
        }
      }
    };
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
      StreamObserver<DeltaDiscoveryResponse> out) {
    StreamState s = start(out);
    return new Requests<>(s, out) {
      @Override
      void handle(DeltaDiscoveryRequest request) {
        if (admitted(request.hasNode(), request.getNode())) {
          cache.onDeltaRequest(s, request);
        }
      }
    };
  }

  private <T> StreamState start(StreamObserver<T> out) {
    ServerCallStreamObserver<T> call = (ServerCallStreamObserver<T>) out;
    StreamState[] holder = new StreamState[1];
    StreamState s = cache.open(ids.incrementAndGet(), new StreamState.Sender() {
      @Override
      public boolean ready() {
        return call.isReady();
      }

      @Override
      @SuppressWarnings("unchecked")
      public void send(com.google.protobuf.Message response) {
        try {
          call.onNext((T) response);
        } catch (RuntimeException e) {
          // the call ended meanwhile (cancelled by the client): nothing more goes to it
          LOG.debug("stream {}: response not sent: {}", holder[0] == null ? "?" : holder[0].id, e.toString());
        }
      }
    });
    holder[0] = s;
    call.setOnReadyHandler(() -> cache.onReady(s));
    call.setOnCancelHandler(() -> cache.closed(s));
    return s;
  }

  /** Requests of one call: each one handled in order on the call's thread. */
  private abstract class Requests<Q, R> implements StreamObserver<Q> {
    private final StreamState s;
    private final StreamObserver<R> out;

    Requests(StreamState s, StreamObserver<R> out) {
      this.s = s;
      this.out = out;
    }

    abstract void handle(Q request);

    private boolean checked;
    private boolean refused;

    /**
     * Node authorization on the first request that names the node (SPEC 11); the node a stream starts with is
     * the node it keeps, so a later request cannot claim another group.
     */
    boolean admitted(boolean hasNode, io.envoyproxy.envoy.config.core.v3.Node node) {
      if (refused) {
        return false;
      }
      if (!checked && hasNode) {
        checked = true;
        java.util.Optional<Status> denied = guard.admit(node);
        if (denied.isPresent()) {
          refused = true;
          cache.closed(s);
          synchronized (s) {
            out.onError(denied.get().asRuntimeException());
          }
          return false;
        }
      }
      return true;
    }

    @Override
    public void onNext(Q request) {
      try {
        handle(request);
      } catch (RuntimeException e) {
        LOG.error("stream {} (node {}): cannot handle a request; closing the stream", s.id, s.nodeId(), e);
        cache.closed(s);
        synchronized (s) {
          out.onError(Status.INTERNAL.withDescription("Ebb could not handle the request: " + e)
              .asRuntimeException());
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      cache.closed(s);
    }

    @Override
    public void onCompleted() {
      cache.closed(s);
      synchronized (s) {
        out.onCompleted();
      }
    }
  }

  /**
   * The service as bound to the server: as generated, except that state-of-the-world requests are read by
   * {@link SotwRequestMarshaller} (a repeated list of names is decoded once, not on every ACK, and handed on as
   * one shared list) and go to {@link #sotw}.
   */
  static io.grpc.ServerServiceDefinition definition(AdsService service) {
    io.grpc.ServerServiceDefinition generated = service.bindService();
    io.grpc.MethodDescriptor<DiscoveryRequest, DiscoveryResponse> sotw =
        AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod();
    io.grpc.ServerServiceDefinition.Builder b =
        io.grpc.ServerServiceDefinition.builder(generated.getServiceDescriptor().getName());
    for (io.grpc.ServerMethodDefinition<?, ?> m : generated.getMethods()) {
      if (m.getMethodDescriptor().getFullMethodName().equals(sotw.getFullMethodName())) {
        b.addMethod(sotw.toBuilder(new SotwRequestMarshaller(), sotw.getResponseMarshaller()).build(),
            io.grpc.stub.ServerCalls.asyncBidiStreamingCall(service::sotw));
      } else {
        b.addMethod(m);
      }
    }
    return b.build();
  }
}
