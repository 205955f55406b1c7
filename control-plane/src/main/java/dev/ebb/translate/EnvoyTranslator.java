package dev.ebb.translate;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Route;
import dev.ebb.rollout.DesiredState;
import dev.ebb.rollout.DesiredState.BackendState;
import dev.ebb.rollout.DesiredState.RouteState;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import com.google.protobuf.BoolValue;
import com.google.protobuf.ByteString;
import dev.ebb.api.model.TlsSecret;
import java.nio.charset.StandardCharsets;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.ScopedRds;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.ScopedRoutes;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.v3.Percent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Pure: desired state to Envoy v3 resources. Listeners depend only on the listener settings (never on
 * routes, weights or endpoints), so their bytes stay the same from push to push; weights live in RDS and
 * endpoints in EDS.
 */
public final class EnvoyTranslator {
  public static final String HCM_FILTER = "envoy.filters.network.http_connection_manager";
  public static final String ROUTER_FILTER = "envoy.filters.http.router";
  public static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  public static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
  public static final String STDOUT_ACCESS_LOG = "envoy.access_loggers.stdout";

  /** Settings that are Ebb's own, not part of the model. */
  public record Settings(int circuitBreakerLimit, Duration connectTimeout, Edge edge) {
    public static final Settings DEFAULT = new Settings(1_000_000, Duration.ofSeconds(5));

    public Settings(int circuitBreakerLimit, Duration connectTimeout) {
      this(circuitBreakerLimit, connectTimeout, Edge.DEFAULT);
    }
  }

  /**
   * What an edge proxy holding many long-lived streams needs; docs/EDGE.md gives the reason for each. None of
   * them depends on routes, weights or endpoints, so none of them ever changes a Listener or Cluster at a push.
   *
   * @param requestHeadersTimeout time a client has to send its request headers (slow-loris guard); an upgraded
   *     WebSocket is not affected once its headers are in
   * @param http2MaxConcurrentStreams streams per downstream HTTP/2 connection
   * @param http2InitialStreamWindow bytes buffered per HTTP/2 stream before flow control pushes back
   * @param http2InitialConnectionWindow the same per HTTP/2 connection
   * @param bufferLimitBytes per-connection read/write buffer soft limit, downstream and upstream
   * @param upstreamKeepaliveTime idle time before TCP keepalive probes on upstream connections
   * @param upstreamKeepaliveInterval time between probes; {@code upstreamKeepaliveProbes} unanswered probes close
   *     the connection
   */
  public record Edge(Duration requestHeadersTimeout, int http2MaxConcurrentStreams, int http2InitialStreamWindow,
      int http2InitialConnectionWindow, int bufferLimitBytes, Duration upstreamKeepaliveTime,
      Duration upstreamKeepaliveInterval, int upstreamKeepaliveProbes) {
    public static final Edge DEFAULT = new Edge(Duration.ofSeconds(10), 1024, 64 * 1024, 1024 * 1024, 32 * 1024,
        Duration.ofSeconds(60), Duration.ofSeconds(10), 3);
  }

  private final Settings settings;
  private final KeyedMemo<String, List<Boolean>, Cluster> clusterMemo = new KeyedMemo<>();
  /** The proxyless form of each cluster (with load reporting), by the identity of the Envoy form. */
  private final Memo<Cluster, Cluster> lrsClusterMemo = new Memo<>(true);
  private final KeyedMemo<String, Backend, ClusterLoadAssignment> endpointMemo = new KeyedMemo<>();
  private final Memo<ListenerSpec, Listener> listenerMemo = new Memo<>();
  private final Memo<String, Listener> apiListenerMemo = new Memo<>();
  /** RouteConfigurations by name (a listener's, a scope's, a proxyless host's), kept while their routes are equal. */
  private final KeyedMemo<String, List<RouteState>, RouteConfiguration> routeMemo = new KeyedMemo<>();
  private final KeyedMemo<String, List<RouteState>, RouteConfiguration> grpcRouteMemo = new KeyedMemo<>();
  private final KeyedMemo<String, List<RouteState>, RouteConfiguration> scopedRouteMemo = new KeyedMemo<>();
  private final Memo<TlsSecret, Secret> secretMemo = new Memo<>();
  private final Memo<String, ScopedRouteConfiguration> scopeMemo = new Memo<>();
  /** Virtual hosts by (host, its routes, port forms): a one-route change rebuilds one, not all 1,000 of a listener. */
  private final KeyedMemo<String, List<RouteState>, VirtualHost> virtualHostMemo = new KeyedMemo<>();
  private final KeyedMemo<String, List<RouteState>, VirtualHost> virtualHostWithPortsMemo = new KeyedMemo<>();

  public EnvoyTranslator(Settings settings) {
    this.settings = settings;
  }

  /**
   * Not thread-safe: one translator belongs to one pipeline. Unchanged inputs give the identical message
   * objects as the previous call (see {@link Memo}); the output depends on the input only.
   */
  public Translation translate(DesiredState state) {
    try {
      return translateOnce(state);
    } finally {
      clusterMemo.roll();
      lrsClusterMemo.roll();
      endpointMemo.roll();
      listenerMemo.roll();
      apiListenerMemo.roll();
      routeMemo.roll();
      grpcRouteMemo.roll();
      scopedRouteMemo.roll();
      secretMemo.roll();
      scopeMemo.roll();
      virtualHostMemo.roll();
      virtualHostWithPortsMemo.roll();
    }
  }

  private Translation translateOnce(DesiredState state) {
    SortedMap<String, Cluster> clusters = new TreeMap<>();
    SortedMap<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
    // a backend a grpc route sends streams to, or drains from, speaks HTTP/2 upstream, for every route that
    // shares it (UpstreamProtocols also names such shared backends in a warning)
    java.util.Set<String> grpcBackends = UpstreamProtocols.http2Backends(state);
    // outlier detection: a backend gets it when a route that sends it streams, or that it drains for, asks
    java.util.Set<String> outlierRoutes = new java.util.HashSet<>();
    java.util.Set<String> outlierBackends = new java.util.HashSet<>();
    state.routes().stream().filter(r -> r.route().outlierDetection()).forEach(r -> {
      outlierRoutes.add(r.route().name());
      outlierBackends.addAll(r.route().backendNames());
    });
    state.backends().forEach(b -> b.drains().stream().filter(d -> outlierRoutes.contains(d.route()))
        .forEach(d -> outlierBackends.add(b.backend().name())));
    for (BackendState b : state.backends()) {
      boolean http2 = grpcBackends.contains(b.backend().name());
      boolean outlier = outlierBackends.contains(b.backend().name());
      clusters.put(b.backend().name(), clusterMemo.get(b.backend().name(), List.of(http2, outlier),
          k -> cluster(b.backend().name(), http2, outlier)));
      endpoints.put(b.backend().name(), endpointMemo.get(b.backend().name(), b.backend(),
          EnvoyTranslator::loadAssignment));
    }
    List<Translation.EnvoyListener> envoyListeners = new ArrayList<>();
    for (ListenerSpec spec : state.listeners()) {
      List<RouteState> onListener = state.routes().stream()
          .filter(r -> r.route().listener().equals(spec.name())).toList();
      Listener listener = listenerMemo.get(spec, this::socketListener);
      envoyListeners.add(spec.scopesRoutesByHost() ? scopedListener(spec, listener, onListener)
          : new Translation.EnvoyListener(spec, listener, routeMemo.get(spec.name(), onListener,
              k -> routeConfiguration(spec.name(), onListener, false))));
    }
    SortedMap<String, Listener> grpcListeners = new TreeMap<>();
    SortedMap<String, RouteConfiguration> grpcRoutes = new TreeMap<>();
    Map<String, List<RouteState>> byHost = new TreeMap<>();
    for (RouteState r : state.routes()) {
      for (String host : r.route().hosts()) {
        byHost.computeIfAbsent(host, h -> new ArrayList<>()).add(r);
      }
    }
    byHost.forEach((host, routes) -> {
      grpcListeners.put(host, apiListenerMemo.get(host, EnvoyTranslator::apiListener));
      grpcRoutes.put(host, grpcRouteMemo.get(host, routes, k -> routeConfiguration(host, routes, true)));
    });
    SortedMap<String, Cluster> grpcClusters = new TreeMap<>();
    ConfigSource self = ConfigSource.newBuilder()
        .setSelf(io.envoyproxy.envoy.config.core.v3.SelfConfigSource.getDefaultInstance()).build();
    clusters.forEach((name, c) -> grpcClusters.put(name, lrsClusterMemo.get(c,
        k -> c.toBuilder().setLrsServer(self).build())));
    SortedMap<String, Secret> secrets = new TreeMap<>();
    state.secrets().forEach(sec -> secrets.put(sec.name(), secretMemo.get(sec, EnvoyTranslator::secret)));
    return new Translation(clusters, grpcClusters, endpoints, envoyListeners, grpcListeners, grpcRoutes, secrets);
  }

  /**
   * The name of the scope, and of the RouteConfiguration it names, for one host of a listener that scopes routes
   * by host: {@code <listener>/<host>}. Stable, and never the name of another RouteConfiguration an Envoy node
   * gets: listener names (the other RouteConfigurations' names) cannot contain '/'.
   */
  public static String scopedRouteName(String listener, String host) {
    return listener + "/" + host;
  }

  /**
   * A listener with {@code routeScoping: host}: one scope per exact host, each naming a RouteConfiguration that
   * holds that host alone, so a change to one route resends only the small RouteConfigurations of its hosts.
   * Unchanged hosts keep their very message objects (memo), so their hashes are reused.
   */
  private Translation.EnvoyListener scopedListener(ListenerSpec spec, Listener listener, List<RouteState> onListener) {
    Map<String, List<RouteState>> byHost = new TreeMap<>();
    for (RouteState r : onListener) {
      for (String host : r.route().hosts()) {
        // the parsers refuse wildcard hosts here (SPEC 7); one that still arrives (a route's last good version
        // from before its listener scoped routes) has no scope it could live in: Envoy matches scopes exactly
        if (spec.hostProblem(host).isEmpty()) {
          byHost.computeIfAbsent(host, h -> new ArrayList<>()).add(r);
        }
      }
    }
    SortedMap<String, RouteConfiguration> routes = new TreeMap<>();
    SortedMap<String, ScopedRouteConfiguration> scopes = new TreeMap<>();
    byHost.forEach((host, hostRoutes) -> {
      String name = scopedRouteName(spec.name(), host);
      routes.put(name, scopedRouteMemo.get(name, hostRoutes, k -> hostRouteConfiguration(name, host, hostRoutes)));
      scopes.put(name, scopeMemo.get(name, k -> scope(name, host)));
    });
    return new Translation.EnvoyListener(spec, listener, java.util.Collections.unmodifiableSortedMap(routes),
        java.util.Collections.unmodifiableSortedMap(scopes));
  }

  /** The scope of one host: its key is the host itself, and it names its RouteConfiguration (same name). */
  static ScopedRouteConfiguration scope(String name, String host) {
    return ScopedRouteConfiguration.newBuilder()
        .setName(name)
        .setRouteConfigurationName(name)
        .setKey(ScopedRouteConfiguration.Key.newBuilder()
            .addFragments(ScopedRouteConfiguration.Key.Fragment.newBuilder().setStringKey(host)))
        .build();
  }

  /**
   * The connection manager's scoped routes: the scope key is the host of the {@code :authority} header (an
   * HTTP/1.1 Host header becomes {@code :authority} in Envoy). The key is the part before the first ':', so a
   * port never reaches the lookup, whatever the order in which Envoy strips it: Envoy snaps a scope once before
   * {@code strip_any_host_port} runs and selects it again afterwards (conn_manager_impl.cc,
   * {@code ActiveStream::decodeHeaders} and {@code refreshCachedRoute}). Hosts are names, never IPv6 literals
   * (see Addresses.hostProblem), so ':' only ever starts a port.
   */
  static ScopedRoutes scopedRoutes(ListenerSpec spec) {
    return ScopedRoutes.newBuilder()
        .setName(spec.name())
        .setScopeKeyBuilder(ScopedRoutes.ScopeKeyBuilder.newBuilder()
            .addFragments(ScopedRoutes.ScopeKeyBuilder.FragmentBuilder.newBuilder()
                .setHeaderValueExtractor(ScopedRoutes.ScopeKeyBuilder.FragmentBuilder.HeaderValueExtractor
                    .newBuilder()
                    .setName(":authority")
                    .setElementSeparator(":")
                    // index 0 set explicitly: Envoy refuses an extractor whose extract_type is not set
                    // (scoped_config_impl.cc, HeaderValueExtractorImpl)
                    .setIndex(0))))
        .setRdsConfigSource(ads())
        .setScopedRds(ScopedRds.newBuilder().setScopedRdsConfigSource(ads()))
        .build();
  }

  static ConfigSource ads() {
    return ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }

  private static HttpFilter router() {
    return HttpFilter.newBuilder().setName(ROUTER_FILTER).setTypedConfig(Any.pack(Router.getDefaultInstance()))
        .build();
  }

  Listener socketListener(ListenerSpec spec) {
    Edge edge = settings.edge();
    HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder()
        .setStatPrefix(spec.name())
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .addUpgradeConfigs(HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket"))
        // RFC 8441: WebSocket over HTTP/2 (extended CONNECT); bounded streams and windows per connection
        .setHttp2ProtocolOptions(Http2ProtocolOptions.newBuilder().setAllowConnect(true)
            .setMaxConcurrentStreams(UInt32Value.of(edge.http2MaxConcurrentStreams()))
            .setInitialStreamWindowSize(UInt32Value.of(edge.http2InitialStreamWindow()))
            .setInitialConnectionWindowSize(UInt32Value.of(edge.http2InitialConnectionWindow())))
        // virtual host domains are plain host names; the Host header's port must not decide the match
        .setStripAnyHostPort(true)
        // the client's address is the peer's (or the one trustedHops proxies in front of Envoy report)
        .setUseRemoteAddress(BoolValue.of(true))
        .setXffNumTrustedHops(spec.trustedHops())
        .setRequestHeadersTimeout(protoDuration(edge.requestHeadersTimeout()))
        .setCommonHttpProtocolOptions(io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.newBuilder()
            .setHeadersWithUnderscoresAction(
                io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.HeadersWithUnderscoresAction.DROP_HEADER))
        .addHttpFilters(router());
    // routes by RDS, never inline (ENVOY-NOTES): a route change must never change the listener
    if (spec.scopesRoutesByHost()) {
      hcm.setScopedRoutes(scopedRoutes(spec));
    } else {
      hcm.setRds(Rds.newBuilder().setRouteConfigName(spec.name()).setConfigSource(ads()));
    }
    if (spec.accessLog()) {
      hcm.addAccessLog(AccessLogs.stdoutJson())
          // a WebSocket is logged when it is upgraded (which version it went to), not only when it ends
          .setAccessLogOptions(HttpConnectionManager.HcmAccessLogOptions.newBuilder()
              .setFlushLogOnTunnelSuccessfullyEstablished(true));
    }
    FilterChain.Builder chain = FilterChain.newBuilder()
        .addFilters(Filter.newBuilder().setName(HCM_FILTER).setTypedConfig(Any.pack(hcm.build())));
    spec.secretName().ifPresent(secret -> chain.setTransportSocket(TransportSocket.newBuilder()
        .setName(TLS_TRANSPORT_SOCKET)
        .setTypedConfig(Any.pack(DownstreamTlsContext.newBuilder()
            .setCommonTlsContext(CommonTlsContext.newBuilder()
                // the listener names the certificate; the certificate itself comes by SDS over ADS
                .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName(secret)
                    .setSdsConfig(ads()))
                .setTlsParams(TlsParameters.newBuilder()
                    .setTlsMinimumProtocolVersion(TlsParameters.TlsProtocol.TLSv1_2))
                .addAlpnProtocols("h2")
                .addAlpnProtocols("http/1.1"))
            .build()))));
    return Listener.newBuilder()
        .setName(spec.name())
        .setAddress(socketAddress(spec.address(), spec.port()))
        .setPerConnectionBufferLimitBytes(UInt32Value.of(edge.bufferLimitBytes()))
        .addFilterChains(chain)
        .build();
  }

  static Secret secret(TlsSecret s) {
    return Secret.newBuilder()
        .setName(s.name())
        .setTlsCertificate(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder()
                .setInlineBytes(ByteString.copyFrom(s.certificateChain(), StandardCharsets.US_ASCII)))
            .setPrivateKey(DataSource.newBuilder()
                .setInlineBytes(ByteString.copyFrom(s.privateKey(), StandardCharsets.US_ASCII))))
        .build();
  }

  static Listener apiListener(String host) {
    HttpConnectionManager hcm = HttpConnectionManager.newBuilder()
        .setStatPrefix(host)
        .setRds(Rds.newBuilder().setRouteConfigName(host).setConfigSource(ads()))
        .addHttpFilters(router())
        .build();
    return Listener.newBuilder()
        .setName(host)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm)))
        .build();
  }

  /**
   * One virtual host per host name; inside it the routes with the longest path prefix first. For proxyless
   * gRPC clients the domains also carry the {@code host:port} form, since their authority keeps the port.
   */
  private RouteConfiguration routeConfiguration(String name, List<RouteState> routes, boolean withPortForms) {
    Map<String, List<RouteState>> byHost = new TreeMap<>();
    for (RouteState r : routes) {
      for (String host : r.route().hosts()) {
        byHost.computeIfAbsent(host, h -> new ArrayList<>()).add(r);
      }
    }
    RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(name);
    byHost.forEach((host, hostRoutes) -> rc.addVirtualHosts((withPortForms ? virtualHostWithPortsMemo
        : virtualHostMemo).get(host, hostRoutes, k -> virtualHost(host, hostRoutes, withPortForms))));
    return rc.build();
  }

  /**
   * The RouteConfiguration a scope names: the virtual host of {@code host} alone, even when a route also serves
   * other hosts (their scopes have their own), so that it stays a few hundred bytes. Its domain is the plain host,
   * as on a listener without scoping: the scope lookup already picked the host, and the virtual host match sees
   * the {@code :authority} without its port ({@code strip_any_host_port}).
   */
  private RouteConfiguration hostRouteConfiguration(String name, String host, List<RouteState> routes) {
    return RouteConfiguration.newBuilder().setName(name).addVirtualHosts(virtualHostMemo.get(
        host, routes, k -> virtualHost(host, routes, false))).build();
  }

  private static VirtualHost virtualHost(String host, List<RouteState> hostRoutes, boolean withPortForms) {
    VirtualHost.Builder vh = VirtualHost.newBuilder().setName(host).addDomains(host);
    if (withPortForms && !host.startsWith("*")) {
      vh.addDomains(host + ":*");
    }
    Map<String, RouteState> byPrefix = new LinkedHashMap<>();
    hostRoutes.stream()
        .sorted(Comparator.<RouteState>comparingInt(r -> -r.route().pathPrefix().length())
            .thenComparing(r -> r.route().pathPrefix())
            .thenComparing(r -> r.route().name()))
        .forEach(r -> byPrefix.putIfAbsent(r.route().pathPrefix(), r));
    byPrefix.values().forEach(r -> vh.addRoutes(route(r)));
    return vh.build();
  }

  static io.envoyproxy.envoy.config.route.v3.Route route(RouteState state) {
    Route r = state.route();
    RouteAction.Builder action = RouteAction.newBuilder();
    if (state.weights().size() == 1) {
      action.setCluster(state.weights().get(0).backend());
    } else {
      WeightedCluster.Builder wc = WeightedCluster.newBuilder();
      state.weights().forEach(w -> wc.addClusters(WeightedCluster.ClusterWeight.newBuilder()
          .setName(w.backend()).setWeight(UInt32Value.of(w.weight()))));
      // gRPC C-core before 1.53 reads an unset total_weight as 100 and NACKs weights out of 10,000; Envoy
      // accepts the deprecated field when it equals the sum (SPEC 5)
      @SuppressWarnings("deprecation")
      WeightedCluster.Builder total = wc.setTotalWeight(UInt32Value.of(
          state.weights().stream().mapToInt(DesiredState.WeightedBackend::weight).sum()));
      action.setWeightedClusters(total);
    }
    if (r.protocol().longLived()) {
      // Envoy's 15 s route timeout would cut every WebSocket and streaming call
      action.setTimeout(protoDuration(Duration.ZERO));
      action.setIdleTimeout(protoDuration(r.idleTimeout()));
    }
    if (r.maxStreamDuration().isPresent() || r.protocol() == Protocol.GRPC) {
      RouteAction.MaxStreamDuration.Builder max = RouteAction.MaxStreamDuration.newBuilder();
      r.maxStreamDuration().ifPresent(d -> max.setMaxStreamDuration(protoDuration(d)));
      if (r.protocol() == Protocol.GRPC) {
        // the client's grpc-timeout header bounds its stream in Envoy too (0: no cap beyond maxStreamDuration),
        // so a stream whose client deadline passed does not hold a backend slot
        max.setGrpcTimeoutHeaderMax(protoDuration(r.maxStreamDuration().orElse(Duration.ZERO)));
      }
      action.setMaxStreamDuration(max);
    }
    return io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
        .setName(r.name())
        .setMatch(RouteMatch.newBuilder().setPrefix(r.pathPrefix()))
        .setRoute(action)
        .build();
  }

  Cluster cluster(String name, boolean http2, boolean outlierDetection) {
    long limit = settings.circuitBreakerLimit();
    Edge edge = settings.edge();
    Cluster.Builder c = Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()))
        .setConnectTimeout(protoDuration(settings.connectTimeout()))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        // a WebSocket fleet passes Envoy's default of 1024 connections per cluster at once
        .setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(CircuitBreakers.Thresholds.newBuilder()
            .setPriority(RoutingPriority.DEFAULT)
            .setMaxConnections(UInt32Value.of((int) limit))
            .setMaxPendingRequests(UInt32Value.of((int) limit))
            .setMaxRequests(UInt32Value.of((int) limit))))
        // with many endpoints DRAINING (a rolling restart) panic routing would send new streams to them
        .setCommonLbConfig(Cluster.CommonLbConfig.newBuilder().setHealthyPanicThreshold(Percent.newBuilder()
            .setValue(0)))
        .setPerConnectionBufferLimitBytes(UInt32Value.of(edge.bufferLimitBytes()))
        // a backend host that vanished (power loss, network partition) never closes its long-lived streams:
        // keepalive probes find it and free the stream instead of holding it for hours
        .setUpstreamConnectionOptions(UpstreamConnectionOptions.newBuilder().setTcpKeepalive(TcpKeepalive.newBuilder()
            .setKeepaliveTime(UInt32Value.of((int) edge.upstreamKeepaliveTime().toSeconds()))
            .setKeepaliveInterval(UInt32Value.of((int) edge.upstreamKeepaliveInterval().toSeconds()))
            .setKeepaliveProbes(UInt32Value.of(edge.upstreamKeepaliveProbes()))));
    if (outlierDetection) {
      // an endpoint that keeps failing (refused connections, 5xx) stops getting new streams for a while;
      // established streams on it are not touched
      c.setOutlierDetection(OutlierDetection.newBuilder()
          .setConsecutive5Xx(UInt32Value.of(5))
          .setInterval(protoDuration(Duration.ofSeconds(10)))
          .setBaseEjectionTime(protoDuration(Duration.ofSeconds(30)))
          .setMaxEjectionPercent(UInt32Value.of(50))
          .setEnforcingSuccessRate(UInt32Value.of(0)));
    }
    if (http2) {
      c.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Any.pack(HttpProtocolOptions.newBuilder()
          .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
              .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
          .build()));
    }
    return c.build();
  }

  static ClusterLoadAssignment loadAssignment(Backend backend) {
    Map<String, List<Endpoint>> byZone = new TreeMap<>();
    for (Endpoint e : backend.endpoints()) {
      byZone.computeIfAbsent(e.zone(), z -> new ArrayList<>()).add(e);
    }
    ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(backend.name());
    byZone.forEach((zone, eps) -> {
      LocalityLbEndpoints.Builder loc = LocalityLbEndpoints.newBuilder()
          .setLocality(Locality.newBuilder().setZone(zone))
          // gRPC clients ignore localities without a weight
          .setLoadBalancingWeight(UInt32Value.of(eps.size()));
      for (Endpoint e : eps) {
        loc.addLbEndpoints(LbEndpoint.newBuilder()
            .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                .setAddress(socketAddress(e.address(), e.port())))
            .setHealthStatus(e.state() == EndpointState.DRAINING ? HealthStatus.DRAINING : HealthStatus.HEALTHY));
      }
      cla.addEndpoints(loc);
    });
    return cla.build();
  }

  static Address socketAddress(String ip, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
        .build();
  }

  static com.google.protobuf.Duration protoDuration(Duration d) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }
}
