package dev.ebb.bench;

import com.google.protobuf.CodedOutputStream;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * State-of-the-world requests of the simulated nodes, written from parts serialized once: the node (per node) and
 * the list of resource names (per distinct list, shared by every node that asks for it). An Envoy with scoped
 * routes repeats 1,000 RouteConfiguration names in every RDS ACK, an Envoy 1,000 cluster names in every EDS ACK:
 * a fleet of real Envoys serializes those on as many machines, while here 1,000 nodes would do it on the 2 cores
 * the server under test runs on. The bytes are exactly what {@link DiscoveryRequest#toByteArray()} gives (fields
 * in number order, empty strings left out); the first 200 requests of a run and every 512th are checked
 * against it.
 */
final class SotwRequests {
  /** One request: the servers receive the very bytes the generated message would give. */
  record Request(String version, String nonce, String type, byte[] node, byte[] names) {}

  static final MethodDescriptor<Request, DiscoveryResponse> METHOD =
      AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().toBuilder(new Marshaller(),
          ProtoUtils.marshaller(DiscoveryResponse.getDefaultInstance())).build();

  static final byte[] NO_NAMES = new byte[0];
  private static final ConcurrentMap<Set<String>, byte[]> NAMES = new ConcurrentHashMap<>();
  private static final AtomicInteger CHECKED = new AtomicInteger();
  private static final int CHECK_FIRST = 200;
  private static final int CHECK_EVERY = 512;

  private SotwRequests() {}

  static byte[] node(Node node) {
    return node.toByteArray();
  }

  /** The resource_names fields of a list, serialized once per distinct list (lists are shared: Wire.canonical). */
  static byte[] names(Set<String> names) {
    return NAMES.computeIfAbsent(names, n -> {
      DiscoveryRequest only = DiscoveryRequest.newBuilder().addAllResourceNames(n).build();
      return only.toByteArray(); // only field 3: exactly its run of fields
    });
  }

  static byte[] bytes(Request r) {
    try {
      byte[] out = new byte[size(r)];
      CodedOutputStream o = CodedOutputStream.newInstance(out);
      if (!r.version.isEmpty()) {
        o.writeString(DiscoveryRequest.VERSION_INFO_FIELD_NUMBER, r.version);
      }
      o.writeByteArray(DiscoveryRequest.NODE_FIELD_NUMBER, r.node);
      o.writeRawBytes(r.names);
      o.writeString(DiscoveryRequest.TYPE_URL_FIELD_NUMBER, r.type);
      if (!r.nonce.isEmpty()) {
        o.writeString(DiscoveryRequest.RESPONSE_NONCE_FIELD_NUMBER, r.nonce);
      }
      o.checkNoSpaceLeft();
      int n = CHECKED.incrementAndGet();
      if (n <= CHECK_FIRST || n % CHECK_EVERY == 0) {
        check(r, out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int size(Request r) {
    return (r.version.isEmpty() ? 0 : CodedOutputStream.computeStringSize(1, r.version))
        + CodedOutputStream.computeByteArraySize(2, r.node) + r.names.length
        + CodedOutputStream.computeStringSize(4, r.type)
        + (r.nonce.isEmpty() ? 0 : CodedOutputStream.computeStringSize(5, r.nonce));
  }

  private static void check(Request r, byte[] out) throws IOException {
    DiscoveryRequest standard = DiscoveryRequest.newBuilder().setVersionInfo(r.version)
        .setNode(Node.parseFrom(r.node)).setTypeUrl(r.type).setResponseNonce(r.nonce)
        .addAllResourceNames(DiscoveryRequest.parseFrom(r.names).getResourceNamesList()).build();
    if (!Arrays.equals(standard.toByteArray(), out)) {
      throw new IllegalStateException("a pre-serialized SotW request differs from the generated message's bytes: "
          + standard);
    }
  }

  private static final class Marshaller implements MethodDescriptor.Marshaller<Request> {
    @Override
    public InputStream stream(Request value) {
      return new Known(bytes(value));
    }

    @Override
    public Request parse(InputStream stream) {
      throw new UnsupportedOperationException("the load generator only sends requests");
    }
  }

  /** Lets gRPC write the message with its length known, as it does for protobuf messages. */
  private static final class Known extends ByteArrayInputStream implements KnownLength {
    Known(byte[] bytes) {
      super(bytes);
    }
  }
}
