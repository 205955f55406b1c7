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
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * The serving half of the warm-up before {@code /readyz} (SPEC 8): simulated streams of each kind (Envoy state of
 * the world and delta, proxyless gRPC) on a private {@link XdsCache}, fed every config the build warm-up makes
 * ({@link dev.ebb.publish.Warmup}). Each response is planned by {@link ResponsePlanner}, built and serialized as
 * the transport would, and ACKed the way the client would, so the first real changes plan and serialize their
 * responses in compiled code. Nothing leaves the process and nothing is shared with the real cache.
 *
 * <p>{@link #overTransport()} moves the simulated streams onto a private gRPC server on a loopback port, with
 * the real {@link AdsService} and gRPC channels as clients: then the transport's code (framing, flow control,
 * Netty's buffers, the call's executor) runs on every response and ACK, as it will for the first real change.
 * Each config then waits until every subscription with new names is answered and every stream has ACKed what it
 * was sent.
 */
public final class XdsWarmup implements Consumer<XdsSnapshot>, AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(XdsWarmup.class);
  static final int STREAMS_PER_KIND = 30;
  /** Over the transport: how long a config may take to be ACKed by every stream before the warm-up goes on. */
  static final long SETTLE_MAX_MS = 5_000;
  /** Over the transport: one node reconnects every this many configs (but not when its kind moves, below). */
  static final int RECONNECT_EVERY = 5;
  /** Over the transport: the nodes of one kind move to a new connection every this many configs. */
  static final int NEW_CONNECTION_EVERY = 20;
  /**
   * The private cache's budget for bytes the transport has not taken yet: small, so that the path a real server
   * takes when many proxies sync at once (streams waiting for the budget) is compiled too.
   */
  static final long BUDGET_BYTES = 256 * 1024;
  /**
   * The order in which Envoy asks for types over ADS: clusters, their endpoints once the clusters came, listeners
   * once the clusters are warm, then the listeners' scopes and routes. Each is asked for once the one before it
   * was answered.
   */
  private static final List<String> ENVOY_ORDER = List.of(TypeUrl.CLUSTER.url(), TypeUrl.ENDPOINT.url(),
      TypeUrl.LISTENER.url(), TypeUrl.SCOPED_ROUTE.url(), TypeUrl.ROUTE.url());
  /** The order of a proxyless gRPC client: its target's listener, the route it names, the clusters, endpoints. */
  private static final List<String> GRPC_ORDER = List.of(TypeUrl.LISTENER.url(), TypeUrl.ROUTE.url(),
      TypeUrl.CLUSTER.url(), TypeUrl.ENDPOINT.url());

  private static final MethodDescriptor.Marshaller<DiscoveryResponse> SOTW_OUT =
      AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().getResponseMarshaller();
  private static final MethodDescriptor.Marshaller<DeltaDiscoveryRequest> DELTA_IN =
      AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod().getRequestMarshaller();
  private static final MethodDescriptor.Marshaller<DeltaDiscoveryResponse> DELTA_OUT =
      AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod().getResponseMarshaller();

  private final XdsEvents events;
  /** The private cache; a new one when the streams move to the loopback. */
  private volatile XdsCache cache;
  private final SotwRequestMarshaller sotwIn = new SotwRequestMarshaller();
  private final List<Client> clients = new ArrayList<>();
  private final ArrayDeque<Runnable> pending = new ArrayDeque<>();
  private volatile XdsSnapshot current;
  private volatile long responses;
  private volatile long bytes;
  private volatile long problems;
  /** The loopback server, its clients' channels (one per kind) and the thread their callbacks run on. */
  private volatile XdsServer server;
  private final List<ManagedChannel> channels = new ArrayList<>();
  /** Channels whose nodes moved to a new connection. */
  private final List<ManagedChannel> retired = new ArrayList<>();
  private ExecutorService clientThread;
  /** Subscription requests that must be answered (a stream's first of a type, or new names) and are not yet. */
  private final java.util.concurrent.atomic.AtomicInteger unanswered = new java.util.concurrent.atomic.AtomicInteger();
  private volatile Throwable failure;
  /** Responses and bytes when the streams moved to the loopback. */
  private long responsesBefore;
  private long bytesBefore;
  private volatile int streamsWanted;
  private long unsettled;
  private long configs;
  private final Clock clock = Clock.systemUTC();
  private int reconnects;
  private int connections;

  public XdsWarmup() {
    this(XdsEvents.NONE);
  }

  /**
   * @param events what the private cache and server report to: listeners of the same classes as the real
   *     server's, in the same places, but recording nothing anyone reads. The JIT compiles the cache's calls to its
   *     listeners for the classes it saw; a real listener of another class would send that code back to the
   *     interpreter at the first real change, and the cache's largest methods would be compiled again then.
   */
  public XdsWarmup(XdsEvents events) {
    this.events = events;
    this.cache = new XdsCache(clock, events, BUDGET_BYTES);
  }

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

  /** Configs, over the transport, that were not ACKed by every stream within {@value #SETTLE_MAX_MS} ms. */
  synchronized long unsettled() {
    return unsettled;
  }

  XdsCache cache() {
    return cache;
  }

  /** The connections the loopback server has seen, or 0 while the streams run in process (for tests). */
  public long connectionsOpened() {
    XdsServer s = server; // read once: closing the warm-up clears it
    return s == null ? 0 : s.guard().connectionsOpened();
  }

  /** The loopback port the simulated streams use, or 0 while they run in process. */
  int port() {
    XdsServer s = server;
    return s == null ? 0 : s.port();
  }

  /** Every simulated client holds what the current config has for it, of every type it subscribes to. */
  boolean allInSync() {
    return Boolean.TRUE.equals(onClients(() -> !clients.isEmpty() && clients.stream().allMatch(Client::inSync)));
  }

  /**
   * From now on the simulated streams run through a private gRPC server on a loopback port (the streams in
   * process are closed, and opened again over the transport); returns that port. A failure leaves them in process.
   */
  public synchronized int overTransport() {
    if (server != null) {
      return server.port();
    }
    closeClients();
    unanswered.set(0);
    responsesBefore = responses;
    bytesBefore = bytes;
    // a new private cache, as at a server's start: its first streams find its tables empty (the interned name
    // lists'), which the JIT saw only before it profiled the warm-up; the first real proxies would otherwise send
    // the compiled request handling back to the interpreter
    cache = new XdsCache(clock, events, BUDGET_BYTES);
    if (current != null) {
      cache.publish(current);
    }
    try {
      server = new XdsServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), cache, null,
          XdsServer.Connections.DEFAULT, events).start();
      clientThread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "ebb-warmup-clients");
        t.setDaemon(true);
        return t;
      });
      for (int i = 0; i < Kind.values().length; i++) {
        channels.add(channel(server.port()));
      }
      if (current != null) {
        onClients(() -> {
          startClients();
          return null;
        });
        settle();
      }
      return server.port();
    } catch (RuntimeException e) {
      LOG.info("the warm-up's streams stay in process: no loopback server ({})", e.toString());
      closeTransport(); // its clients' calls end with the channels (forcibly after a second)
      clients.clear();
      unanswered.set(0);
      failure = null;
      cache = new XdsCache(clock, events, BUDGET_BYTES); // without the loopback's streams
      if (current != null) {
        cache.publish(current);
        startClients(); // in process again
        runPending();
      }
      return 0;
    }
  }

  @Override
  public synchronized void accept(XdsSnapshot snapshot) {
    configs++;
    // published as the pipeline publishes: a generation of its own and when its change was seen, so that the
    // streams' propagation samples are milliseconds, as in service (an unpublished snapshot was seen at the epoch:
    // samples of 56 years, past every bucket of the timer's histogram, whose code the JIT then compiled without the
    // buckets that real samples fall in)
    current = snapshot.published(configs, clock.instant());
    cache.publish(current);
    onClients(() -> {
      if (clients.isEmpty()) {
        startClients();
      } else {
        clients.forEach(Client::advance); // names that came or went with this config
      }
      return null;
    });
    if (server == null) {
      runPending();
      return;
    }
    settle();
    // nodes go away once the transport is quiet (every response taken and ACKed): a call cancelled while the
    // server still has writes queued for it makes grpc log a stream error; then their new streams sync
    if (configs % NEW_CONNECTION_EVERY == 0 || configs % RECONNECT_EVERY == 0) {
      onClients(() -> {
        if (configs % NEW_CONNECTION_EVERY == 0) {
          newConnection();
        } else {
          reconnectOne();
        }
        return null;
      });
      settle();
    }
  }

  /** In process: the ACKs the simulated clients owe, each after the cache has finished with the request before. */
  private void runPending() {
    Runnable next;
    while ((next = pending.poll()) != null) {
      next.run();
    }
  }

  private void startClients() {
    long id = -1;
    for (int i = 0; i < STREAMS_PER_KIND; i++) {
      for (Kind kind : Kind.values()) {
        clients.add(server == null ? new Local(id--, kind, i) : new Remote(kind, i, channels.get(kind.ordinal())));
      }
    }
    streamsWanted = clients.size();
    clients.forEach(Client::start);
  }

  /**
   * Over the transport, the nodes of one kind (in turn) move to a new HTTP/2 connection, as proxies do when they
   * restart: a new connection's first bytes take paths (the connection preface, a new channel's handlers) that the
   * JIT would otherwise see only when real proxies connect, sending code compiled without them back to the
   * interpreter just before the first real changes.
   */
  private void newConnection() {
    Kind kind = Kind.values()[connections++ % Kind.values().length];
    ManagedChannel old = channels.get(kind.ordinal());
    channels.set(kind.ordinal(), channel(server.port()));
    for (int i = 0; i < clients.size(); i++) {
      Client gone = clients.get(i);
      if (gone.kind == kind) {
        Client back = new Remote(kind, gone.index, channels.get(kind.ordinal()));
        clients.set(i, back);
        gone.close();
        back.start();
      }
    }
    // the connection left at the last move is idle by now; this one's calls were cancelled just now, and closing
    // it while the server still writes to them makes grpc log a stream error: it is closed at the next move
    retired.forEach(ManagedChannel::shutdown);
    retired.removeIf(ManagedChannel::isTerminated);
    retired.add(old);
  }

  private ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
        .usePlaintext().executor(clientThread).maxInboundMessageSize(Integer.MAX_VALUE).build();
  }

  /**
   * Over the transport, one node (in turn) goes away and comes back on a new stream, as proxies do: a new stream's
   * first response takes paths (the call's headers, a first sync) that the JIT would otherwise compile only when
   * real proxies connect, sending code compiled without them back to the interpreter.
   */
  private void reconnectOne() {
    int i = reconnects++ % clients.size();
    Client gone = clients.get(i);
    Client back = new Remote(gone.kind, gone.index, channels.get(gone.kind.ordinal()));
    clients.set(i, back);
    gone.close();
    back.start();
  }

  /** Runs on the thread the remote clients' callbacks run on (in process: this one); null when interrupted. */
  private <T> T onClients(java.util.concurrent.Callable<T> task) {
    try {
      if (clientThread == null) {
        return task.call();
      }
      return clientThread.submit(task).get(SETTLE_MAX_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // the warm-up ends: its loop sees the flag
      return null;
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("the warm-up's clients did not answer within " + SETTLE_MAX_MS + " ms");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Over the transport: until every client has the answer to each subscription request it made, and every stream
   * has ACKed every response it was sent, at most {@value #SETTLE_MAX_MS} ms.
   */
  private void settle() {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MAX_MS);
    while (System.nanoTime() < deadline) {
      if (Thread.currentThread().isInterrupted()) {
        return; // the warm-up ends
      }
      if (failure != null) {
        Throwable f = failure;
        throw new IllegalStateException("a warm-up stream over the loopback failed: " + f, f);
      }
      if (unanswered.get() == 0 && allAcked()) {
        return;
      }
      LockSupport.parkNanos(200_000);
    }
    unsettled++;
  }

  /**
   * The private cache has exactly the clients' streams (a reconnected node's old one is gone), each has named its
   * node, holds back no response, and has ACKed (or NACKed) the last response of each type.
   */
  private boolean allAcked() {
    Collection<StreamState> streams = cache.streams();
    if (streams.size() != streamsWanted) {
      return false;
    }
    for (StreamState s : streams) {
      synchronized (s) {
        if (s.group == null || s.waitingForBudget) {
          return false;
        }
        for (StreamState.TypeState ts : s.types.values()) {
          if (ts.deferred) {
            return false; // a response is held back (transport not ready, or the send budget): it is still to come
          }
          if (ts.sentNonce != null && !ts.sentNonce.equals(ts.ackedNonce) && !ts.sentNonce.equals(ts.nackedNonce)) {
            return false;
          }
        }
      }
    }
    return true;
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

  private void closeClients() {
    List<Client> open = List.copyOf(clients);
    clients.clear();
    open.forEach(Client::close);
  }

  private void closeTransport() {
    channels.addAll(retired);
    retired.clear();
    // their calls are cancelled (closeClients): a graceful shutdown ends once the server has seen that, without
    // the stream errors grpc logs when a connection closes under writes; then forcibly, whatever is left
    channels.forEach(ManagedChannel::shutdown);
    for (ManagedChannel c : channels) {
      try {
        if (!c.awaitTermination(1, TimeUnit.SECONDS)) { // its callbacks run on the clients' thread: end them first
          c.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        c.shutdownNow();
      }
    }
    channels.clear();
    if (server != null) {
      server.close();
      server = null;
    }
    if (clientThread != null) {
      clientThread.shutdownNow();
      try {
        clientThread.awaitTermination(1, TimeUnit.SECONDS); // no callback touches the clients after this
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      clientThread = null;
    }
  }

  @Override
  public synchronized void close() {
    if (server != null) {
      LOG.info("the warm-up's {} streams over a loopback port got {} responses ({} KiB){}", streamsWanted,
          responses - responsesBefore, (bytes - bytesBefore) / 1024, unsettled == 0 ? "" : "; " + unsettled + " configs were not ACKed by every stream within "
              + SETTLE_MAX_MS + " ms");
    }
    try {
      onClients(() -> {
        closeClients();
        return null;
      });
    } catch (RuntimeException e) {
      LOG.debug("warm-up clients not closed: {}", e.toString());
    }
    closeTransport();
  }

  enum Kind { ENVOY_SOTW, ENVOY_DELTA, GRPC }

  /**
   * A node as the clients of that kind describe themselves, with the fields real ones send (a build version or
   * version string, extensions, client features, locality, metadata) in varying combinations: the server parses
   * the node of every Envoy request, and a field the warm-up never sent would send that parser back to the
   * interpreter when the first real proxies connect.
   */
  static Node node(Kind kind, int index) {
    Node.Builder n = Node.newBuilder().setId("warmup-" + kind + "-" + index)
        .setCluster(kind == Kind.GRPC ? "" : index % 2 == 0 ? "" : "warm");
    if (index % 4 != 3) {
      n.setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion("warm-up")
          .setZone("zone-" + index % 2));
    }
    if (index % 3 != 2) {
      n.setMetadata(com.google.protobuf.Struct.newBuilder().putFields("pod", com.google.protobuf.Value.newBuilder()
          .setStringValue("warmup-" + index).build()));
    }
    if (kind == Kind.GRPC) {
      String[] agents = {"gRPC Java", "gRPC Go", "gRPC C-core", "grpc-node-js"};
      return n.setUserAgentName(agents[index % agents.length]).setUserAgentVersion("1." + (50 + index) + ".0")
          .addClientFeatures("envoy.lb.does_not_support_overprovisioning")
          .addClientFeatures("xds.config.resource-in-sotw").build();
    }
    n.setUserAgentName("envoy").addClientFeatures("envoy.lb.does_not_support_overprovisioning")
        .addClientFeatures("envoy.lrs.supports_send_all_clusters");
    if (index % 3 == 0) {
      return n.setUserAgentVersion("1.34." + index).build();
    }
    n.setUserAgentBuildVersion(io.envoyproxy.envoy.config.core.v3.BuildVersion.newBuilder()
        .setVersion(io.envoyproxy.envoy.type.v3.SemanticVersion.newBuilder().setMajorNumber(1)
            .setMinorNumber(34 + index % 4))
        .setMetadata(com.google.protobuf.Struct.newBuilder().putFields("build.type",
            com.google.protobuf.Value.newBuilder().setStringValue("RELEASE").build())));
    for (String[] e : new String[][] {{"envoy.filters.http.router", "envoy.filters.http",
        "envoy.extensions.filters.http.router.v3.Router"}, {"envoy.transport_sockets.tls",
        "envoy.transport_sockets.downstream", "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"}}) {
      n.addExtensions(io.envoyproxy.envoy.config.core.v3.Extension.newBuilder().setName(e[0]).setCategory(e[1])
          .addTypeUrls(e[2]));
    }
    return n.build();
  }

  /** One simulated node: answers each response with an ACK, as Envoy or gRPC would. */
  private abstract class Client {
    final Kind kind;
    final int index;
    final Node node;
    /** Per type URL: the names asked for last (empty: wildcard), and the version of the last response. */
    final Map<String, List<String>> names = new HashMap<>();
    final Map<String, String> versions = new HashMap<>();
    /** Per type URL: the names asked for before the last list. */
    final Map<String, List<String>> askedBefore = new HashMap<>();
    /** Type URLs with a subscription request not answered yet. */
    final Set<String> awaiting = new java.util.HashSet<>();
    /** Whether a request of this stream carried the node. */
    boolean namedNode;
    /** Whether it asked for every type it wants (else the next waits for an answer). */
    boolean allAsked;

    Client(Kind kind, int index) {
      this.kind = kind;
      this.index = index;
      this.node = node(kind, index);
    }

    /** Sends a request of this client's kind. */
    abstract void ask(DiscoveryRequest request);

    abstract void ask(DeltaDiscoveryRequest request);

    abstract void close();

    NodeGroup group() {
      return NodeGroup.of(node);
    }

    /** The types in the order this kind of client asks for them. */
    List<String> order() {
      return kind == Kind.GRPC ? GRPC_ORDER : ENVOY_ORDER;
    }

    void start() {
      advance();
    }

    /**
     * Asks again for the types whose names came or went with the config, and for the next type this client does
     * not ask for yet once every type before it in its {@link #order} was answered, as real clients do (a
     * client's first request names one type, so the server plans responses for streams that lack the others).
     */
    void advance() {
      boolean ready = true; // every type asked for before this one was answered
      allAsked = true;
      for (String type : order()) {
        List<String> wanted = wanted(type);
        if (wanted == null) {
          continue;
        }
        List<String> had = names.get(type);
        if (had == null) {
          allAsked = false;
          if (ready) {
            names.put(type, wanted);
            request(type, "", "", wanted, List.of(), true);
          }
          ready = false; // the types after it wait for its answer
          continue;
        }
        if (!wanted.equals(had)) {
          List<String> gone = new ArrayList<>(had);
          gone.removeAll(new java.util.HashSet<>(wanted));
          // only new names are sure to be answered: names dropped need nothing (the client forgets them)
          boolean added = !new java.util.HashSet<>(had).containsAll(wanted);
          names.put(type, wanted);
          askedBefore.put(type, had);
          request(type, versions.getOrDefault(type, ""), "", wanted, gone, added);
        }
        if (!versions.containsKey(type)) {
          ready = false;
        }
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

    /** Asks for every type it wants in the current config, and holds an answer for each. */
    boolean inSync() {
      for (String type : order()) {
        if (names.containsKey(type) ? !versions.containsKey(type) : wanted(type) != null) {
          return false;
        }
      }
      return true;
    }

    /**
     * A request of this client's kind; a SotW request carries every name, a delta one only what changed.
     * {@code answered}: a response will come (the first request of a type, or one with new names).
     */
    void request(String type, String version, String nonce, List<String> subscribe, List<String> unsubscribe,
        boolean answered) {
      if (answered && awaiting.add(type)) {
        unanswered.incrementAndGet();
      }
      if (kind == Kind.ENVOY_DELTA) {
        DeltaDiscoveryRequest.Builder b = DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
            .setResponseNonce(nonce);
        if (nonce.isEmpty()) {
          b.addAllResourceNamesSubscribe(subscribe).addAllResourceNamesUnsubscribe(unsubscribe);
        }
        ask(b.build());
      } else {
        // Envoy (by default) and grpc-java name the node on every request, C-core and grpc-go on the first of a
        // stream only; the other proxyless agents here do as those two
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setTypeUrl(type).setVersionInfo(version)
            .setResponseNonce(nonce).addAllResourceNames(subscribe);
        if (kind != Kind.GRPC || node.getUserAgentName().equals("gRPC Java") || !namedNode) {
          b.setNode(node);
          namedNode = true;
        }
        ask(b.build());
      }
    }

    /** What the client does with a response: checks it, takes its version, and returns the ACK to send. */
    Runnable received(Message response) {
      responses++;
      String type = response instanceof DiscoveryResponse r ? r.getTypeUrl() : ((DeltaDiscoveryResponse) response)
          .getTypeUrl();
      if (response instanceof DiscoveryResponse r) {
        // over the transport a response may answer the list asked for before the last one (it was on its way);
        // in process each response answers the last one
        List<String> asked = names.getOrDefault(r.getTypeUrl(), List.of());
        int allowed = this instanceof Remote
            ? Math.max(asked.size(), askedBefore.getOrDefault(r.getTypeUrl(), List.of()).size()) : asked.size();
        if (!asked.isEmpty() && r.getResourcesCount() > allowed) {
          problems++;
        }
        return () -> {
          versions.put(r.getTypeUrl(), r.getVersionInfo());
          request(r.getTypeUrl(), r.getVersionInfo(), r.getNonce(), names.getOrDefault(r.getTypeUrl(), List.of()),
              List.of(), false);
          answered(type);
        };
      }
      DeltaDiscoveryResponse r = (DeltaDiscoveryResponse) response;
      return () -> {
        versions.put(r.getTypeUrl(), r.getSystemVersionInfo());
        request(r.getTypeUrl(), "", r.getNonce(), List.of(), List.of(), false);
        answered(type);
      };
    }

    /**
     * After the ACK of a response of {@code type}: the next type, if one waited for it, then the type's awaited
     * subscription counts as answered (not before, or the wait per config could end between the two).
     */
    private void answered(String type) {
      if (!allAsked) {
        advance();
      }
      if (awaiting.remove(type)) {
        unanswered.decrementAndGet();
      }
    }
  }

  /** A client called by the cache directly; its requests are read from their bytes by the transport's marshallers. */
  private final class Local extends Client implements StreamState.Sender {
    final StreamState stream;

    Local(long id, Kind kind, int index) {
      super(kind, index);
      this.stream = cache.open(id, this);
    }

    @Override
    void ask(DiscoveryRequest request) {
      cache.onSotwRequest(stream, sotwIn.parse(new ByteArrayInputStream(request.toByteArray())));
    }

    @Override
    void ask(DeltaDiscoveryRequest request) {
      cache.onDeltaRequest(stream, DELTA_IN.parse(new ByteArrayInputStream(request.toByteArray())));
    }

    @Override
    void close() {
      cache.closed(stream);
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
      pending.add(received(response));
    }
  }

  /** A client on a gRPC channel to the loopback server; its callbacks run on the clients' one thread. */
  private final class Remote extends Client {
    private final StreamObserver<DiscoveryRequest> sotw;
    private final StreamObserver<DeltaDiscoveryRequest> delta;
    private ClientCallStreamObserver<?> call;
    /** Closed (replaced): a response still on its way is dropped, not ACKed or counted. */
    private boolean closed;

    Remote(Kind kind, int index, ManagedChannel channel) {
      super(kind, index);
      AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub =
          AggregatedDiscoveryServiceGrpc.newStub(channel);
      if (kind == Kind.ENVOY_DELTA) {
        this.delta = stub.deltaAggregatedResources(new Responses<>());
        this.sotw = null;
      } else {
        this.sotw = stub.streamAggregatedResources(new Responses<>());
        this.delta = null;
      }
    }

    @Override
    void ask(DiscoveryRequest request) {
      sotw.onNext(request);
    }

    @Override
    void ask(DeltaDiscoveryRequest request) {
      delta.onNext(request);
    }

    @Override
    void close() {
      closed = true;
      unanswered.addAndGet(-awaiting.size());
      awaiting.clear();
      if (call != null) {
        call.cancel("warm-up over", null);
      }
    }

    private final class Responses<Q, R extends Message> implements ClientResponseObserver<Q, R> {
      @Override
      public void beforeStart(ClientCallStreamObserver<Q> requests) {
        call = requests;
      }

      @Override
      public void onNext(R response) {
        if (closed) {
          return;
        }
        bytes += response.getSerializedSize();
        received(response).run();
      }

      @Override
      public void onError(Throwable t) {
        if (clients.contains(Remote.this)) {
          failure = t;
        }
      }

      @Override
      public void onCompleted() {
        if (clients.contains(Remote.this)) {
          failure = new IllegalStateException("the loopback server ended a warm-up stream");
        }
      }
    }
  }
}
