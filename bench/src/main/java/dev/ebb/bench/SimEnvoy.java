package dev.ebb.bench;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One simulated Envoy: a real ADS stream that subscribes like Envoy (wildcard CDS and LDS, then EDS for the
 * clusters it got and RDS for the route configurations its listeners name) and ACKs every response. It keeps
 * names, not resources, so that thousands fit in the load generator. Names parsed from a response are cached
 * by version across all simulated nodes.
 */
final class SimEnvoy {
  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final List<String> TYPES = List.of(CDS, EDS, LDS, RDS);
  private static final Map<String, List<String>> NAMES_BY_VERSION = new ConcurrentHashMap<>();

  /** Bytes received per type, over all simulated nodes. */
  static final AtomicLongArray BYTES = new AtomicLongArray(4);
  static final AtomicLongArray RESPONSES = new AtomicLongArray(4);

  private final Node node;
  private final boolean delta;
  volatile int rdsCount;
  volatile int edsCount;
  volatile long lastRdsAckNanos;
  private StreamObserver<DiscoveryRequest> sotw;
  private StreamObserver<DeltaDiscoveryRequest> deltaOut;
  private final Map<String, Set<String>> subscribed = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> have = new ConcurrentHashMap<>();
  private final Map<String, String[]> lastAck = new ConcurrentHashMap<>();
  volatile Throwable error;

  SimEnvoy(String id, boolean delta) {
    this.node = Node.newBuilder().setId(id).setCluster("edge").setUserAgentName("envoy").build();
    this.delta = delta;
  }

  void start(ManagedChannel channel) {
    var stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
    if (!delta) {
      sotw = stub.streamAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryResponse r) {
          onSotw(r);
        }

        @Override
        public void onError(Throwable t) {
          error = t;
        }

        @Override
        public void onCompleted() {}
      });
      synchronized (this) {
        sotw.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
        sotw.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
      }
    } else {
      deltaOut = stub.deltaAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DeltaDiscoveryResponse r) {
          onDelta(r);
        }

        @Override
        public void onError(Throwable t) {
          error = t;
        }

        @Override
        public void onCompleted() {}
      });
      synchronized (this) {
        deltaOut.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
        deltaOut.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
      }
    }
  }

  boolean synced() {
    return rdsCount > 0 && have.containsKey(EDS);
  }

  private static void count(String type, int bytes) {
    int i = TYPES.indexOf(type);
    BYTES.addAndGet(i, bytes);
    RESPONSES.incrementAndGet(i);
  }

  private synchronized void onSotw(DiscoveryResponse r) {
    String type = r.getTypeUrl();
    count(type, r.getSerializedSize());
    List<String> names = NAMES_BY_VERSION.computeIfAbsent(type + "|" + r.getVersionInfo() + "|"
        + r.getResourcesCount(), k -> names(type, r.getResourcesList()));
    if (type.equals(CDS) || type.equals(LDS)) {
      have.put(type, new TreeSet<>(names));
    } else {
      have.computeIfAbsent(type, t -> new TreeSet<>()).addAll(names);
    }
    sotw.onNext(DiscoveryRequest.newBuilder().setTypeUrl(type).setVersionInfo(r.getVersionInfo())
        .setResponseNonce(r.getNonce()).addAllResourceNames(subscribed.getOrDefault(type, Set.of())).build());
    lastAck.put(type, new String[] {r.getVersionInfo(), r.getNonce()});
    if (type.equals(RDS)) {
      lastRdsAckNanos = System.nanoTime();
      rdsCount++;
    } else if (type.equals(EDS)) {
      edsCount++;
    }
    followUp(type, names);
  }

  private synchronized void onDelta(DeltaDiscoveryResponse r) {
    String type = r.getTypeUrl();
    count(type, r.getSerializedSize());
    Set<String> h = have.computeIfAbsent(type, t -> new TreeSet<>());
    List<String> added = new ArrayList<>();
    for (Resource res : r.getResourcesList()) {
      h.add(res.getName());
      added.add(res.getName());
    }
    r.getRemovedResourcesList().forEach(h::remove);
    deltaOut.onNext(DeltaDiscoveryRequest.newBuilder().setTypeUrl(type).setResponseNonce(r.getNonce()).build());
    if (type.equals(RDS)) {
      lastRdsAckNanos = System.nanoTime();
      rdsCount++;
    } else if (type.equals(EDS)) {
      edsCount++;
    }
    if (type.equals(LDS)) {
      List<Any> listeners = r.getResourcesList().stream().map(Resource::getResource).toList();
      followUp(type, NAMES_BY_VERSION.computeIfAbsent("rds|" + r.getSystemVersionInfo(), k -> rdsNames(listeners)));
    } else if (type.equals(CDS)) {
      followUp(type, List.copyOf(h));
    }
  }

  private void followUp(String type, List<String> names) {
    if (type.equals(CDS)) {
      subscribe(EDS, new TreeSet<>(names));
    } else if (type.equals(LDS)) {
      subscribe(RDS, new TreeSet<>(delta ? names : rdsNamesOf(names)));
    }
  }

  private List<String> rdsNamesOf(List<String> listenerNames) {
    return listenerNames; // Ebb names each RouteConfiguration like its listener
  }

  private void subscribe(String type, Set<String> names) {
    Set<String> before = subscribed.getOrDefault(type, Set.of());
    if (before.equals(names)) {
      return;
    }
    subscribed.put(type, names);
    if (!delta) {
      String[] ack = lastAck.getOrDefault(type, new String[] {"", ""});
      sotw.onNext(DiscoveryRequest.newBuilder().setTypeUrl(type).setVersionInfo(ack[0]).setResponseNonce(ack[1])
          .addAllResourceNames(names).build());
    } else {
      deltaOut.onNext(DeltaDiscoveryRequest.newBuilder().setTypeUrl(type)
          .addAllResourceNamesSubscribe(names.stream().filter(n -> !before.contains(n)).toList())
          .addAllResourceNamesUnsubscribe(before.stream().filter(n -> !names.contains(n)).toList()).build());
    }
  }

  private static List<String> names(String type, List<Any> resources) {
    List<String> out = new ArrayList<>(resources.size());
    try {
      for (Any a : resources) {
        out.add(switch (type) {
          case CDS -> Cluster.parseFrom(a.getValue()).getName();
          case LDS -> Listener.parseFrom(a.getValue()).getName();
          case EDS -> io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.parseFrom(a.getValue())
              .getClusterName();
          default -> io.envoyproxy.envoy.config.route.v3.RouteConfiguration.parseFrom(a.getValue()).getName();
        });
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  private static List<String> rdsNames(List<Any> listeners) {
    List<String> out = new ArrayList<>();
    try {
      for (Any a : listeners) {
        Listener l = Listener.parseFrom(a.getValue());
        out.add(l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class).getRds()
            .getRouteConfigName());
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }
}
