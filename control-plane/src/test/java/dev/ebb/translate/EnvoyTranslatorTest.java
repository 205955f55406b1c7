package dev.ebb.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.publish.XdsSnapshot;
import dev.ebb.rollout.RolloutEngine;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Translator tables: model in, expected Envoy protos out (compared as protos, printed as text on failure). */
class EnvoyTranslatorTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  final EnvoyTranslator translator = new EnvoyTranslator(new EnvoyTranslator.Settings(50_000, Duration.ofSeconds(5)));

  static Route route(String name, Protocol protocol, Rollout rollout, Optional<Duration> maxStream) {
    return new Route(name, List.of(name + ".example.com"), protocol, "/", "edge", rollout, Duration.ofMinutes(15),
        Duration.ofHours(1), maxStream);
  }

  static Model model(Route... routes) {
    return new Model(List.of(ListenerSpec.DEFAULT), List.of(routes), List.of(
        new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 8080),
            new Endpoint("10.0.0.2", 8080, "zone-b", EndpointState.DRAINING))),
        new Backend("v2", List.of(Endpoint.ready("10.0.1.1", 8080)))));
  }

  Translation translate(Model m) {
    return translator.translate(RolloutEngine.desired(m, NOW));
  }

  static <T extends Message> T parse(String text, T.Builder builder) {
    try {
      TextFormat.Parser.newBuilder().setTypeRegistry(com.google.protobuf.TypeRegistry.newBuilder()
          .add(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor()).build())
          .build().merge(text, builder);
    } catch (TextFormat.ParseException e) {
      throw new IllegalArgumentException(e);
    }
    @SuppressWarnings("unchecked")
    T built = (T) builder.build();
    return built;
  }

  static String text(com.google.protobuf.MessageOrBuilder m) {
    return TextFormat.printer().usingTypeRegistry(com.google.protobuf.TypeRegistry.newBuilder()
        .add(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor()).build())
        .printToString(m);
  }

  static Stream<Arguments> routeTable() {
    return Stream.of(
        Arguments.of("websocket canary 20%", route("chat", Protocol.WEBSOCKET,
            new Rollout("v1", Optional.of("v2"), 2000), Optional.empty()), """
            name: "chat" match { prefix: "/" }
            route {
              weighted_clusters {
                clusters { name: "v1" weight { value: 8000 } }
                clusters { name: "v2" weight { value: 2000 } }
                total_weight { value: 10000 }
              }
              timeout { } idle_timeout { seconds: 3600 }
            }"""),
        Arguments.of("grpc, canary at 0 stays listed at weight 0 (gRPC clients keep it warm)", route("rpc",
            Protocol.GRPC, new Rollout("v1", Optional.of("v2"), 0), Optional.of(Duration.ofMinutes(10))), """
            name: "rpc" match { prefix: "/" }
            route {
              weighted_clusters {
                clusters { name: "v1" weight { value: 10000 } }
                clusters { name: "v2" weight { value: 0 } }
                total_weight { value: 10000 }
              }
              timeout { } idle_timeout { seconds: 3600 }
              max_stream_duration { max_stream_duration { seconds: 600 } grpc_timeout_header_max { seconds: 600 } }
            }"""),
        Arguments.of("grpc without maxStreamDuration honours the client's grpc-timeout, uncapped", route("rpc",
            Protocol.GRPC, Rollout.stableOnly("v1"), Optional.empty()), """
            name: "rpc" match { prefix: "/" }
            route {
              cluster: "v1"
              timeout { } idle_timeout { seconds: 3600 }
              max_stream_duration { grpc_timeout_header_max { } }
            }"""),
        Arguments.of("two-decimal weight 0.01% is exact", route("chat", Protocol.WEBSOCKET,
            new Rollout("v1", Optional.of("v2"), 1), Optional.empty()), """
            name: "chat" match { prefix: "/" }
            route {
              weighted_clusters {
                clusters { name: "v1" weight { value: 9999 } }
                clusters { name: "v2" weight { value: 1 } }
                total_weight { value: 10000 }
              }
              timeout { } idle_timeout { seconds: 3600 }
            }"""),
        Arguments.of("plain http keeps Envoy's route timeout; the old stable stays listed at 0", route("web",
            Protocol.HTTP, new Rollout("v1", Optional.of("v2"), 10_000), Optional.empty()), """
            name: "web" match { prefix: "/" }
            route {
              weighted_clusters {
                clusters { name: "v1" weight { } }
                clusters { name: "v2" weight { value: 10000 } }
                total_weight { value: 10000 }
              }
            }"""),
        Arguments.of("stable only: one cluster", route("solo", Protocol.WEBSOCKET, Rollout.stableOnly("v1"),
            Optional.empty()), """
            name: "solo" match { prefix: "/" }
            route { cluster: "v1" timeout { } idle_timeout { seconds: 3600 } }"""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("routeTable")
  void routes(String title, Route route, String expected) {
    RouteConfiguration rc = translate(model(route)).envoyListeners().get(0).routes();
    assertThat(rc.getName()).isEqualTo("edge");
    assertThat(rc.getVirtualHosts(0).getDomainsList()).containsExactly(route.hosts().get(0));
    io.envoyproxy.envoy.config.route.v3.Route actual = rc.getVirtualHosts(0).getRoutes(0);
    assertThat(text(actual))
        .isEqualTo(text(parse(expected,
            io.envoyproxy.envoy.config.route.v3.Route.newBuilder())));
  }

  @Test
  void listenerHasWebSocketExtendedConnectAutoCodecAndRoutesByRds() throws Exception {
    Listener l = translate(model(route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v1"), Optional.empty())))
        .envoyListeners().get(0).listener();
    assertThat(l.getName()).isEqualTo("edge");
    assertThat(l.getAddress().getSocketAddress().getAddress()).isEqualTo("0.0.0.0");
    assertThat(l.getAddress().getSocketAddress().getPortValue()).isEqualTo(10000);
    HttpConnectionManager hcm = l.getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
    HttpConnectionManager expected = parse("""
        codec_type: AUTO
        stat_prefix: "edge"
        rds {
          config_source { ads { } resource_api_version: V3 }
          route_config_name: "edge"
        }
        http_filters {
          name: "envoy.filters.http.router"
          typed_config { [type.googleapis.com/envoy.extensions.filters.http.router.v3.Router] { } }
        }
        http2_protocol_options {
          allow_connect: true
          max_concurrent_streams { value: 1024 }
          initial_stream_window_size { value: 65536 }
          initial_connection_window_size { value: 1048576 }
        }
        upgrade_configs { upgrade_type: "websocket" }
        strip_any_host_port: true
        use_remote_address { value: true }
        request_headers_timeout { seconds: 10 }
        common_http_protocol_options { headers_with_underscores_action: DROP_HEADER }
        access_log_options { flush_log_on_tunnel_successfully_established: true }
        """, HttpConnectionManager.newBuilder());
    // the access log is checked on its own below
    assertThat(text(hcm.toBuilder().clearAccessLog().build())).isEqualTo(text(expected));
    assertThat(l.getPerConnectionBufferLimitBytes().getValue()).isEqualTo(32 * 1024);
    assertThat(l.getFilterChains(0).hasTransportSocket()).as("plaintext").isFalse();
    assertThat(hcm.hasRouteConfig()).as("routes are never inline").isFalse();
  }

  @Test
  void clustersAreEdsOverAdsWithRaisedCircuitBreakersAndHttp2ForGrpc() {
    Translation t = translate(model(route("rpc", Protocol.GRPC, new Rollout("v1", Optional.of("v2"), 500),
        Optional.empty())));
    Cluster v1 = t.clusters().get("v1");
    assertThat(v1.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(v1.getEdsClusterConfig().getEdsConfig().hasAds()).isTrue();
    var threshold = v1.getCircuitBreakers().getThresholds(0);
    assertThat(threshold.getMaxConnections().getValue()).isEqualTo(50_000);
    assertThat(threshold.getMaxRequests().getValue()).isEqualTo(50_000);
    assertThat(threshold.getMaxPendingRequests().getValue()).isEqualTo(50_000);
    assertThat(v1.getCommonLbConfig().getHealthyPanicThreshold().getValue()).isZero();
    assertThat(v1.getTypedExtensionProtocolOptionsMap())
        .containsKey(EnvoyTranslator.HTTP_PROTOCOL_OPTIONS);
    Translation ws = translate(model(route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v1"), Optional.empty())));
    assertThat(ws.clusters().get("v1").getTypedExtensionProtocolOptionsMap()).isEmpty();
    assertThat(ws.clusters()).containsOnlyKeys("v1");
  }

  @Test
  void endpointsCarryZoneAndDrainingHealth() {
    ClusterLoadAssignment cla = translate(model(route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v1"),
        Optional.empty()))).endpoints().get("v1");
    ClusterLoadAssignment expected = parse("""
        cluster_name: "v1"
        endpoints {
          locality { zone: "" }
          lb_endpoints {
            endpoint { address { socket_address { address: "10.0.0.1" port_value: 8080 } } }
            health_status: HEALTHY
          }
          load_balancing_weight { value: 1 }
        }
        endpoints {
          locality { zone: "zone-b" }
          lb_endpoints {
            endpoint { address { socket_address { address: "10.0.0.2" port_value: 8080 } } }
            health_status: DRAINING
          }
          load_balancing_weight { value: 1 }
        }
        """, ClusterLoadAssignment.newBuilder());
    assertThat(text(cla)).isEqualTo(text(expected));
  }

  @Test
  void proxylessClientsGetOneApiListenerAndRouteConfigurationPerHost() throws Exception {
    Translation t = translate(model(route("chat", Protocol.GRPC, Rollout.stableOnly("v1"), Optional.empty())));
    assertThat(t.grpcListeners()).containsOnlyKeys("chat.example.com");
    Listener l = t.grpcListeners().get("chat.example.com");
    HttpConnectionManager hcm = l.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
    assertThat(hcm.getRds().getRouteConfigName()).isEqualTo("chat.example.com");
    assertThat(hcm.getRds().getConfigSource().hasAds()).isTrue();
    assertThat(hcm.getHttpFilters(0).getTypedConfig().getTypeUrl()).endsWith("router.v3.Router");
    RouteConfiguration rc = t.grpcRoutes().get("chat.example.com");
    assertThat(rc.getVirtualHosts(0).getDomainsList()).containsExactly("chat.example.com", "chat.example.com:*");
  }

  @Test
  void longestPathPrefixMatchesFirst() {
    Route root = route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v1"), Optional.empty());
    Route api = new Route("chat-api", root.hosts(), Protocol.GRPC, "/api/", "edge", Rollout.stableOnly("v2"),
        root.drainTimeout(), root.idleTimeout(), Optional.empty());
    RouteConfiguration rc = translate(model(root, api)).envoyListeners().get(0).routes();
    assertThat(rc.getVirtualHostsCount()).isEqualTo(1);
    assertThat(rc.getVirtualHosts(0).getRoutesList()).extracting(r -> r.getMatch().getPrefix())
        .containsExactly("/api/", "/");
  }

  @Test
  void sameInputGivesByteIdenticalResourcesAndVersions() {
    Model m = model(route("chat", Protocol.WEBSOCKET, new Rollout("v1", Optional.of("v2"), 2000), Optional.empty()),
        route("rpc", Protocol.GRPC, new Rollout("v2", Optional.of("v1"), 3333), Optional.of(Duration.ofMinutes(5))));
    // two fresh translators (as two replicas, or a restart, have): no memo can hand back the same objects
    XdsSnapshot a = XdsSnapshot.of(fresh().translate(RolloutEngine.desired(m, NOW)));
    XdsSnapshot b = XdsSnapshot.of(fresh().translate(RolloutEngine.desired(m, NOW.plusSeconds(3600))));
    assertThat(a.version()).isEqualTo(b.version());
    Translation ta = fresh().translate(RolloutEngine.desired(m, NOW));
    Translation tb = fresh().translate(RolloutEngine.desired(m, NOW));
    assertThat(ta.envoyListeners().get(0).listener()).isNotSameAs(tb.envoyListeners().get(0).listener());
    assertThat(ta.envoyListeners().get(0).listener().toByteArray())
        .isEqualTo(tb.envoyListeners().get(0).listener().toByteArray());
    assertThat(ta.envoyListeners().get(0).routes().toByteArray())
        .isEqualTo(tb.envoyListeners().get(0).routes().toByteArray());
    ta.clusters().forEach((n, c) -> assertThat(c.toByteArray()).isEqualTo(tb.clusters().get(n).toByteArray()));
    ta.endpoints().forEach((n, c) -> assertThat(c.toByteArray()).isEqualTo(tb.endpoints().get(n).toByteArray()));
    ta.grpcRoutes().forEach((n, r) -> assertThat(r.toByteArray()).isEqualTo(tb.grpcRoutes().get(n).toByteArray()));
  }

  static EnvoyTranslator fresh() {
    return new EnvoyTranslator(new EnvoyTranslator.Settings(50_000, Duration.ofSeconds(5)));
  }

  @Test
  void totalWeightIsTheSumForEverySplit() {
    for (int bp : new int[] {1, 2000, 3333, 5000, 9999}) {
      Translation t = fresh().translate(RolloutEngine.desired(model(route("rpc", Protocol.GRPC,
          new Rollout("v1", Optional.of("v2"), bp), Optional.empty())), NOW));
      for (RouteConfiguration rc : List.of(t.envoyListeners().get(0).routes(), t.grpcRoutes().get("rpc.example.com"))) {
        var wc = rc.getVirtualHosts(0).getRoutes(0).getRoute().getWeightedClusters();
        int sum = wc.getClustersList().stream().mapToInt(c -> c.getWeight().getValue()).sum();
        assertThat(sum).isEqualTo(10_000);
        @SuppressWarnings("deprecation")
        int total = wc.getTotalWeight().getValue();
        assertThat(total).as("total_weight at %d bp (gRPC C-core < 1.53 reads unset as 100)", bp).isEqualTo(sum);
      }
    }
  }

  @Test
  void listenerBytesDoNotChangeWithWeightsOrEndpoints() {
    Model before = model(route("chat", Protocol.WEBSOCKET, new Rollout("v1", Optional.of("v2"), 2000),
        Optional.empty()));
    Model after = new Model(before.listeners(),
        List.of(before.routes().get(0).withRollout(new Rollout("v1", Optional.of("v2"), 9000))),
        List.of(new Backend("v1", List.of(Endpoint.ready("10.9.9.9", 1))), before.backends().get(1)));
    Translation a = fresh().translate(RolloutEngine.desired(before, NOW));
    Translation b = fresh().translate(RolloutEngine.desired(after, NOW));
    assertThat(b.envoyListeners().get(0).listener().toByteArray())
        .isEqualTo(a.envoyListeners().get(0).listener().toByteArray());
    assertThat(b.grpcListeners().get("chat.example.com").toByteArray())
        .isEqualTo(a.grpcListeners().get("chat.example.com").toByteArray());
    assertThat(b.clusters()).isEqualTo(a.clusters());
    assertThat(b.envoyListeners().get(0).routes()).isNotEqualTo(a.envoyListeners().get(0).routes());
  }

  @Test
  void listenerForNodeClustersOnly() {
    ListenerSpec outbound = new ListenerSpec("outbound", "127.0.0.1", 15001, List.of("sidecar"));
    Model m = new Model(List.of(ListenerSpec.DEFAULT, outbound), List.of(), List.of());
    XdsSnapshot s = XdsSnapshot.of(translate(m));
    assertThat(s.view(new dev.ebb.publish.NodeGroup(true, "sidecar")).of(dev.ebb.publish.TypeUrl.LISTENER))
        .containsOnlyKeys("edge", "outbound");
    assertThat(s.view(new dev.ebb.publish.NodeGroup(true, "edge-fleet")).of(dev.ebb.publish.TypeUrl.LISTENER))
        .containsOnlyKeys("edge");
  }

  static final dev.ebb.tls.TestCertificates.Pair CERT = dev.ebb.tls.TestCertificates.selfSigned("chat.example.com");
  static final ListenerSpec TLS = new ListenerSpec("edge-tls", "0.0.0.0", 10443, List.of(),
      Optional.of(new dev.ebb.api.model.ListenerTls.Files("c.pem", "k.pem")), 0, true);

  static dev.ebb.api.model.TlsSecret secret(dev.ebb.tls.TestCertificates.Pair p) {
    return new dev.ebb.api.model.TlsSecret("edge-tls", p.certificatePem(), p.keyPem(), "test");
  }

  static Model tlsModel(dev.ebb.api.model.TlsSecret secret, Route... routes) {
    Model m = model(routes);
    return new Model(List.of(ListenerSpec.DEFAULT, TLS), m.routes(), m.backends(), List.of(secret));
  }

  @Test
  void aTlsListenerNamesItsCertificateBySdsAndNeverCarriesTheKey() throws Exception {
    Translation t = translate(tlsModel(secret(CERT)));
    Listener l = t.envoyListeners().stream().filter(e -> e.spec().name().equals("edge-tls")).findFirst()
        .orElseThrow().listener();
    var ts = l.getFilterChains(0).getTransportSocket();
    assertThat(ts.getName()).isEqualTo("envoy.transport_sockets.tls");
    var ctx = ts.getTypedConfig().unpack(
        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class).getCommonTlsContext();
    assertThat(ctx.getTlsCertificatesCount()).as("no inline certificate").isZero();
    assertThat(ctx.getTlsCertificateSdsSecretConfigsList()).singleElement().satisfies(sds -> {
      assertThat(sds.getName()).isEqualTo("edge-tls");
      assertThat(sds.getSdsConfig().hasAds()).isTrue();
    });
    assertThat(ctx.getAlpnProtocolsList()).containsExactly("h2", "http/1.1");
    assertThat(l.toByteString().toStringUtf8()).doesNotContain("PRIVATE KEY").doesNotContain("CERTIFICATE");
    var secret = t.secrets().get("edge-tls");
    assertThat(secret.getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8())
        .isEqualTo(CERT.certificatePem());
    assertThat(secret.getTlsCertificate().getPrivateKey().getInlineBytes().toStringUtf8()).isEqualTo(CERT.keyPem());
    // the plaintext listener beside it is untouched
    assertThat(t.envoyListeners().get(0).listener().getFilterChains(0).hasTransportSocket()).isFalse();
  }

  @Test
  void aRotationChangesOnlyTheSecretAndRoutesNeverChangeATlsListener() {
    Route chat = route("chat", Protocol.WEBSOCKET, new Rollout("v1", Optional.of("v2"), 2000), Optional.empty());
    XdsSnapshot a = XdsSnapshot.of(fresh().translate(RolloutEngine.desired(tlsModel(secret(CERT), chat), NOW)));
    var rotated = secret(dev.ebb.tls.TestCertificates.selfSigned("chat.example.com"));
    Route shifted = chat.withRollout(new Rollout("v1", Optional.of("v2"), 7000));
    Route added = new Route("more", List.of("more.example.com"), Protocol.GRPC, "/", "edge-tls",
        Rollout.stableOnly("v2"), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty());
    XdsSnapshot b = XdsSnapshot.of(fresh().translate(RolloutEngine.desired(tlsModel(rotated, shifted, added), NOW)));
    var group = new dev.ebb.publish.NodeGroup(true, "edge");
    var la = a.view(group).of(dev.ebb.publish.TypeUrl.LISTENER);
    var lb = b.view(group).of(dev.ebb.publish.TypeUrl.LISTENER);
    assertThat(lb.keySet()).containsExactly("edge", "edge-tls");
    lb.forEach((n, r) -> assertThat(r.message().toByteArray()).as(n).isEqualTo(la.get(n).message().toByteArray()));
    assertThat(b.view(group).version(dev.ebb.publish.TypeUrl.LISTENER))
        .isEqualTo(a.view(group).version(dev.ebb.publish.TypeUrl.LISTENER));
    assertThat(b.view(group).version(dev.ebb.publish.TypeUrl.SECRET))
        .isNotEqualTo(a.view(group).version(dev.ebb.publish.TypeUrl.SECRET));
    // proxyless gRPC clients get no secrets
    assertThat(b.view(dev.ebb.publish.NodeGroup.GRPC).of(dev.ebb.publish.TypeUrl.SECRET)).isEmpty();
  }

  @Test
  void aTlsListenerWithoutItsSecretIsAnInconsistentSnapshot() {
    Model m = tlsModel(secret(CERT));
    Model missing = new Model(m.listeners(), m.routes(), m.backends(), List.of());
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> XdsSnapshot.of(translate(missing)))
        .hasMessageContaining("listener edge-tls names secret edge-tls, which is not sent");
  }

  @Test
  void edgeListenerSettings() throws Exception {
    ListenerSpec behindLb = new ListenerSpec("edge", "0.0.0.0", 10000, List.of(), Optional.empty(), 2, false);
    Model m = new Model(List.of(behindLb), List.of(), List.of());
    HttpConnectionManager hcm = translate(m).envoyListeners().get(0).listener().getFilterChains(0).getFilters(0)
        .getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(hcm.getXffNumTrustedHops()).isEqualTo(2);
    assertThat(hcm.getAccessLogCount()).as("access log off").isZero();
    assertThat(hcm.hasAccessLogOptions()).isFalse();

    HttpConnectionManager logged = translate(model()).envoyListeners().get(0).listener().getFilterChains(0)
        .getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(logged.getAccessLog(0).getName()).isEqualTo("envoy.access_loggers.stdout");
    var json = logged.getAccessLog(0).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog.class).getLogFormat()
        .getJsonFormat().getFieldsMap();
    assertThat(json.get("upstream_cluster").getStringValue()).isEqualTo("%UPSTREAM_CLUSTER%");
    assertThat(json.get("duration_ms").getStringValue()).isEqualTo("%DURATION%");
    assertThat(json.get("response_flags").getStringValue()).isEqualTo("%RESPONSE_FLAGS%");
    assertThat(json).containsKeys("bytes_received", "bytes_sent", "log_type", "upstream_host");
  }

  @Test
  void clustersKeepTcpKeepaliveAndOutlierDetectionOnlyWhereARouteAsks() {
    Route plain = route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v1"), Optional.empty());
    Route careful = new Route("rpc", List.of("rpc.example.com"), Protocol.GRPC, "/", "edge",
        Rollout.stableOnly("v2"), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty(), true);
    Translation t = translate(model(plain, careful));
    Cluster v1 = t.clusters().get("v1");
    Cluster v2 = t.clusters().get("v2");
    var ka = v1.getUpstreamConnectionOptions().getTcpKeepalive();
    assertThat(ka.getKeepaliveTime().getValue()).isEqualTo(60);
    assertThat(ka.getKeepaliveInterval().getValue()).isEqualTo(10);
    assertThat(ka.getKeepaliveProbes().getValue()).isEqualTo(3);
    assertThat(v1.hasOutlierDetection()).isFalse();
    assertThat(v2.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(5);
    assertThat(v2.getOutlierDetection().getEnforcingSuccessRate().getValue()).isZero();
    assertThat(t.grpcClusters().get("v2").hasOutlierDetection()).isTrue();
    // a weight change does not touch a cluster
    Translation shifted = translate(model(plain, careful.withRollout(new Rollout("v2", Optional.of("v1"), 5000))));
    assertThat(shifted.clusters().get("v2").toByteArray()).isEqualTo(v2.toByteArray());
  }

  @Test
  void aDrainingGrpcBackendKeepsItsHttp2ClusterAfterItsRouteIsGone() {
    Route rpc = route("rpc", Protocol.GRPC, Rollout.stableOnly("v1"), Optional.empty());
    var step1 = dev.ebb.rollout.RolloutEngine.step(model(rpc), dev.ebb.rollout.DrainState.EMPTY, NOW);
    Cluster before = translator.translate(step1.desired()).clusters().get("v1");
    // the route is deleted: v1 drains, and its cluster must not change (Envoy would rebuild it)
    var step2 = dev.ebb.rollout.RolloutEngine.step(model(), step1.next(), NOW.plusSeconds(1));
    Cluster during = translator.translate(step2.desired()).clusters().get("v1");
    assertThat(during).isEqualTo(before);
    assertThat(during.getTypedExtensionProtocolOptionsMap()).containsKey(EnvoyTranslator.HTTP_PROTOCOL_OPTIONS);
  }
}
