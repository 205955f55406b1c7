package dev.ebb.xds;

import com.google.protobuf.Message;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The serving half of the warm-up before {@code /readyz} (SPEC 8): simulated streams of each kind (Envoy state of
 * the world and delta, proxyless gRPC) on a private {@link XdsCache}, fed every config the build warm-up makes
 * ({@link dev.ebb.publish.Warmup}). Each response is planned by {@link ResponsePlanner}, built and serialized as
 * the transport would, and ACKed the way the client would, so the first real changes plan and serialize their
 * responses in compiled code. Nothing leaves the process and nothing is shared with the real cache.
 */
public final class XdsWarmup implements Consumer<XdsSnapshot>, AutoCloseable {
  static final int STREAMS_PER_KIND = 30;
  private static final List<String> ENVOY_ORDER = List.of(TypeUrl.CLUSTER.url(), TypeUrl.ENDPOINT.url(),
      TypeUrl.LISTENER.url(), TypeUrl.SCOPED_ROUTE.url(), TypeUrl.ROUTE.url());

  private static final MethodDescriptor.Marshaller<DiscoveryResponse> SOTW_OUT =
      AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().getResponseMarshaller();
  private static final MethodDescriptor.Marshaller<DeltaDiscoveryRequest> DELTA_IN =
      AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod().getRequestMarshaller();
  private static final MethodDescriptor.Marshaller<DeltaDiscoveryResponse> DELTA_OUT =
      AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod().getResponseMarshaller();

  private final XdsCache cache = new XdsCache(Clock.systemUTC(), XdsEvents.NONE, Long.MAX_VALUE);
  private final SotwRequestMarshaller sotwIn = new SotwRequestMarshaller();
  private final List<Client> clients = new ArrayList<>();
  private final ArrayDeque<Runnable> pending = new ArrayDeque<>();
  private XdsSnapshot current;
  private long responses;
  private long bytes;
  private long problems;

  /** How many responses the simulated clients received and how many bytes they were. */
  public long responses() {
    return responses;
  }

  public long bytes() {
    return bytes;
  }

  /** Responses a simulated client found inconsistent (names it did not ask for); zero when the planner is right. */
  long problems() {
    return problems;
  }

  XdsCache cache() {
    return cache;
  }

  /** Every simulated client holds what the current config has for it, of every type it subscribes to. */
  boolean allInSync() {
    return !clients.isEmpty() && clients.stream().allMatch(Client::inSync);
  }

  @Override
  public void accept(XdsSnapshot snapshot) {
    current = snapshot;
    cache.publish(snapshot);
    if (clients.isEmpty()) {
      long id = -1;
      for (int i = 0; i < STREAMS_PER_KIND; i++) {
        clients.add(new Client(id--, Kind.ENVOY_SOTW, i));
        clients.add(new Client(id--, Kind.ENVOY_DELTA, i));
        clients.add(new Client(id--, Kind.GRPC, i));
      }
      clients.forEach(Client::start);
    } else {
      clients.forEach(Client::resubscribe); // names that came or went with this config
    }
    Runnable next;
    while ((next = pending.poll()) != null) {
      next.run();
    }
  }

  /** The bytes of a marshaller's stream, drained as grpc's framer drains it. */
  private static long written(InputStream in) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (in) {
      if (in instanceof io.grpc.Drainable d) {
        d.drainTo(out);
      } else {
        in.transferTo(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.size();
  }

  @Override
  public void close() {
    clients.forEach(c -> cache.closed(c.stream));
    clients.clear();
  }

  private enum Kind { ENVOY_SOTW, ENVOY_DELTA, GRPC }

  /** One simulated node: answers each response with an ACK, as Envoy or gRPC would, through the real cache. */
  private final class Client implements StreamState.Sender {
    final Kind kind;
    final int index;
    final Node node;
    final StreamState stream;
    /** Per type URL: the names asked for last (empty: wildcard), and the version of the last response. */
    final Map<String, List<String>> names = new HashMap<>();
    final Map<String, String> versions = new HashMap<>();

    Client(long id, Kind kind, int index) {
      this.kind = kind;
      this.index = index;
      this.node = Node.newBuilder().setId("warmup-" + kind + "-" + index)
          .setCluster(kind == Kind.GRPC ? "" : index % 2 == 0 ? "" : "warm")
          .setUserAgentName(kind == Kind.GRPC ? "gRPC Java" : "envoy").build();
      this.stream = cache.open(id, this);
    }

    NodeGroup group() {
      return NodeGroup.of(node);
    }

    void start() {
      for (String type : ENVOY_ORDER) {
        List<String> wanted = wanted(type);
        if (wanted == null) {
          continue;
        }
        names.put(type, wanted);
        request(type, "", "", wanted, List.of());
      }
    }

    /** The names this node asks for of a type in the current config; null: it does not ask for that type. */
    List<String> wanted(String type) {
      XdsSnapshot.View view = current.view(group());
      TypeUrl t = TypeUrl.of(type).orElseThrow();
      if (kind != Kind.GRPC) {
        if (t.wildcardByDefault()) {
          // Envoy asks for scopes only when a listener of its has them
          return t == TypeUrl.SCOPED_ROUTE && (view.of(t) == null || view.of(t).isEmpty()) ? null : List.of();
        }
        return view.of(t) == null ? null : List.copyOf(view.of(t).keySet());
      }
      // proxyless: one host's listener, its RouteConfiguration, and the clusters that names
      List<String> routes = view.of(TypeUrl.ROUTE) == null ? List.of() : List.copyOf(view.of(TypeUrl.ROUTE).keySet());
      if (routes.isEmpty()) {
        return null;
      }
      String route = routes.get(index % routes.size());
      return switch (t) {
        case LISTENER -> {
          List<String> listeners = view.of(TypeUrl.LISTENER) == null ? List.of()
              : List.copyOf(view.of(TypeUrl.LISTENER).keySet());
          yield listeners.isEmpty() ? null : List.of(listeners.get(index % listeners.size()));
        }
        case ROUTE -> List.of(route);
        case CLUSTER, ENDPOINT -> List.copyOf(new TreeSet<>(view.routeClusters().getOrDefault(route, Set.of())));
        default -> null;
      };
    }

    void resubscribe() {
      for (String type : ENVOY_ORDER) {
        List<String> wanted = wanted(type);
        List<String> had = names.get(type);
        if (wanted == null || wanted.equals(had)) {
          continue;
        }
        List<String> gone = new ArrayList<>(had == null ? List.of() : had);
        gone.removeAll(new java.util.HashSet<>(wanted));
        names.put(type, wanted);
        request(type, versions.getOrDefault(type, ""), "", wanted, gone);
      }
    }

    boolean inSync() {
      for (String type : ENVOY_ORDER) {
        if (names.containsKey(type) && !versions.containsKey(type)) {
          return false;
        }
      }
      return true;
    }

    /** A request of this client's kind; a SotW request carries every name, a delta one only what changed. */
    void request(String type, String version, String nonce, List<String> subscribe, List<String> unsubscribe) {
      if (kind == Kind.ENVOY_DELTA) {
        DeltaDiscoveryRequest.Builder b = DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
            .setResponseNonce(nonce);
        if (nonce.isEmpty()) {
          b.addAllResourceNamesSubscribe(subscribe).addAllResourceNamesUnsubscribe(unsubscribe);
        }
        // read from its bytes by the marshallers the transport uses
        cache.onDeltaRequest(stream, DELTA_IN.parse(new ByteArrayInputStream(b.build().toByteArray())));
      } else {
        DiscoveryRequest r = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
            .setVersionInfo(version).setResponseNonce(nonce).addAllResourceNames(subscribe).build();
        cache.onSotwRequest(stream, sotwIn.parse(new ByteArrayInputStream(r.toByteArray())));
      }
    }

    @Override
    public boolean ready() {
      return true;
    }

    @Override
    public void send(Message response) {
      // serialized as the transport does (its marshaller's stream drained into a buffer); the ACK goes after
      // the cache has finished with this request
      bytes += written(response instanceof DeltaDiscoveryResponse d ? DELTA_OUT.stream(d)
          : SOTW_OUT.stream((DiscoveryResponse) response));
      responses++;
      if (response instanceof DiscoveryResponse r) {
        List<String> asked = names.getOrDefault(r.getTypeUrl(), List.of());
        if (!asked.isEmpty() && r.getResourcesCount() > asked.size()) {
          problems++;
        }
        pending.add(() -> {
          versions.put(r.getTypeUrl(), r.getVersionInfo());
          request(r.getTypeUrl(), r.getVersionInfo(), r.getNonce(), names.getOrDefault(r.getTypeUrl(), List.of()),
              List.of());
        });
      } else if (response instanceof DeltaDiscoveryResponse r) {
        pending.add(() -> {
          versions.put(r.getTypeUrl(), r.getSystemVersionInfo());
          request(r.getTypeUrl(), "", r.getNonce(), List.of(), List.of());
        });
      }
    }
  }
}
