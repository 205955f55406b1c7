package dev.ebb.it;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A raw ADS client that subscribes the way Envoy does: listeners and clusters as wildcards, then the
 * ClusterLoadAssignments of the clusters it got and the RouteConfigurations its listeners name; for a listener
 * whose connection manager has {@code scoped_routes}, the scopes as a wildcard (as Envoy's
 * {@code ScopedRdsConfigSubscription} does) and then the RouteConfigurations the scopes name. It ACKs every
 * response unless told to NACK the next one of a type, and records everything it receives.
 */
final class AdsClient implements AutoCloseable {
  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String SDS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
  static final String SRDS = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration";

  enum Variant { SOTW, DELTA }

  /** One response as received. */
  record Received(String type, String version, String nonce, List<String> names, List<String> removed,
      Instant at) {}

  private final ManagedChannel channel;
  private final Variant variant;
  private final Node node;
  private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, Map<String, Message>> state = new ConcurrentHashMap<>();
  private final Map<String, Map<String, byte[]>> bytes = new ConcurrentHashMap<>();
  private final Map<String, String> nackNext = new ConcurrentHashMap<>();
  private final Map<String, String> ackedVersion = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> subscribed = new ConcurrentHashMap<>();
  /** Types subscribed as a wildcard after the stream started (scopes, once a listener has scoped routes). */
  private final Set<String> wildcards = ConcurrentHashMap.newKeySet();
  private final Set<String> holdAcks = ConcurrentHashMap.newKeySet();
  private final List<Runnable> heldAcks = new ArrayList<>();
  private StreamObserver<DiscoveryRequest> sotw;
  private StreamObserver<DeltaDiscoveryRequest> delta;
  private volatile Throwable error;

  AdsClient(int port, Variant variant, String nodeId, String userAgent, String nodeCluster) {
    this(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build(), variant, nodeId, userAgent,
        nodeCluster);
  }

  /** Over a channel of the test's making (TLS, mutual TLS). */
  AdsClient(ManagedChannel channel, Variant variant, String nodeId, String userAgent, String nodeCluster) {
    this.channel = channel;
    this.variant = variant;
    this.node = Node.newBuilder().setId(nodeId).setCluster(nodeCluster).setUserAgentName(userAgent).build();
  }

  static AdsClient envoy(int port, Variant variant) {
    return new AdsClient(port, variant, "envoy-" + variant.name().toLowerCase(), "envoy", "edge").start();
  }

  AdsClient start() {
    var stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
    if (variant == Variant.SOTW) {
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
      sendSotw(CDS, List.of(), "", "", null);
      sendSotw(LDS, List.of(), "", "", null);
    } else {
      delta = stub.deltaAggregatedResources(new StreamObserver<>() {
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
        delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
        delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
      }
    }
    return this;
  }

  /** Responses of this type are applied but not ACKed until {@link #releaseAcks()} (a cluster warming). */
  void holdAcks(String type) {
    holdAcks.add(type);
  }

  synchronized void releaseAcks() {
    holdAcks.clear();
    List<Runnable> pending = List.copyOf(heldAcks);
    heldAcks.clear();
    pending.forEach(Runnable::run);
  }

  /** The next response of this type is rejected with this detail. */
  void nackNext(String type, String detail) {
    nackNext.put(type, detail);
  }

  private synchronized void sendSotw(String type, List<String> names, String version, String nonce, String nack) {
    DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
        .addAllResourceNames(names).setVersionInfo(version).setResponseNonce(nonce);
    if (nack != null) {
      b.setErrorDetail(Status.newBuilder().setCode(3).setMessage(nack));
    }
    sotw.onNext(b.build());
  }

  private synchronized void onSotw(DiscoveryResponse r) {
    String type = r.getTypeUrl();
    Map<String, Message> resources = new TreeMap<>();
    Map<String, byte[]> raw = new TreeMap<>();
    for (Any any : r.getResourcesList()) {
      Message m = unpack(type, any);
      resources.put(name(m), m);
      raw.put(name(m), any.getValue().toByteArray());
    }
    received.add(new Received(type, r.getVersionInfo(), r.getNonce(), List.copyOf(resources.keySet()), List.of(),
        Instant.now()));
    List<String> names = List.copyOf(subscribed.getOrDefault(type, Set.of()));
    String nack = nackNext.remove(type);
    if (nack != null) {
      sendSotw(type, names, ackedVersion.getOrDefault(type, ""), r.getNonce(), nack);
      return;
    }
    if (type.equals(CDS) || type.equals(LDS) || type.equals(SRDS)) {
      // wildcard types: a state-of-the-world response holds them all
      state.put(type, resources);
      bytes.put(type, raw);
    } else {
      state.computeIfAbsent(type, t -> new ConcurrentHashMap<>()).putAll(resources);
      bytes.computeIfAbsent(type, t -> new ConcurrentHashMap<>()).putAll(raw);
    }
    followUp(type);
    Runnable ack = () -> {
      ackedVersion.put(type, r.getVersionInfo());
      sendSotw(type, List.copyOf(subscribed.getOrDefault(type, Set.of())), r.getVersionInfo(), r.getNonce(), null);
    };
    if (holdAcks.contains(type)) {
      heldAcks.add(ack);
    } else {
      ack.run();
    }
  }

  /**
   * After clusters, ask for their endpoints; after listeners, for their certificates, their scopes (a wildcard)
   * and their routes; after scopes, for the routes they name (as Envoy does).
   */
  private void followUp(String type) {
    if (type.equals(CDS)) {
      subscribe(EDS, state.getOrDefault(CDS, Map.of()).keySet());
    } else if (type.equals(LDS)) {
      Set<String> sds = new TreeSet<>();
      boolean scoped = false;
      for (Message m : state.getOrDefault(LDS, Map.of()).values()) {
        sds.addAll(secretNames((Listener) m));
        scoped |= hasScopedRoutes((Listener) m);
      }
      // Envoy asks for the certificates a listener names before it warms the listener
      subscribe(SDS, sds);
      if (scoped) {
        subscribeWildcard(SRDS);
      }
      subscribe(RDS, routeNames());
    } else if (type.equals(SRDS)) {
      subscribe(RDS, routeNames());
    }
  }

  /** The RouteConfigurations the listeners name by RDS and the scopes name. */
  private Set<String> routeNames() {
    Set<String> rds = new TreeSet<>();
    for (Message m : state.getOrDefault(LDS, Map.of()).values()) {
      rdsName((Listener) m).ifPresent(rds::add);
    }
    if (wildcards.contains(SRDS)) {
      for (Message m : state.getOrDefault(SRDS, Map.of()).values()) {
        rds.add(((ScopedRouteConfiguration) m).getRouteConfigurationName());
      }
    }
    return rds;
  }

  /** Subscribes to every resource of {@code type} by naming none (the first request of the type). */
  private void subscribeWildcard(String type) {
    if (!wildcards.add(type)) {
      return;
    }
    if (variant == Variant.SOTW) {
      sendSotw(type, List.of(), "", "", null);
    } else {
      delta.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).build());
    }
  }

  private void subscribe(String type, Set<String> names) {
    Set<String> before = subscribed.getOrDefault(type, Set.of());
    if (before.equals(names)) {
      return;
    }
    subscribed.put(type, new TreeSet<>(names));
    if (variant == Variant.SOTW) {
      Received last = lastOf(type);
      sendSotw(type, List.copyOf(names), ackedVersion.getOrDefault(type, ""), last == null ? "" : last.nonce(), null);
    } else {
      List<String> add = names.stream().filter(n -> !before.contains(n)).toList();
      List<String> drop = before.stream().filter(n -> !names.contains(n)).toList();
      delta.onNext(DeltaDiscoveryRequest.newBuilder().setTypeUrl(type).addAllResourceNamesSubscribe(add)
          .addAllResourceNamesUnsubscribe(drop).build());
    }
  }

  private synchronized void onDelta(DeltaDiscoveryResponse r) {
    String type = r.getTypeUrl();
    List<String> names = new ArrayList<>();
    Map<String, Message> resources = new TreeMap<>();
    Map<String, byte[]> raw = new TreeMap<>();
    for (Resource res : r.getResourcesList()) {
      Message m = unpack(type, res.getResource());
      resources.put(res.getName(), m);
      raw.put(res.getName(), res.getResource().getValue().toByteArray());
      names.add(res.getName());
    }
    received.add(new Received(type, r.getSystemVersionInfo(), r.getNonce(), names, r.getRemovedResourcesList(),
        Instant.now()));
    String nack = nackNext.remove(type);
    DeltaDiscoveryRequest.Builder ack = DeltaDiscoveryRequest.newBuilder().setTypeUrl(type)
        .setResponseNonce(r.getNonce());
    if (nack != null) {
      delta.onNext(ack.setErrorDetail(Status.newBuilder().setCode(3).setMessage(nack)).build());
      return;
    }
    Map<String, Message> s = state.computeIfAbsent(type, t -> new ConcurrentHashMap<>());
    Map<String, byte[]> b = bytes.computeIfAbsent(type, t -> new ConcurrentHashMap<>());
    s.putAll(resources);
    b.putAll(raw);
    r.getRemovedResourcesList().forEach(n -> {
      s.remove(n);
      b.remove(n);
    });
    followUp(type);
    if (holdAcks.contains(type)) {
      heldAcks.add(() -> delta.onNext(ack.build()));
    } else {
      delta.onNext(ack.build());
    }
  }

  private static Message unpack(String type, Any any) {
    try {
      return switch (type) {
        case CDS -> any.unpack(Cluster.class);
        case EDS -> any.unpack(ClusterLoadAssignment.class);
        case LDS -> any.unpack(Listener.class);
        case RDS -> any.unpack(RouteConfiguration.class);
        case SDS -> any.unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class);
        case SRDS -> any.unpack(ScopedRouteConfiguration.class);
        default -> throw new IllegalArgumentException(type);
      };
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String name(Message m) {
    if (m instanceof Cluster c) {
      return c.getName();
    } else if (m instanceof ClusterLoadAssignment c) {
      return c.getClusterName();
    } else if (m instanceof Listener l) {
      return l.getName();
    } else if (m instanceof io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret sec) {
      return sec.getName();
    } else if (m instanceof ScopedRouteConfiguration sc) {
      return sc.getName();
    }
    return ((RouteConfiguration) m).getName();
  }

  static java.util.Optional<HttpConnectionManager> hcm(Listener l) {
    try {
      Any cfg = l.hasApiListener() ? l.getApiListener().getApiListener()
          : l.getFilterChains(0).getFilters(0).getTypedConfig();
      return java.util.Optional.of(cfg.unpack(HttpConnectionManager.class));
    } catch (InvalidProtocolBufferException | IndexOutOfBoundsException e) {
      return java.util.Optional.empty();
    }
  }

  /** The RouteConfiguration a listener names by RDS; none for a listener with scoped routes. */
  static java.util.Optional<String> rdsName(Listener l) {
    return hcm(l).filter(HttpConnectionManager::hasRds).map(h -> h.getRds().getRouteConfigName());
  }

  static boolean hasScopedRoutes(Listener l) {
    return hcm(l).map(HttpConnectionManager::hasScopedRoutes).orElse(false);
  }

  /** The SDS secrets a listener's filter chains name for their certificates. */
  static Set<String> secretNames(Listener l) {
    Set<String> names = new TreeSet<>();
    for (var fc : l.getFilterChainsList()) {
      if (fc.hasTransportSocket()) {
        try {
          fc.getTransportSocket().getTypedConfig()
              .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class)
              .getCommonTlsContext().getTlsCertificateSdsSecretConfigsList().forEach(c -> names.add(c.getName()));
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return names;
  }

  /** Changes this client's subscription to {@code type} (as grpc-java does when a cluster leaves a route). */
  synchronized void resubscribe(String type, Set<String> names) {
    subscribe(type, names);
  }

  // ---- what tests read ----

  List<Received> received(String type) {
    synchronized (received) {
      return received.stream().filter(r -> r.type().equals(type)).toList();
    }
  }

  int count(String type) {
    return received(type).size();
  }

  Received lastOf(String type) {
    List<Received> l = received(type);
    return l.isEmpty() ? null : l.get(l.size() - 1);
  }

  @SuppressWarnings("unchecked")
  <T extends Message> Map<String, T> resources(String type) {
    return new TreeMap<>((Map<String, T>) (Map<String, ?>) state.getOrDefault(type, Map.of()));
  }

  Map<String, byte[]> rawBytes(String type) {
    return new HashMap<>(bytes.getOrDefault(type, Map.of()));
  }

  Throwable error() {
    return error;
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
