package dev.ebb.bench;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One simulated xDS node on a real ADS stream, which ACKs every response and subscribes as its kind does:
 *
 * <ul>
 *   <li>{@code envoy-sotw}, {@code envoy-delta}: user agent "envoy"; wildcard CDS and LDS, then EDS for every
 *       cluster and RDS for the RouteConfiguration each listener names (one per listener: every route of the
 *       listener in it, "whole RDS").
 *   <li>{@code envoy-srds-sotw}, {@code envoy-srds-delta}: the same on a listener with {@code routeScoping: host}:
 *       wildcard SRDS once the listener names scoped routes, then RDS for the RouteConfiguration of every scope
 *       (one per host).
 *   <li>{@code grpc-sotw}: a proxyless gRPC channel ({@code xds:///host}): user agent "gRPC Java"; LDS for its one
 *       host, RDS for the name its api_listener gives, CDS for the clusters that host's route names, EDS for those.
 *       gRPC's xDS clients speak state of the world only.
 * </ul>
 *
 * Every request carries the node (Envoy's default, {@code set_node_on_first_message_only: false}, and gRPC's).
 * A node keeps names and two "tokens": the canary weight of its probe route in the RouteConfiguration it has,
 * and the sum of the ports of {@link ModelGen#MOVED_BACKEND}, each with the time of the ACK that brought it.
 */
final class SimNode {
  enum Kind {
    ENVOY_SOTW("envoy-sotw"), ENVOY_DELTA("envoy-delta"), ENVOY_SRDS_SOTW("envoy-srds-sotw"),
    ENVOY_SRDS_DELTA("envoy-srds-delta"), GRPC_SOTW("grpc-sotw");

    final String label;

    Kind(String label) {
      this.label = label;
    }

    static Kind of(String label) {
      for (Kind k : values()) {
        if (k.label.equals(label)) {
          return k;
        }
      }
      throw new IllegalArgumentException("unknown node kind " + label
          + " (envoy-sotw, envoy-delta, envoy-srds-sotw, envoy-srds-delta, grpc-sotw)");
    }

    boolean envoy() {
      return this != GRPC_SOTW;
    }

    boolean delta() {
      return this == ENVOY_DELTA || this == ENVOY_SRDS_DELTA;
    }

    /** Envoy on a listener with {@code routeScoping: host}: scopes by SRDS, one RouteConfiguration per host. */
    boolean scoped() {
      return this == ENVOY_SRDS_SOTW || this == ENVOY_SRDS_DELTA;
    }
  }

  /** Bytes and responses received per type (Wire.TYPES order), over all nodes. */
  static final AtomicLongArray BYTES = new AtomicLongArray(Wire.TYPES.size());
  static final AtomicLongArray RESPONSES = new AtomicLongArray(Wire.TYPES.size());
  /** Streams that failed, over all nodes (a change stops waiting at once). */
  static final java.util.concurrent.atomic.AtomicInteger FAILED = new java.util.concurrent.atomic.AtomicInteger();
  /** When the last response of any node arrived (System.nanoTime). */
  static final AtomicLong LAST_RESPONSE = new AtomicLong();

  final Kind kind;
  /** The route whose canary weight this node's RDS token is: the hot route for Envoy, its host for gRPC. */
  final int probeRoute;
  private final String probeHost;
  private final Node node;
  private StreamObserver<SotwRequests.Request> sotw;
  private final byte[] nodeBytes;
  private StreamObserver<DeltaDiscoveryRequest> delta;
  /** Per type: the names subscribed (empty: wildcard), shared between nodes. */
  private final Map<String, Set<String>> subscribed = new HashMap<>(4);
  /** SotW: those names as serialized in a request (shared between nodes). */
  private final Map<String, byte[]> subscribedBytes = new HashMap<>(4);
  /** Delta: the names of what the node holds per type. */
  private final Map<String, Set<String>> holds = new HashMap<>(4);
  private final Map<String, String[]> lastAck = new HashMap<>(4);

  volatile int rdsToken = -1;
  volatile long rdsTokenAt;
  volatile int edsToken = -1;
  volatile long edsTokenAt;
  volatile boolean gotRds;
  volatile boolean gotEds;
  volatile Throwable error;

  SimNode(Kind kind, int id, int probeRoute) {
    this.kind = kind;
    this.probeRoute = probeRoute;
    this.probeHost = ModelGen.host(probeRoute);
    Node.Builder n = Node.newBuilder().setId(kind.label + "-" + id);
    if (kind.envoy()) {
      n.setCluster("edge").setUserAgentName("envoy").setUserAgentVersion("1.34.0");
    } else {
      n.setUserAgentName("gRPC Java").setUserAgentVersion("1.85.1")
          .addClientFeatures("envoy.lb.does_not_support_overprovisioning");
    }
    this.node = n.build();
    this.nodeBytes = SotwRequests.node(node);
  }

  private void failed(Throwable t) {
    error = t;
    FAILED.incrementAndGet();
  }

  /** For a node that did not sync: what it asked for and holds. */
  synchronized String describe() {
    return node.getId() + " probe " + probeRoute + " subscribed " + subscribed + " acked " + lastAck.entrySet()
        .stream().map(e -> e.getKey().replaceFirst(".*\\.", "") + "=" + String.join("/", e.getValue())).toList()
        + " holds " + holds + " rds " + gotRds + " eds " + gotEds + " error " + error + (error != null && error.getCause() != null ? " (" + error.getCause() + ")" : "");
  }

  boolean synced() {
    return gotRds && gotEds;
  }

  /** Whether this node holds the moved backend's endpoints (so an endpoint change must reach it). */
  boolean holdsMovedBackend() {
    return kind.envoy() || ModelGen.backendsOf(probeRoute).contains(ModelGen.MOVED_BACKEND);
  }

  synchronized void start(ManagedChannel channel) {
    var stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
    if (kind.delta()) {
      delta = stub.deltaAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DeltaDiscoveryResponse r) {
          onDelta(r);
        }

        @Override
        public void onError(Throwable t) {
          failed(t);
        }

        @Override
        public void onCompleted() {}
      });
      delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(Wire.CDS).build());
      delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(Wire.LDS).build());
      return;
    }
    StreamObserver<DiscoveryResponse> responses = new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse r) {
        onSotw(r);
      }

      @Override
      public void onError(Throwable t) {
        failed(t);
      }

      @Override
      public void onCompleted() {}
    };
    // requests written from pre-serialized parts (SotwRequests): the same bytes, a fraction of the CPU
    sotw = io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
        channel.newCall(SotwRequests.METHOD, io.grpc.CallOptions.DEFAULT), responses);
    if (kind.envoy()) {
      subscribeSotw(Wire.CDS, Set.of());
      subscribeSotw(Wire.LDS, Set.of());
    } else {
      subscribeSotw(Wire.LDS, Set.of(probeHost));
    }
  }

  private static void count(String type, int bytes) {
    int i = Wire.index(type);
    BYTES.addAndGet(i, bytes);
    RESPONSES.incrementAndGet(i);
    LAST_RESPONSE.set(System.nanoTime());
  }

  private synchronized void onSotw(DiscoveryResponse r) {
    String type = r.getTypeUrl();
    count(type, r.getSerializedSize());
    List<Wire.Summary> resources = Wire.sotw(type, r.getVersionInfo(), r.getResourcesList());
    sotw.onNext(request(type, r.getVersionInfo(), r.getNonce()));
    long acked = System.nanoTime();
    lastAck.put(type, new String[] {r.getVersionInfo(), r.getNonce()});
    tokens(type, resources, acked);
    switch (type) {
      case Wire.CDS -> subscribeSotw(Wire.EDS, Wire.sorted(resources.stream().map(Wire.Summary::ref).toList()));
      case Wire.LDS -> {
        if (kind.scoped()) {
          subscribeSotw(Wire.SRDS, Set.of()); // wildcard: every scope
        } else {
          subscribeSotw(Wire.RDS, Wire.sorted(resources.stream().map(Wire.Summary::ref).toList()));
        }
      }
      case Wire.SRDS -> subscribeSotw(Wire.RDS, Wire.sorted(resources.stream().map(Wire.Summary::ref).toList()));
      case Wire.RDS -> {
        if (!kind.envoy()) {
          resources.stream().filter(s -> s.tokens().containsKey(probeHost)).findFirst()
              .ifPresent(s -> subscribeSotw(Wire.CDS, Wire.sorted(s.clusters())));
        }
      }
      default -> {}
    }
  }

  private void tokens(String type, List<Wire.Summary> resources, long acked) {
    if (type.equals(Wire.RDS)) {
      gotRds = true;
      for (Wire.Summary s : resources) {
        Integer t = s.tokens().get(probeHost);
        if (t != null && t != rdsToken) {
          rdsToken = t;
          rdsTokenAt = acked;
        }
      }
    } else if (type.equals(Wire.EDS)) {
      gotEds = true;
      for (Wire.Summary s : resources) {
        if (s.name().equals(ModelGen.MOVED_BACKEND) && s.token() != edsToken) {
          edsToken = s.token();
          edsTokenAt = acked;
        }
      }
    }
  }

  private void subscribeSotw(String type, Set<String> names) {
    Set<String> before = subscribed.get(type);
    if (names.equals(before)) {
      return;
    }
    subscribed.put(type, names);
    subscribedBytes.put(type, SotwRequests.names(names));
    String[] ack = lastAck.getOrDefault(type, new String[] {"", ""});
    sotw.onNext(request(type, ack[0], ack[1]));
  }

  private SotwRequests.Request request(String type, String version, String nonce) {
    return new SotwRequests.Request(version, nonce, type, nodeBytes,
        subscribedBytes.getOrDefault(type, SotwRequests.NO_NAMES));
  }

  private synchronized void onDelta(DeltaDiscoveryResponse r) {
    String type = r.getTypeUrl();
    count(type, r.getSerializedSize());
    List<Wire.Summary> resources = new ArrayList<>(r.getResourcesCount());
    for (Resource res : r.getResourcesList()) {
      resources.add(Wire.delta(type, res.getName(), res.getVersion(), res.getResource()));
    }
    delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).setResponseNonce(r.getNonce())
        .build());
    long acked = System.nanoTime();
    tokens(type, resources, acked);
    if (type.equals(Wire.LDS) && kind.scoped()) {
      if (!subscribed.containsKey(Wire.SRDS)) {
        subscribed.put(Wire.SRDS, Set.of());
        delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(Wire.SRDS).build()); // wildcard
      }
    } else if (type.equals(Wire.CDS) || type.equals(Wire.LDS) || type.equals(Wire.SRDS)) {
      Set<String> before = holds.getOrDefault(type, Set.of());
      Set<String> after = new HashSet<>(before);
      resources.forEach(s -> after.add(s.ref()));
      // Ebb and java-control-plane name removed resources; names here are the refs (EDS service / RDS name),
      // equal to the resource names for every resource of the benchmark
      r.getRemovedResourcesList().forEach(after::remove);
      if (!after.equals(before)) {
        Set<String> next = Wire.canonical(after);
        holds.put(type, next);
        subscribeDelta(type.equals(Wire.CDS) ? Wire.EDS : Wire.RDS, before, next);
      }
    }
  }

  private void subscribeDelta(String type, Set<String> before, Set<String> after) {
    delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
        .addAllResourceNamesSubscribe(after.stream().filter(n -> !before.contains(n)).sorted().toList())
        .addAllResourceNamesUnsubscribe(before.stream().filter(n -> !after.contains(n)).sorted().toList())
        .build());
  }
}
