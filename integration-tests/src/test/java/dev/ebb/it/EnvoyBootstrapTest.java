package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;
import com.marcnuri.helm.Helm;
import dev.ebb.it.rules.ProtoRules;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.KeepaliveSettings;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.overload.v3.ResourceMonitor;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

/**
 * The Envoy bootstraps this repository ships ({@code envoy/*.yaml}, the compose demo's {@code envoy/demo/envoy.yaml}
 * and the chart's), parsed strictly as Envoy's own {@link Bootstrap} proto, with the hardening a long-lived-stream
 * fleet needs: a global downstream connection cap in its current (overload manager) form, HTTP/2 and TCP keepalive
 * on the xDS connection to Ebb, load reports to Ebb, the admin API on loopback and exempt from the cap, and no
 * node id baked in (each Envoy passes {@code --service-node}). No Envoy binary is needed: what Envoy would reject
 * at startup for its shape (unknown field, wrong type, unknown {@code @type}) fails here, and what it would reject
 * for its values (PGV rules) is checked by {@link ProtoRules}. The TLS variants ({@code edge-tls.yaml},
 * {@code sidecar-tls.yaml}) and their SDS files ({@code envoy/sds/}) are checked the same way, SDS files as the
 * {@link DiscoveryResponse} Envoy reads a path-based SDS source as.
 */
class EnvoyBootstrapTest {
  static final Path ENVOY_DIR = Path.of("../envoy");
  static final Path DEMO_BOOTSTRAP = ENVOY_DIR.resolve("demo/envoy.yaml");
  static final String GLOBAL_CX = "envoy.resource_monitors.global_downstream_max_connections";
  /** Ebb's xDS server permits an HTTP/2 PING every 10 s (XdsServer: permitKeepAliveTime); more often is a GOAWAY. */
  static final Duration EBB_PERMITTED_PING_INTERVAL = Duration.ofSeconds(10);

  /** The only types a bootstrap may pack in an Any: anything else is an unknown type, as for an Envoy without it. */
  static final TypeRegistry TYPES = TypeRegistry.newBuilder()
      .add(HttpProtocolOptions.getDescriptor())
      .add(HttpConnectionManager.getDescriptor())
      .add(Router.getDescriptor())
      .add(DownstreamConnectionsConfig.getDescriptor())
      .add(UpstreamTlsContext.getDescriptor())
      .add(Secret.getDescriptor())
      .build();

  /** YAML as Envoy reads it, strictly: an unknown field, a wrong type or an unknown Any type throws. */
  static Bootstrap parse(String yaml) throws Exception {
    return merge(yaml, Bootstrap.newBuilder()).build();
  }

  static <B extends Message.Builder> B merge(String yaml, B builder) throws Exception {
    Object tree = new Yaml().load(yaml);
    String json = new ObjectMapper().writeValueAsString(tree);
    JsonFormat.parser().usingTypeRegistry(TYPES).merge(json, builder);
    return builder;
  }

  /** Every bootstrap file: envoy/*.yaml except compose.yaml, and the demo's. */
  static List<Path> files() throws Exception {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(ENVOY_DIR)) {
      s.filter(p -> p.getFileName().toString().endsWith(".yaml"))
          .filter(p -> !p.getFileName().toString().equals("compose.yaml"))
          .sorted().forEach(out::add);
    }
    out.add(DEMO_BOOTSTRAP);
    return out;
  }

  /** An SDS file as Envoy reads a path_config_source: a DiscoveryResponse, strictly. */
  static DiscoveryResponse parseSds(String yaml) throws Exception {
    return merge(yaml, DiscoveryResponse.newBuilder()).build();
  }

  static Bootstrap file(String name) throws Exception {
    return parse(Files.readString(ENVOY_DIR.resolve(name)));
  }

  /** The chart's Envoy bootstrap (the ConfigMap's envoy.yaml) for these values. */
  @SuppressWarnings("unchecked")
  static String chartBootstrap(Map<String, String> values) {
    var t = new Helm(Path.of("../charts/ebb")).template().withName("ebb").withNamespace("ebb-system");
    for (var e : new TreeMap<>(values).entrySet()) {
      t = t.set(e.getKey(), e.getValue());
    }
    String rendered = t.call();
    for (Object doc : new Yaml().loadAll(rendered)) {
      if (doc instanceof Map<?, ?> m && "ConfigMap".equals(m.get("kind"))
          && "ebb-envoy".equals(((Map<String, Object>) m.get("metadata")).get("name"))) {
        return ((Map<String, String>) m.get("data")).get("envoy.yaml");
      }
    }
    throw new AssertionError("no ConfigMap ebb-envoy rendered");
  }

  static Cluster cluster(Bootstrap b, String name) {
    return b.getStaticResources().getClustersList().stream().filter(c -> c.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no static cluster " + name));
  }

  static HttpProtocolOptions protocolOptions(Cluster c) throws Exception {
    return c.getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
        .unpack(HttpProtocolOptions.class);
  }

  /** The global connection cap of a bootstrap, failing unless it is set the current way. */
  static long connectionCap(Bootstrap b) throws Exception {
    List<ResourceMonitor> monitors = b.getOverloadManager().getResourceMonitorsList().stream()
        .filter(m -> m.getName().equals(GLOBAL_CX)).toList();
    assertThat(monitors).as("overload_manager.resource_monitors named " + GLOBAL_CX).hasSize(1);
    long cap = monitors.get(0).getTypedConfig().unpack(DownstreamConnectionsConfig.class)
        .getMaxActiveDownstreamConnections();
    assertThat(cap).as("max_active_downstream_connections").isPositive();
    return cap;
  }

  static void assertGrpcToEbb(ApiConfigSource api, ApiConfigSource.ApiType type, String what) {
    assertThat(api.getApiType()).as(what + ".api_type").isEqualTo(type);
    assertThat(api.getTransportApiVersion().name()).as(what + ".transport_api_version").isEqualTo("V3");
    assertThat(api.getGrpcServicesList()).as(what + ".grpc_services").hasSize(1);
    assertThat(api.getGrpcServices(0).getEnvoyGrpc().getClusterName()).as(what + " cluster").isEqualTo("ebb");
  }

  /** What every bootstrap must have, whatever its role. */
  static void assertHardened(String name, Bootstrap b) throws Exception {
    // the node's id comes from --service-node: a bootstrap shared by a fleet must not fix it
    assertThat(b.getNode().getId()).as(name + ": node.id (must come from --service-node)").isEmpty();
    // ADS (state of the world; the file says how to switch to delta), node sent once per stream
    ApiConfigSource ads = b.getDynamicResources().getAdsConfig();
    assertGrpcToEbb(ads, ApiConfigSource.ApiType.GRPC, name + ": ads_config");
    assertThat(ads.getSetNodeOnFirstMessageOnly()).as(name + ": set_node_on_first_message_only").isTrue();
    for (ConfigSource cs : List.of(b.getDynamicResources().getCdsConfig(), b.getDynamicResources().getLdsConfig())) {
      assertThat(cs.hasAds()).as(name + ": cds/lds over ADS").isTrue();
      assertThat(cs.getResourceApiVersion().name()).isEqualTo("V3");
    }
    // load reports to Ebb (SPEC 9)
    assertGrpcToEbb(b.getClusterManager().getLoadStatsConfig(), ApiConfigSource.ApiType.GRPC,
        name + ": cluster_manager.load_stats_config");
    // the connection cap, in the overload manager and not as the deprecated runtime key
    connectionCap(b);
    assertThat(JsonFormat.printer().print(b.getLayeredRuntime()))
        .as(name + ": the deprecated runtime key").doesNotContain("global_downstream_max_connections");
    // Ebb's cluster: HTTP/2 with keepalive PINGs Ebb accepts, TCP keepalive under it
    Cluster ebb = cluster(b, "ebb");
    assertThat(ebb.getType()).as(name + ": ebb cluster type").isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    HttpProtocolOptions h = protocolOptions(ebb);
    assertThat(h.getExplicitHttpConfig().hasHttp2ProtocolOptions()).as(name + ": ebb over HTTP/2").isTrue();
    KeepaliveSettings ka = h.getExplicitHttpConfig().getHttp2ProtocolOptions().getConnectionKeepalive();
    assertThat(Durations.toMillis(ka.getInterval())).as(name + ": connection_keepalive.interval")
        .isGreaterThanOrEqualTo(EBB_PERMITTED_PING_INTERVAL.toMillis());
    assertThat(ka.hasTimeout() && Durations.toMillis(ka.getTimeout()) > 0).as(name + ": connection_keepalive.timeout")
        .isTrue();
    TcpKeepalive tcp = ebb.getUpstreamConnectionOptions().getTcpKeepalive();
    assertThat(tcp.hasKeepaliveTime() && tcp.hasKeepaliveInterval() && tcp.hasKeepaliveProbes())
        .as(name + ": upstream_connection_options.tcp_keepalive (time, interval, probes)").isTrue();
    // admin on loopback, and reachable at the cap
    SocketAddress admin = b.getAdmin().getAddress().getSocketAddress();
    assertThat(admin.getAddress()).as(name + ": admin address").isEqualTo("127.0.0.1");
    assertThat(b.getAdmin().getIgnoreGlobalConnLimit()).as(name + ": admin.ignore_global_conn_limit").isTrue();
    // static listeners are operational windows (health, stats): they must work at the cap too
    for (Listener l : b.getStaticResources().getListenersList()) {
      assertThat(l.getIgnoreGlobalConnLimit()).as(name + ": listener " + l.getName() + ".ignore_global_conn_limit")
          .isTrue();
    }
    // and the values pass the PGV rules Envoy checks at startup
    assertThat(ProtoRules.check(name, b)).as(name + ": PGV violations").isEmpty();
  }

  @Test
  void everyBootstrapIsFoundAndParsesStrictly() throws Exception {
    List<Path> files = files();
    assertThat(files).extracting(p -> ENVOY_DIR.relativize(p).toString())
        .contains("edge.yaml", "sidecar.yaml", "edge-tls.yaml", "sidecar-tls.yaml", "demo/envoy.yaml")
        .doesNotContain("compose.yaml");
    for (Path f : files) {
      parse(Files.readString(f)); // throws on anything Envoy would refuse for its shape
    }
  }

  @ParameterizedTest
  @MethodSource("files")
  void everyBootstrapIsHardened(Path file) throws Exception {
    String name = ENVOY_DIR.relativize(file).toString();
    Bootstrap b = parse(Files.readString(file));
    assertHardened(name, b);
    // the files name their fleet's node.cluster (--service-cluster may override it); the chart passes it instead
    assertThat(b.getNode().getCluster()).as(name + ": node.cluster").isNotEmpty();
  }

  @Test
  void edgeAndSidecarClaimTheirNodeClustersAndTheSidecarHasTheLowerCap() throws Exception {
    Bootstrap edge = file("edge.yaml");
    Bootstrap sidecar = file("sidecar.yaml");
    assertThat(edge.getNode().getCluster()).isEqualTo("edge");
    assertThat(sidecar.getNode().getCluster()).isEqualTo("sidecar");
    assertThat(connectionCap(sidecar)).isLessThan(connectionCap(edge));
    // the sidecar's admin stays clear of Ebb's outbound listener (127.0.0.1:15001, SPEC 5)
    assertThat(sidecar.getAdmin().getAddress().getSocketAddress().getPortValue()).isNotEqualTo(15001);
  }

  @Test
  void theCommentedDeltaBlockOfEdgeYamlIsAValidAdsConfig() throws Exception {
    List<String> lines = Files.readAllLines(ENVOY_DIR.resolve("edge.yaml"));
    int start = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).trim().equals("#   ads_config:")) {
        start = i;
      }
    }
    assertThat(start).as("a commented '#   ads_config:' block in edge.yaml").isPositive();
    StringBuilder yaml = new StringBuilder();
    for (int i = start; i < lines.size() && lines.get(i).trim().startsWith("#   "); i++) {
      yaml.append(lines.get(i).trim().substring(1)).append('\n');
    }
    Bootstrap.Builder b = Bootstrap.newBuilder();
    merge("dynamic_resources:\n" + yaml.toString().replaceAll("(?m)^", "  "), b);
    ApiConfigSource delta = b.getDynamicResources().getAdsConfig();
    assertGrpcToEbb(delta, ApiConfigSource.ApiType.DELTA_GRPC, "the commented delta ads_config");
    assertThat(delta.getSetNodeOnFirstMessageOnly()).isTrue();
  }

  @Test
  void theDemoBootstrapIsEdgeYamlWithEbbByItsComposeServiceName() throws Exception {
    Bootstrap edge = file("edge.yaml");
    Bootstrap demo = parse(Files.readString(DEMO_BOOTSTRAP));
    assertThat(demo.getNode()).isEqualTo(edge.getNode());
    assertThat(demo.getDynamicResources()).isEqualTo(edge.getDynamicResources());
    assertThat(demo.getClusterManager()).isEqualTo(edge.getClusterManager());
    assertThat(demo.getOverloadManager()).isEqualTo(edge.getOverloadManager());
    assertThat(demo.getAdmin()).isEqualTo(edge.getAdmin());
    Cluster demoEbb = cluster(demo, "ebb");
    assertThat(demoEbb.toBuilder().clearLoadAssignment().build())
        .isEqualTo(cluster(edge, "ebb").toBuilder().clearLoadAssignment().build());
    assertThat(demoEbb.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
        .getSocketAddress().getAddress()).isEqualTo("ebb");
  }

  @Test
  void theChartsBootstrapHasTheSameHardeningWithTheCapAsAValue() throws Exception {
    Bootstrap byDefault = parse(chartBootstrap(Map.of("envoy.enabled", "true")));
    assertHardened("chart", byDefault);
    Bootstrap set = parse(chartBootstrap(Map.of("envoy.enabled", "true", "envoy.maxConnections", "1234")));
    assertThat(connectionCap(set)).isEqualTo(1234);
    assertThat(connectionCap(byDefault)).isNotEqualTo(1234);
    // the same keepalives as envoy/edge.yaml
    Cluster edgeEbb = cluster(file("edge.yaml"), "ebb");
    Cluster chartEbb = cluster(byDefault, "ebb");
    assertThat(protocolOptions(chartEbb)).isEqualTo(protocolOptions(edgeEbb));
    assertThat(chartEbb.getUpstreamConnectionOptions()).isEqualTo(edgeEbb.getUpstreamConnectionOptions());
    // no node at all in the file: the pods pass --service-node $(POD_NAME) and --service-cluster envoy.nodeCluster
    assertThat(byDefault.hasNode()).isFalse();
  }

  /** What Ebb serves each bootstrap's node (by its node.cluster, with an id as --service-node would give it). */
  @Test
  void ebbServesTheSidecarItsOutboundListenerAndTheEdgeItsEdgeListener(@TempDir Path dir) throws Exception {
    String yaml = """
        listeners:
          - name: edge
            port: 10000
            nodeClusters: [edge]
          - name: outbound
            address: 127.0.0.1
            port: 15001
            nodeClusters: [sidecar]
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            listener: edge
            stable: v1
          - name: chat-internal
            hosts: ["chat.internal"]
            listener: outbound
            stable: v1
        backends:
          - name: v1
            endpoints: ["127.0.0.1:9001"]
        """;
    Map<String, String> expected = Map.of("edge.yaml", "edge", "sidecar.yaml", "outbound",
        "demo/envoy.yaml", "edge");
    try (EbbFixture ebb = new EbbFixture(dir, yaml).start()) {
      for (var e : new TreeMap<>(expected).entrySet()) {
        Bootstrap b = parse(Files.readString(ENVOY_DIR.resolve(e.getKey())));
        try (AdsClient node = new AdsClient(ebb.xdsPort(), AdsClient.Variant.SOTW, "test-" + e.getValue(), "envoy",
            b.getNode().getCluster()).start()) {
          await().atMost(Duration.ofSeconds(10))
              .until(() -> !node.resources(AdsClient.LDS).isEmpty() && !node.resources(AdsClient.RDS).isEmpty());
          assertThat(node.resources(AdsClient.LDS).keySet()).as(e.getKey()).containsExactly(e.getValue());
          // everything the node got passes the rules Envoy checks
          for (String type : List.of(AdsClient.LDS, AdsClient.RDS, AdsClient.CDS, AdsClient.EDS)) {
            for (var r : node.<Message>resources(type).entrySet()) {
              assertThat(ProtoRules.check(r.getKey(), r.getValue())).as(e.getKey() + " " + type).isEmpty();
            }
          }
        }
      }
    }
  }

  @Test
  void theStrictParseFailsOnWhatEnvoyWouldRefuse() throws Exception {
    String edge = Files.readString(ENVOY_DIR.resolve("edge.yaml"));
    // a misspelled field, at the top and inside a packed extension config
    assertThatThrownBy(() -> parse(edge.replace("cluster_manager:", "cluster_manger:")))
        .hasMessageContaining("cluster_manger");
    assertThatThrownBy(() -> parse(edge.replace("max_active_downstream_connections:",
        "max_active_downstream_conections:"))).hasMessageContaining("max_active_downstream_conections");
    assertThatThrownBy(() -> parse(edge.replace("connection_keepalive:", "connection_keep_alive:")))
        .hasMessageContaining("connection_keep_alive");
    // a wrong type
    assertThatThrownBy(() -> parse(edge.replace("port_value: 18000", "port_value: eighteen-thousand")))
        .hasMessageContaining("eighteen-thousand");
    assertThatThrownBy(() -> parse(edge.replace("interval: 30s", "interval: 30 seconds")))
        .isInstanceOf(Exception.class);
    // an unknown @type (e.g. the v2 name of the resource monitor)
    assertThatThrownBy(() -> parse(edge.replace(
        "extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
        "extensions.resource_monitors.downstream_connections.v2.DownstreamConnectionsConfig")))
        .hasMessageContaining("v2.DownstreamConnectionsConfig");
    // a value Envoy's PGV rules refuse at startup: a keepalive without its (required) timeout
    Bootstrap noTimeout = parse(edge.replace("connection_keepalive: { interval: 30s, timeout: 10s }",
        "connection_keepalive: { interval: 30s }"));
    assertThat(ProtoRules.check("edge.yaml", noTimeout)).extracting(Object::toString)
        .anyMatch(v -> v.contains("connection_keepalive") && v.contains("timeout"));
    // and the hardening checks notice a bootstrap without it
    Bootstrap noCap = parse(edge).toBuilder().clearOverloadManager().build();
    assertThatThrownBy(() -> assertHardened("no cap", noCap)).hasMessageContaining(GLOBAL_CX);
    Bootstrap fixedId = parse(edge).toBuilder().setNode(parse(edge).getNode().toBuilder().setId("edge-1")).build();
    assertThatThrownBy(() -> assertHardened("fixed id", fixedId)).hasMessageContaining("--service-node");
  }

  // ---- xDS over TLS to Ebb (SPEC 11) ----

  /** What a bootstrap's TLS connection to Ebb reads from files: the directory and the files SDS names there. */
  record TlsToEbb(String host, String certDir, Optional<String> certFile, Optional<String> keyFile, String caFile,
      Secret ca, Optional<Secret> clientCert, List<String> sdsPaths) {}

  /**
   * Checks that a bootstrap's "ebb" cluster speaks TLS to Ebb the way SPEC 11 needs, and follows its SDS files
   * ({@code readSds}: an absolute SDS path to its content): ALPN h2, SNI and an exact DNS SAN match of the host
   * it dials, the CA (and with {@code mutual} the client certificate) from a path-based SDS source with a
   * watched directory, the certificate files in one watched directory, every SDS file a strict
   * DiscoveryResponse of exactly the Secret named, and everything within Envoy's PGV rules.
   */
  static TlsToEbb assertTlsToEbb(String name, Bootstrap b, boolean mutual, Function<String, String> readSds)
      throws Exception {
    Cluster ebb = cluster(b, "ebb");
    String host = ebb.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
        .getSocketAddress().getAddress();
    assertThat(ebb.hasTransportSocket()).as(name + ": the ebb cluster has a transport_socket").isTrue();
    assertThat(ebb.getTransportSocket().getName()).as(name + ": transport_socket.name")
        .isEqualTo("envoy.transport_sockets.tls");
    UpstreamTlsContext tls = ebb.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(tls.getSni()).as(name + ": sni is the host Envoy dials").isEqualTo(host);
    CommonTlsContext common = tls.getCommonTlsContext();
    assertThat(common.getAlpnProtocolsList()).as(name + ": ALPN (Ebb's gRPC server speaks h2 only)")
        .containsExactly("h2");
    assertThat(common.getTlsCertificatesList()).as(name + ": no inline certificate (files by SDS only)").isEmpty();
    // Ebb's certificate: its SAN is matched exactly, and it must chain to the CA that SDS reads from a file
    assertThat(common.hasCombinedValidationContext()).as(name + ": combined_validation_context").isTrue();
    var combined = common.getCombinedValidationContext();
    List<SubjectAltNameMatcher> sans = combined.getDefaultValidationContext().getMatchTypedSubjectAltNamesList();
    assertThat(sans).as(name + ": match_typed_subject_alt_names").isNotEmpty().allSatisfy(m -> {
      assertThat(m.getSanType()).isEqualTo(SubjectAltNameMatcher.SanType.DNS);
      assertThat(m.getMatcher().getMatchPatternCase().name()).as("an exact match, no prefix or regex").isEqualTo("EXACT");
      assertThat(m.getMatcher().getExact()).isNotEmpty();
    });
    assertThat(sans).extracting(m -> m.getMatcher().getExact()).as(name + ": a SAN matcher for the host dialed")
        .contains(host);
    assertThat(combined.getDefaultValidationContext().getTrustChainVerification().name())
        .isEqualTo("VERIFY_TRUST_CHAIN");
    List<String> sdsPaths = new ArrayList<>();
    Secret ca = sdsSecret(name, combined.getValidationContextSdsSecretConfig(), readSds, sdsPaths);
    assertThat(ca.hasValidationContext()).as(name + ": " + ca.getName() + " is a validation_context").isTrue();
    String caFile = ca.getValidationContext().getTrustedCa().getFilename();
    String certDir = ca.getValidationContext().getWatchedDirectory().getPath();
    assertThat(caFile).as(name + ": trusted_ca is a file").isNotEmpty();
    assertThat(parent(caFile)).as(name + ": the CA file is in the watched directory").isEqualTo(certDir);
    // the client certificate (mutual TLS)
    Optional<Secret> client = Optional.empty();
    if (mutual) {
      assertThat(common.getTlsCertificateSdsSecretConfigsList()).as(name + ": one client certificate by SDS")
          .hasSize(1);
      Secret cert = sdsSecret(name, common.getTlsCertificateSdsSecretConfigs(0), readSds, sdsPaths);
      assertThat(cert.hasTlsCertificate()).as(name + ": " + cert.getName() + " is a tls_certificate").isTrue();
      var tc = cert.getTlsCertificate();
      assertThat(tc.getWatchedDirectory().getPath()).as(name + ": the certificate's watched directory")
          .isEqualTo(certDir);
      assertThat(parent(tc.getCertificateChain().getFilename())).as(name + ": certificate_chain file").isEqualTo(certDir);
      assertThat(parent(tc.getPrivateKey().getFilename())).as(name + ": private_key file").isEqualTo(certDir);
      client = Optional.of(cert);
    } else {
      assertThat(common.getTlsCertificateSdsSecretConfigsList()).as(name + ": no client certificate").isEmpty();
    }
    assertThat(ProtoRules.check(name, b)).as(name + ": PGV violations").isEmpty();
    return new TlsToEbb(host, certDir,
        client.map(c -> c.getTlsCertificate().getCertificateChain().getFilename()),
        client.map(c -> c.getTlsCertificate().getPrivateKey().getFilename()), caFile, ca, client, sdsPaths);
  }

  /** The one Secret a path-based SDS source names, read strictly from its file. */
  static Secret sdsSecret(String name, SdsSecretConfig config, Function<String, String> readSds, List<String> paths)
      throws Exception {
    String what = name + ": SDS " + config.getName();
    ConfigSource source = config.getSdsConfig();
    assertThat(source.hasPathConfigSource()).as(what + ": a path_config_source (files, not ADS)").isTrue();
    String path = source.getPathConfigSource().getPath();
    assertThat(source.getPathConfigSource().getWatchedDirectory().getPath())
        .as(what + ": watched_directory is the SDS file's directory (symlink swaps are moves there)")
        .isEqualTo(parent(path));
    assertThat(source.getResourceApiVersion().name()).as(what + ": resource_api_version").isEqualTo("V3");
    DiscoveryResponse file = parseSds(readSds.apply(path));
    assertThat(ProtoRules.check(path, file)).as(what + ": PGV violations in " + path).isEmpty();
    assertThat(file.getResourcesList()).as(what + ": resources of " + path).hasSize(1);
    Secret secret = file.getResources(0).unpack(Secret.class);
    assertThat(secret.getName()).as(what + ": the Secret's name in " + path).isEqualTo(config.getName());
    paths.add(path);
    return secret;
  }

  static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash <= 0 ? "" : path.substring(0, slash);
  }

  /** Envoy reads /etc/envoy/sds/X; the repository ships it as envoy/sds/X. */
  static String repoSds(String path) {
    assertThat(path).as("SDS path of a repository bootstrap").startsWith("/etc/envoy/sds/");
    try {
      return Files.readString(ENVOY_DIR.resolve("sds").resolve(path.substring("/etc/envoy/sds/".length())));
    } catch (java.io.IOException e) {
      throw new AssertionError("SDS file " + path + " is not in envoy/sds/", e);
    }
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"edge-tls.yaml, edge.yaml", "sidecar-tls.yaml, sidecar.yaml"})
  void theTlsVariantsAreThePlaintextOnesWithMutualTlsToEbbFromWatchedFiles(String tlsFile, String plainFile)
      throws Exception {
    Bootstrap tls = file(tlsFile);
    Bootstrap plain = file(plainFile);
    TlsToEbb t = assertTlsToEbb(tlsFile, tls, true, EnvoyBootstrapTest::repoSds);
    // the files a Kubernetes Secret written by cert-manager holds, in one directory
    assertThat(t.certDir()).isEqualTo("/etc/envoy-xds-tls");
    assertThat(t.certFile()).hasValue("/etc/envoy-xds-tls/tls.crt");
    assertThat(t.keyFile()).hasValue("/etc/envoy-xds-tls/tls.key");
    assertThat(t.caFile()).isEqualTo("/etc/envoy-xds-tls/ca.crt");
    // everything else is the plaintext file: only the ebb cluster's address and transport differ
    Function<Bootstrap, Bootstrap> withoutTls = b -> {
      Bootstrap.Builder x = b.toBuilder();
      var clusters = x.getStaticResourcesBuilder().getClustersBuilderList();
      clusters.stream().filter(c -> c.getName().equals("ebb"))
          .forEach(c -> c.clearTransportSocket().clearLoadAssignment());
      return x.build();
    };
    assertThat(withoutTls.apply(tls)).isEqualTo(withoutTls.apply(plain));
  }

  @Test
  void everySdsFileParsesStrictlyAndIsUsed() throws Exception {
    List<String> used = new ArrayList<>();
    for (String f : List.of("edge-tls.yaml", "sidecar-tls.yaml")) {
      used.addAll(assertTlsToEbb(f, file(f), true, EnvoyBootstrapTest::repoSds).sdsPaths());
    }
    List<String> shipped = new ArrayList<>();
    try (Stream<Path> s = Files.list(ENVOY_DIR.resolve("sds"))) {
      s.sorted().forEach(p -> shipped.add("/etc/envoy/sds/" + p.getFileName()));
    }
    for (String p : shipped) {
      DiscoveryResponse r = parseSds(repoSds(p));
      assertThat(ProtoRules.check(p, r)).as(p).isEmpty();
    }
    assertThat(new java.util.TreeSet<>(used)).as("every file in envoy/sds is named by a TLS bootstrap")
        .containsExactlyElementsOf(shipped);
  }

  @Test
  void theTlsChecksFailOnWhatEnvoyWouldRefuseOrWhatWouldNotRotate() throws Exception {
    String edgeTls = Files.readString(ENVOY_DIR.resolve("edge-tls.yaml"));
    String clientCert = repoSds("/etc/envoy/sds/xds-client-cert.yaml");
    // misspelled fields, in the bootstrap's packed UpstreamTlsContext and in an SDS file's packed Secret
    assertThatThrownBy(() -> parse(edgeTls.replace("match_typed_subject_alt_names:", "match_subject_alt_name:")))
        .hasMessageContaining("match_subject_alt_name");
    assertThatThrownBy(() -> parseSds(clientCert.replace("watched_directory:", "watched_dir:")))
        .hasMessageContaining("watched_dir");
    assertThatThrownBy(() -> parse(edgeTls.replace("san_type: DNS", "san_type: DNS_NAME")))
        .hasMessageContaining("DNS_NAME");
    // a SAN type Envoy's rules refuse
    Bootstrap unspecified = parse(edgeTls.replace("- san_type: DNS\n", "- san_type: SAN_TYPE_UNSPECIFIED\n"));
    assertThat(ProtoRules.check("edge-tls.yaml", unspecified)).extracting(Object::toString)
        .anyMatch(v -> v.contains("san_type"));
    // an SDS file whose Secret has another name than the one asked for: Envoy would wait for it forever
    Function<String, String> renamed = p -> repoSds(p).replace("name: xds-ca", "name: ca");
    assertThatThrownBy(() -> assertTlsToEbb("renamed", parse(edgeTls), true, renamed))
        .hasMessageContaining("xds-ca");
    // a certificate whose directory is not watched would not rotate
    Function<String, String> unwatched = p -> repoSds(p).replace("watched_directory: { path: /etc/envoy-xds-tls }",
        "watched_directory: { path: /etc/elsewhere }");
    assertThatThrownBy(() -> assertTlsToEbb("unwatched", parse(edgeTls), true, unwatched))
        .hasMessageContaining("watched directory");
    // the plaintext bootstrap has no TLS at all
    assertThatThrownBy(() -> assertTlsToEbb("edge.yaml", file("edge.yaml"), true, EnvoyBootstrapTest::repoSds))
        .hasMessageContaining("transport_socket");
  }
}
