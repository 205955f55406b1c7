package dev.ebb.it.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.github.xds.data.orca.v3.OrcaLoadReport;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.FloatValue;
import com.google.protobuf.DoubleValue;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.Value;
import dev.ebb.it.rules.ProtoRules.Violation;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.LoadBalancingPolicy;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.common.matcher.v3.HttpGenericBodyMatch;
import io.envoyproxy.envoy.config.common.matcher.v3.MatchPredicate;
import io.envoyproxy.envoy.config.common.matcher.v3.Matcher;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.HealthStatusSet;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.KeyValue;
import io.envoyproxy.envoy.config.core.v3.KeyValueAppend;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.QuicProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.RequestMethod;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.SchemeHeaderTransformation;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.InternalRedirectPolicy;
import io.envoyproxy.envoy.config.route.v3.RateLimit;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.api_key_auth.v3.KeySource;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.http.original_ip_detection.custom_header.v3.CustomHeaderConfig;
import io.envoyproxy.envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin;
import io.envoyproxy.envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin;
import io.envoyproxy.envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig;
import io.envoyproxy.envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.v3.Percent;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.AnyRules;
import io.envoyproxy.pgv.validate.Validate.BoolRules;
import io.envoyproxy.pgv.validate.Validate.BytesRules;
import io.envoyproxy.pgv.validate.Validate.DoubleRules;
import io.envoyproxy.pgv.validate.Validate.DurationRules;
import io.envoyproxy.pgv.validate.Validate.EnumRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import io.envoyproxy.pgv.validate.Validate.Fixed32Rules;
import io.envoyproxy.pgv.validate.Validate.Fixed64Rules;
import io.envoyproxy.pgv.validate.Validate.FloatRules;
import io.envoyproxy.pgv.validate.Validate.Int32Rules;
import io.envoyproxy.pgv.validate.Validate.KnownRegex;
import io.envoyproxy.pgv.validate.Validate.MapRules;
import io.envoyproxy.pgv.validate.Validate.MessageRules;
import io.envoyproxy.pgv.validate.Validate.RepeatedRules;
import io.envoyproxy.pgv.validate.Validate.SFixed32Rules;
import io.envoyproxy.pgv.validate.Validate.SFixed64Rules;
import io.envoyproxy.pgv.validate.Validate.SInt32Rules;
import io.envoyproxy.pgv.validate.Validate.SInt64Rules;
import io.envoyproxy.pgv.validate.Validate.StringRules;
import io.envoyproxy.pgv.validate.Validate.TimestampRules;
import io.envoyproxy.pgv.validate.Validate.UInt32Rules;
import io.envoyproxy.pgv.validate.Validate.UInt64Rules;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ProtoRulesTest {

  private static final String HCM_TYPE =
      "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  private static final String IN_HCM = "filter_chains[0].filters[0].typed_config<" + HCM_TYPE + ">";
  private static final String HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  private static final String IN_HTTP_OPTIONS =
      "typed_extension_protocol_options[\"" + HTTP_OPTIONS + "\"]<" + HTTP_OPTIONS + ">";
  private static final String VHOST = "virtual_hosts[0]";
  private static final String WEIGHTED_ROUTE = VHOST + ".routes[0]";
  private static final String CLUSTER_ROUTE = VHOST + ".routes[1]";

  // ---------------------------------------------------------------------------------------------
  // Realistic, valid resources (shaped like what Ebb sends)

  static Duration seconds(long s) {
    return Duration.newBuilder().setSeconds(s).build();
  }

  static ConfigSource ads() {
    return ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3).build();
  }

  static Address address(String ip, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port)).build();
  }

  static HttpConnectionManager hcm() {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix("ingress_http")
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(Rds.newBuilder().setRouteConfigName("ingress").setConfigSource(ads()))
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .addUpgradeConfigs(HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket"))
        .setHttp2ProtocolOptions(Http2ProtocolOptions.newBuilder().setAllowConnect(true)
            .setMaxConcurrentStreams(UInt32Value.of(1024))
            .setInitialStreamWindowSize(UInt32Value.of(64 * 1024))
            .setInitialConnectionWindowSize(UInt32Value.of(1024 * 1024)))
        .setStripAnyHostPort(true)
        .setRequestHeadersTimeout(seconds(10))
        .build();
  }

  static Listener listener(HttpConnectionManager hcm) {
    return Listener.newBuilder()
        .setName("ingress")
        .setAddress(address("0.0.0.0", 8080))
        .setPerConnectionBufferLimitBytes(UInt32Value.of(32 * 1024))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
        .build();
  }

  static Listener listener() {
    return listener(hcm());
  }

  static HealthCheck healthCheck() {
    return HealthCheck.newBuilder()
        .setTimeout(seconds(1)).setInterval(seconds(5))
        .setUnhealthyThreshold(UInt32Value.of(3)).setHealthyThreshold(UInt32Value.of(1))
        .setHttpHealthCheck(HealthCheck.HttpHealthCheck.newBuilder().setPath("/healthz"))
        .build();
  }

  static Cluster cluster() {
    CircuitBreakers.Thresholds limits = CircuitBreakers.Thresholds.newBuilder()
        .setPriority(RoutingPriority.DEFAULT)
        .setMaxConnections(UInt32Value.of(1_000_000))
        .setMaxPendingRequests(UInt32Value.of(1_000_000))
        .setMaxRequests(UInt32Value.of(1_000_000))
        .build();
    return Cluster.newBuilder()
        .setName("checkout-v1")
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()))
        .setConnectTimeout(seconds(5))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(limits))
        .setCommonLbConfig(Cluster.CommonLbConfig.newBuilder()
            .setHealthyPanicThreshold(Percent.newBuilder().setValue(0)))
        .setOutlierDetection(OutlierDetection.newBuilder()
            .setInterval(seconds(10)).setBaseEjectionTime(seconds(30))
            .setMaxEjectionPercent(UInt32Value.of(50)).setEnforcingSuccessRate(UInt32Value.of(0)))
        .putTypedExtensionProtocolOptions(HTTP_OPTIONS, Any.pack(HttpProtocolOptions.newBuilder()
            .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
            .build()))
        .addHealthChecks(healthCheck())
        .setMetadata(Metadata.newBuilder().putFilterMetadata("ebb", Struct.newBuilder()
            .putFields("route", Value.newBuilder().setStringValue("checkout").build()).build()))
        .build();
  }

  static LbEndpoint lbEndpoint(String ip, HealthStatus status) {
    return LbEndpoint.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setAddress(address(ip, 8080)))
        .setHealthStatus(status)
        .build();
  }

  static ClusterLoadAssignment loadAssignment() {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName("checkout-v1")
        .addEndpoints(LocalityLbEndpoints.newBuilder()
            .setLocality(Locality.newBuilder().setZone("zone-a"))
            .setLoadBalancingWeight(UInt32Value.of(2))
            .addLbEndpoints(lbEndpoint("10.0.0.1", HealthStatus.HEALTHY))
            .addLbEndpoints(lbEndpoint("10.0.0.2", HealthStatus.DRAINING)))
        .build();
  }

  static WeightedCluster.ClusterWeight weight(String name, int w) {
    return WeightedCluster.ClusterWeight.newBuilder().setName(name).setWeight(UInt32Value.of(w)).build();
  }

  static RouteConfiguration routes() {
    Route weighted = Route.newBuilder()
        .setName("checkout")
        .setMatch(RouteMatch.newBuilder().setPrefix("/checkout")
            .addHeaders(HeaderMatcher.newBuilder().setName("x-canary").setPresentMatch(true)))
        .setRoute(RouteAction.newBuilder()
            .setWeightedClusters(WeightedCluster.newBuilder()
                .addClusters(weight("checkout-v1", 9_000)).addClusters(weight("checkout-v2", 1_000)))
            .setTimeout(seconds(0))
            .setIdleTimeout(seconds(300))
            .setMaxStreamDuration(RouteAction.MaxStreamDuration.newBuilder()
                .setGrpcTimeoutHeaderMax(seconds(0))))
        .build();
    Route single = Route.newBuilder()
        .setName("shop")
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(RouteAction.newBuilder().setCluster("shop-v1"))
        .build();
    return RouteConfiguration.newBuilder()
        .setName("ingress")
        .addVirtualHosts(VirtualHost.newBuilder()
            .setName("shop.example.com")
            .addDomains("shop.example.com").addDomains("shop.example.com:*")
            .addRoutes(weighted).addRoutes(single)
            .addRequestHeadersToAdd(HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey("x-ebb").setValue("1"))))
        .build();
  }

  // small editors, so that each negative case changes exactly one thing

  static Listener editHcm(UnaryOperator<HttpConnectionManager.Builder> edit) {
    return listener(edit.apply(hcm().toBuilder()).build());
  }

  static RouteConfiguration editVhost(UnaryOperator<VirtualHost.Builder> edit) {
    RouteConfiguration rc = routes();
    return rc.toBuilder().setVirtualHosts(0, edit.apply(rc.getVirtualHosts(0).toBuilder())).build();
  }

  static RouteConfiguration editRoute(int index, UnaryOperator<Route.Builder> edit) {
    return editVhost(vh -> vh.setRoutes(index, edit.apply(vh.getRoutes(index).toBuilder())));
  }

  static RouteConfiguration editHeader(UnaryOperator<HeaderValue.Builder> edit) {
    return editVhost(vh -> vh.setRequestHeadersToAdd(0, vh.getRequestHeadersToAdd(0).toBuilder()
        .setHeader(edit.apply(vh.getRequestHeadersToAdd(0).getHeader().toBuilder()))));
  }

  static Cluster editCluster(UnaryOperator<Cluster.Builder> edit) {
    return edit.apply(cluster().toBuilder()).build();
  }

  static Cluster editHealthCheck(UnaryOperator<HealthCheck.Builder> edit) {
    return editCluster(c -> c.setHealthChecks(0, edit.apply(healthCheck().toBuilder())));
  }

  static Cluster editHttpOptions(UnaryOperator<HttpProtocolOptions.Builder> edit) {
    HttpProtocolOptions base = HttpProtocolOptions.newBuilder()
        .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
            .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
        .build();
    return editCluster(c -> c.putTypedExtensionProtocolOptions(HTTP_OPTIONS,
        Any.pack(edit.apply(base.toBuilder()).build())));
  }

  static ClusterLoadAssignment editLocality(UnaryOperator<LocalityLbEndpoints.Builder> edit) {
    ClusterLoadAssignment cla = loadAssignment();
    return cla.toBuilder().setEndpoints(0, edit.apply(cla.getEndpoints(0).toBuilder())).build();
  }

  static Listener withTls(DownstreamTlsContext tls) {
    Listener l = listener();
    return l.toBuilder().setFilterChains(0, l.getFilterChains(0).toBuilder()
        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
            .setTypedConfig(Any.pack(tls)))).build();
  }

  private static List<Violation> check(Message m) {
    return ProtoRules.check("test", m);
  }

  // ---------------------------------------------------------------------------------------------
  // The machinery itself

  @Test
  void pgvOptionsAreVisibleOnTheGeneratedDescriptors() {
    assertThat(ProtoRules.rulesOf(Filter.getDescriptor().findFieldByName("name")).getString().getMinLen())
        .isEqualTo(1);
    assertThat(ProtoRules.rulesOf(WeightedCluster.getDescriptor().findFieldByName("clusters"))
        .getRepeated().getMinItems()).isEqualTo(1);
    Descriptor hcm = HttpConnectionManager.getDescriptor();
    assertThat(ProtoRules.rulesOf(hcm.findFieldByName("stat_prefix")).getString().getMinLen()).isEqualTo(1);
    assertThat(ProtoRules.rulesOf(hcm.findFieldByName("codec_type")).getEnum().getDefinedOnly()).isTrue();
    assertThat(Address.getDescriptor().getRealOneofs().get(0).getOptions().getExtension(Validate.required))
        .isTrue();
    assertThat(ProtoRules.rulesOf(Listener.getDescriptor().findFieldByName("stat_prefix"))).isNull();
  }

  @Test
  void rulesHiddenInUnknownOptionFieldsAreReadToo() throws Exception {
    FieldRules rules = FieldRules.newBuilder().setString(StringRules.newBuilder().setMinLen(3)).build();
    FieldOptions unknownOnly = FieldOptions.newBuilder().setUnknownFields(UnknownFieldSet.newBuilder()
        .addField(1071, UnknownFieldSet.Field.newBuilder().addLengthDelimited(rules.toByteString()).build())
        .build()).build();
    Descriptor d = Synthetic.message(Type.TYPE_STRING, null, Label.LABEL_OPTIONAL, unknownOnly, null);
    FieldDescriptor v = d.findFieldByName("v");
    assertThat(v.getOptions().hasExtension(Validate.rules)).as("precondition: option unresolved").isFalse();

    assertThat(ProtoRules.rulesOf(v)).isEqualTo(rules);
    assertThat(check(DynamicMessage.newBuilder(d).setField(v, "ab").build()))
        .extracting(Violation::path, Violation::rule).containsExactly(tuple("v", "string.min_len"));
  }

  @Test
  void typeRegistryHoldsEveryEnvoyTypeAndTheWellKnownTypesOnce() {
    assertThat(ProtoRules.typeRegistry()).isSameAs(ProtoRules.typeRegistry());
    for (Descriptor d : List.of(Listener.getDescriptor(), HttpConnectionManager.getDescriptor(),
        Router.getDescriptor(), Cluster.getDescriptor(), ClusterLoadAssignment.getDescriptor(),
        RouteConfiguration.getDescriptor(), OrcaLoadReport.getDescriptor(), Struct.getDescriptor(),
        Duration.getDescriptor(), Timestamp.getDescriptor(), UInt32Value.getDescriptor(),
        Any.getDescriptor())) {
      assertThat(ProtoRules.typeRegistry().find(d.getFullName())).as(d.getFullName()).isSameAs(d);
    }
    // nested types of java_multiple_files=false protos (the validate options themselves)
    assertThat(ProtoRules.typeRegistry().find("validate.StringRules")).isNotNull();
    assertThat(ProtoRules.messageTypes()).hasSizeGreaterThan(1_500)
        .contains(Listener.getDescriptor(), WeightedCluster.ClusterWeight.getDescriptor())
        .noneMatch(d -> d.getOptions().getMapEntry());
  }

  @Test
  void everyRegisteredTypeCanBeCheckedWithoutException() {
    int violations = 0;
    for (Descriptor d : ProtoRules.messageTypes()) {
      Message empty = DynamicMessage.getDefaultInstance(d);
      List<Violation> found = new ArrayList<>();
      assertThatCode(() -> found.addAll(ProtoRules.check(d.getFullName(), empty)))
          .as(d.getFullName()).doesNotThrowAnyException();
      assertThatCode(() -> ProtoRules.checkAny(d.getFullName(), Any.pack(empty)))
          .as(d.getFullName()).doesNotThrowAnyException();
      violations += found.size();
    }
    // proto3 defaults do break rules: an empty Filter has no name, an empty Address no address
    assertThat(violations).isGreaterThan(100);
    assertThat(check(Filter.getDefaultInstance())).extracting(Violation::path, Violation::rule)
        .containsExactly(tuple("name", "string.min_len"));
  }

  // ---------------------------------------------------------------------------------------------
  // Positive

  @Test
  void realisticResourcesAreValid() {
    assertThat(check(listener())).isEmpty();
    assertThat(check(cluster())).isEmpty();
    assertThat(check(loadAssignment())).isEmpty();
    assertThat(check(routes())).isEmpty();
    assertThat(check(withTls(DownstreamTlsContext.newBuilder().setSessionTimeout(seconds(300)).build())))
        .isEmpty();
    ProtoRules.assertValid("ingress", listener());
    ProtoRules.assertValid("checkout-v1", cluster());
    ProtoRules.assertValid("checkout-v1", loadAssignment());
    ProtoRules.assertValid("ingress", routes());
  }

  @Test
  void packedResourcesAreUnpackedThroughTheRegistry() {
    for (Message m : List.of(listener(), cluster(), loadAssignment(), routes())) {
      assertThat(ProtoRules.checkAny("r", Any.pack(m))).isEmpty();
    }
    Listener bad = editHcm(h -> h.setStatPrefix(""));
    assertThat(ProtoRules.checkAny("ingress", Any.pack(bad))).isEqualTo(ProtoRules.check("ingress", bad))
        .extracting(Violation::path).containsExactly(IN_HCM + ".stat_prefix");
    // check() on an Any behaves like checkAny()
    assertThat(ProtoRules.check("ingress", Any.pack(bad))).isEqualTo(ProtoRules.check("ingress", bad));
  }

  // ---------------------------------------------------------------------------------------------
  // Negative: real Envoy messages, each broken in exactly one place

  static Stream<Arguments> envoyViolations() {
    Listener.Builder unknownType = listener().toBuilder();
    unknownType.getFilterChainsBuilder(0).getFiltersBuilder(0).setTypedConfig(Any.newBuilder()
        .setTypeUrl("type.googleapis.com/ebb.test.DoesNotExist").setValue(ByteString.copyFromUtf8("x")));
    Listener.Builder garbage = listener().toBuilder();
    garbage.getFilterChainsBuilder(0).getFiltersBuilder(0).setTypedConfig(Any.newBuilder()
        .setTypeUrl("type.googleapis.com/" + HCM_TYPE).setValue(ByteString.copyFrom(new byte[] {(byte) 0xff})));
    Listener.Builder emptyFilterName = listener().toBuilder();
    emptyFilterName.getFilterChainsBuilder(0).getFiltersBuilder(0).setName("");

    List<HeaderValueOption> tooManyHeaders = new ArrayList<>();
    for (int i = 0; i <= 1000; i++) {
      tooManyHeaders.add(HeaderValueOption.newBuilder()
          .setHeader(HeaderValue.newBuilder().setKey("x-h" + i).setValue("v")).build());
    }
    String big = "v".repeat(16_385);

    return Stream.of(
        // Listener + HttpConnectionManager (through Any) + router (through a second Any)
        row("string.min_len: Filter.name", emptyFilterName.build(),
            "filter_chains[0].filters[0].name", "string.min_len"),
        row("string.min_len inside an Any: HCM.stat_prefix", editHcm(h -> h.setStatPrefix("")),
            IN_HCM + ".stat_prefix", "string.min_len"),
        row("string.min_len: HttpFilter.name", editHcm(h -> h.setHttpFilters(0,
                h.getHttpFilters(0).toBuilder().setName(""))),
            IN_HCM + ".http_filters[0].name", "string.min_len"),
        row("repeated.items.string.in, two Anys deep: Router.strict_check_headers",
            editHcm(h -> h.setHttpFilters(0, h.getHttpFilters(0).toBuilder().setTypedConfig(Any.pack(
                Router.newBuilder().addStrictCheckHeaders("x-envoy-retry-on")
                    .addStrictCheckHeaders("x-not-checkable").build())))),
            IN_HCM + ".http_filters[0].typed_config<envoy.extensions.filters.http.router.v3.Router>"
                + ".strict_check_headers[1]", "repeated.items.string.in"),
        row("enum.defined_only: HCM.codec_type = 99", editHcm(h -> h.setCodecTypeValue(99)),
            IN_HCM + ".codec_type", "enum.defined_only"),
        row("uint32.gte on a wrapper: HTTP/2 initial_stream_window_size", editHcm(h ->
                h.setHttp2ProtocolOptions(h.getHttp2ProtocolOptions().toBuilder()
                    .setInitialStreamWindowSize(UInt32Value.of(65_534)))),
            IN_HCM + ".http2_protocol_options.initial_stream_window_size", "uint32.gte"),
        row("string.in: SchemeHeaderTransformation.scheme_to_overwrite",
            editHcm(h -> h.setSchemeHeaderTransformation(
                SchemeHeaderTransformation.newBuilder().setSchemeToOverwrite("ftp"))),
            IN_HCM + ".scheme_header_transformation.scheme_to_overwrite", "string.in"),
        row("message.required: Rds.config_source", editHcm(h -> h.setRds(h.getRds().toBuilder()
                .clearConfigSource())),
            IN_HCM + ".rds.config_source", "message.required"),
        row("oneof.required: HCM route_specifier", editHcm(HttpConnectionManager.Builder::clearRds),
            IN_HCM + ".route_specifier", "oneof.required"),
        row("oneof.required: Address.address", listener().toBuilder()
                .setAddress(Address.getDefaultInstance()).build(),
            "address.address", "oneof.required"),
        row("uint32.lte: SocketAddress.port_value", listener().toBuilder()
                .setAddress(address("0.0.0.0", 65_536)).build(),
            "address.socket_address.port_value", "uint32.lte"),
        row("string.min_len: SocketAddress.address", listener().toBuilder()
                .setAddress(address("", 8080)).build(),
            "address.socket_address.address", "string.min_len"),
        row("Any with an unknown type", unknownType.build(),
            "filter_chains[0].filters[0].typed_config", "any.unknown_type"),
        row("Any whose bytes do not parse", garbage.build(),
            "filter_chains[0].filters[0].typed_config", "any.unparsable"),
        row("duration.lt: DownstreamTlsContext.session_timeout",
            withTls(DownstreamTlsContext.newBuilder().setSessionTimeout(seconds(1L << 32)).build()),
            "filter_chains[0].transport_socket.typed_config"
                + "<envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext>.session_timeout",
            "duration.lt"),
        row("duration.gte: DownstreamTlsContext.session_timeout",
            withTls(DownstreamTlsContext.newBuilder().setSessionTimeout(seconds(-1)).build()),
            "filter_chains[0].transport_socket.typed_config"
                + "<envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext>.session_timeout",
            "duration.gte"),

        // Cluster
        row("duration.gt: Cluster.connect_timeout = 0",
            editCluster(c -> c.setConnectTimeout(seconds(0))), "connect_timeout", "duration.gt"),
        row("duration.gt: Cluster.connect_timeout < 0",
            editCluster(c -> c.setConnectTimeout(seconds(-1))), "connect_timeout", "duration.gt"),
        row("duration.valid: nanos out of range", editCluster(c -> c.setConnectTimeout(
                Duration.newBuilder().setSeconds(1).setNanos(1_000_000_000))),
            "connect_timeout", "duration.valid"),
        row("string.min_len: Cluster.name", editCluster(c -> c.setName("")), "name", "string.min_len"),
        row("enum.defined_only: Cluster.lb_policy", editCluster(c -> c.setLbPolicyValue(42)),
            "lb_policy", "enum.defined_only"),
        row("map.keys.string.min_len: Metadata.filter_metadata", editCluster(c -> c.setMetadata(
                Metadata.newBuilder().putFilterMetadata("", Struct.getDefaultInstance()))),
            "metadata.filter_metadata[\"\"]", "map.keys.string.min_len"),
        row("uint32.lte on a wrapper: OutlierDetection.max_ejection_percent",
            editCluster(c -> c.setOutlierDetection(c.getOutlierDetection().toBuilder()
                .setMaxEjectionPercent(UInt32Value.of(101)))),
            "outlier_detection.max_ejection_percent", "uint32.lte"),
        row("double.lte: Percent.value", editCluster(c -> c.setCommonLbConfig(c.getCommonLbConfig()
                .toBuilder().setHealthyPanicThreshold(Percent.newBuilder().setValue(100.5)))),
            "common_lb_config.healthy_panic_threshold.value", "double.lte"),
        row("double.gte on a wrapper: PreconnectPolicy.per_upstream_preconnect_ratio",
            editCluster(c -> c.setPreconnectPolicy(Cluster.PreconnectPolicy.newBuilder()
                .setPerUpstreamPreconnectRatio(DoubleValue.of(0.5)))),
            "preconnect_policy.per_upstream_preconnect_ratio", "double.gte"),
        row("uint64.lte on a wrapper: RingHashLbConfig.maximum_ring_size",
            editCluster(c -> c.setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder()
                .setMaximumRingSize(UInt64Value.of(8_388_609)))),
            "ring_hash_lb_config.maximum_ring_size", "uint64.lte"),
        row("any.required: TypedExtensionConfig.typed_config",
            editCluster(c -> c.setLoadBalancingPolicy(LoadBalancingPolicy.newBuilder()
                .addPolicies(LoadBalancingPolicy.Policy.newBuilder().setTypedExtensionConfig(
                    TypedExtensionConfig.newBuilder().setName("envoy.load_balancing_policies.round_robin"))))),
            "load_balancing_policy.policies[0].typed_extension_config.typed_config", "any.required"),
        row("string.well_known_regex (strict) in a map value's Any: override_auto_sni_header",
            editHttpOptions(o -> o.setUpstreamHttpProtocolOptions(UpstreamHttpProtocolOptions.newBuilder()
                .setOverrideAutoSniHeader("x sni"))),
            IN_HTTP_OPTIONS + ".upstream_http_protocol_options.override_auto_sni_header",
            "string.well_known_regex"),
        row("oneof.required in a map value's Any: HttpProtocolOptions.upstream_protocol_options",
            editHttpOptions(HttpProtocolOptions.Builder::clearExplicitHttpConfig),
            IN_HTTP_OPTIONS + ".upstream_protocol_options", "oneof.required"),
        row("duration.required: HealthCheck.timeout", editHealthCheck(HealthCheck.Builder::clearTimeout),
            "health_checks[0].timeout", "duration.required"),
        row("message.required on a wrapper: HealthCheck.healthy_threshold",
            editHealthCheck(HealthCheck.Builder::clearHealthyThreshold),
            "health_checks[0].healthy_threshold", "message.required"),
        row("enum.not_in: HttpHealthCheck.method = CONNECT", editHealthCheck(h -> h.setHttpHealthCheck(
                h.getHttpHealthCheck().toBuilder().setMethod(RequestMethod.CONNECT))),
            "health_checks[0].http_health_check.method", "enum.not_in"),
        row("oneof.required: HealthCheck.health_checker",
            editHealthCheck(HealthCheck.Builder::clearHttpHealthCheck),
            "health_checks[0].health_checker", "oneof.required"),

        // ClusterLoadAssignment
        row("string.min_len: ClusterLoadAssignment.cluster_name",
            loadAssignment().toBuilder().setClusterName("").build(), "cluster_name", "string.min_len"),
        row("uint32.lte: endpoint port", editLocality(l -> l.setLbEndpoints(0,
                lbEndpoint("10.0.0.1", HealthStatus.HEALTHY).toBuilder().setEndpoint(
                    Endpoint.newBuilder().setAddress(address("10.0.0.1", 70_000))))),
            "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value", "uint32.lte"),
        row("uint32.gte on a wrapper: LocalityLbEndpoints.load_balancing_weight = 0",
            editLocality(l -> l.setLoadBalancingWeight(UInt32Value.of(0))),
            "endpoints[0].load_balancing_weight", "uint32.gte"),
        row("uint32.lte on a scalar: LocalityLbEndpoints.priority",
            editLocality(l -> l.setPriority(129)), "endpoints[0].priority", "uint32.lte"),

        // RouteConfiguration
        row("repeated.min_items: WeightedCluster.clusters", editRoute(0, r -> r.setRoute(
                r.getRoute().toBuilder().setWeightedClusters(WeightedCluster.getDefaultInstance()))),
            WEIGHTED_ROUTE + ".route.weighted_clusters.clusters", "repeated.min_items"),
        row("oneof.required: RouteAction.cluster_specifier", editRoute(1, r -> r.setRoute(
                r.getRoute().toBuilder().clearCluster())),
            CLUSTER_ROUTE + ".route.cluster_specifier", "oneof.required"),
        row("string.min_len on a set oneof member: RouteAction.cluster", editRoute(1, r -> r.setRoute(
                r.getRoute().toBuilder().setCluster(""))),
            CLUSTER_ROUTE + ".route.cluster", "string.min_len"),
        row("message.required: Route.match", editRoute(0, Route.Builder::clearMatch),
            WEIGHTED_ROUTE + ".match", "message.required"),
        row("oneof.required: Route.action", editRoute(0, Route.Builder::clearRoute),
            WEIGHTED_ROUTE + ".action", "oneof.required"),
        row("string.well_known_regex: HeaderMatcher.name with a newline", editRoute(0, r -> r.setMatch(
                r.getMatch().toBuilder().setHeaders(0, r.getMatch().getHeaders(0).toBuilder()
                    .setName("x-canary\n")))),
            WEIGHTED_ROUTE + ".match.headers[0].name", "string.well_known_regex"),
        row("string.well_known_regex: request_headers_to_add key with CR LF",
            editHeader(h -> h.setKey("x-ebb\r\nx-evil")),
            VHOST + ".request_headers_to_add[0].header.key", "string.well_known_regex"),
        row("string.well_known_regex: request_headers_to_add value with a newline",
            editHeader(h -> h.setValue("1\nx-evil: 1")),
            VHOST + ".request_headers_to_add[0].header.value", "string.well_known_regex"),
        row("string.max_bytes: HeaderValue.value", editHeader(h -> h.setValue(big)),
            VHOST + ".request_headers_to_add[0].header.value", "string.max_bytes"),
        row("bytes.max_len: HeaderValue.raw_value", editHeader(h -> h.setValue("")
                .setRawValue(ByteString.copyFromUtf8(big))),
            VHOST + ".request_headers_to_add[0].header.raw_value", "bytes.max_len"),
        row("message.required: HeaderValueOption.header", editVhost(vh -> vh.setRequestHeadersToAdd(0,
                HeaderValueOption.getDefaultInstance())),
            VHOST + ".request_headers_to_add[0].header", "message.required"),
        row("repeated.max_items: VirtualHost.request_headers_to_add", editVhost(vh -> vh
                .clearRequestHeadersToAdd().addAllRequestHeadersToAdd(tooManyHeaders)),
            VHOST + ".request_headers_to_add", "repeated.max_items"),
        row("repeated.min_items: VirtualHost.domains", editVhost(VirtualHost.Builder::clearDomains),
            VHOST + ".domains", "repeated.min_items"),
        row("repeated.items.string.well_known_regex: VirtualHost.domains",
            editVhost(vh -> vh.setDomains(1, "shop.example.com\n")),
            VHOST + ".domains[1]", "repeated.items.string.well_known_regex"),
        row("string.min_len: VirtualHost.name", editVhost(vh -> vh.setName("")),
            VHOST + ".name", "string.min_len"),
        row("repeated.items.string.min_len: Route.request_headers_to_remove",
            editRoute(0, r -> r.addRequestHeadersToRemove("x-internal").addRequestHeadersToRemove("")),
            WEIGHTED_ROUTE + ".request_headers_to_remove[1]", "repeated.items.string.min_len"),
        row("string.pattern: RouteMatch.path_separated_prefix", editRoute(0, r -> r.setMatch(
                r.getMatch().toBuilder().setPathSeparatedPrefix("/checkout/"))),
            WEIGHTED_ROUTE + ".match.path_separated_prefix", "string.pattern"),
        row("repeated.unique: InternalRedirectPolicy.response_headers_to_copy",
            editRoute(1, r -> r.setRoute(r.getRoute().toBuilder().setInternalRedirectPolicy(
                InternalRedirectPolicy.newBuilder().addResponseHeadersToCopy("x-a")
                    .addResponseHeadersToCopy("x-b").addResponseHeadersToCopy("x-a")))),
            CLUSTER_ROUTE + ".route.internal_redirect_policy.response_headers_to_copy[2]",
            "repeated.unique"),

        // smaller Envoy messages, for the rule kinds the resources above do not exercise
        row("bool.const: MatchPredicate.any_match = false",
            MatchPredicate.newBuilder().setAnyMatch(false).build(), "any_match", "bool.const"),
        row("bytes.min_len: GenericTextMatch.binary_match (set, empty)",
            HttpGenericBodyMatch.GenericTextMatch.newBuilder().setBinaryMatch(ByteString.EMPTY).build(),
            "binary_match", "bytes.min_len"),
        row("int32.gt at the proto3 default: PreviousPrioritiesConfig.update_frequency",
            PreviousPrioritiesConfig.getDefaultInstance(), "update_frequency", "int32.gt"),
        row("int64.gt at the proto3 default: max_active_downstream_connections",
            DownstreamConnectionsConfig.getDefaultInstance(), "max_active_downstream_connections",
            "int64.gt"),
        row("float.gte on a wrapper: ClientSideWeightedRoundRobin.error_utilization_penalty",
            ClientSideWeightedRoundRobin.newBuilder().setErrorUtilizationPenalty(FloatValue.of(-1f))
                .build(), "error_utilization_penalty", "float.gte"),
        row("map.min_pairs: MatchMap.map", Matcher.MatcherTree.MatchMap.getDefaultInstance(),
            "map", "map.min_pairs"),
        row("map.values.double.lte: OrcaLoadReport.utilization",
            OrcaLoadReport.newBuilder().putUtilization("cpu", 0.5).putUtilization("gpu", 1.5).build(),
            "utilization[\"gpu\"]", "map.values.double.lte"),
        row("string.max_len: api_key_auth KeySource.query",
            KeySource.newBuilder().setQuery("q".repeat(1_025)).build(), "query", "string.max_len"),
        row("string.min_bytes: v2 Cluster.name",
            io.envoyproxy.envoy.api.v2.Cluster.newBuilder()
                .setConnectTimeout(seconds(1)).build(), "name", "string.min_bytes"),
        row("repeated.items.enum.defined_only: HealthStatusSet.statuses",
            HealthStatusSet.newBuilder().addStatuses(HealthStatus.HEALTHY).addStatusesValue(99).build(),
            "statuses[1]", "repeated.items.enum.defined_only"),
        row("repeated.items.uint32.lt: Compressor uncompressible_response_codes",
            Compressor.ResponseDirectionConfig.newBuilder().addUncompressibleResponseCodes(600).build(),
            "uncompressible_response_codes[0]", "repeated.items.uint32.lt"),
        row("repeated.unique on uint32: Compressor uncompressible_response_codes",
            Compressor.ResponseDirectionConfig.newBuilder().addUncompressibleResponseCodes(206)
                .addUncompressibleResponseCodes(206).build(),
            "uncompressible_response_codes[1]", "repeated.unique"),
        row("string.well_known_regex (strict): CustomHeaderConfig.header_name",
            CustomHeaderConfig.newBuilder().setHeaderName("x real ip").build(),
            "header_name", "string.well_known_regex"),
        row("duration.lte: QuicProtocolOptions.idle_network_timeout",
            QuicProtocolOptions.newBuilder().setIdleNetworkTimeout(seconds(601)).build(),
            "idle_network_timeout", "duration.lte"));
  }

  private static Arguments row(String name, Message m, String path, String rule) {
    return Arguments.of(name, m, path, rule);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("envoyViolations")
  void envoyMessageBrokenInOnePlace(String name, Message m, String path, String rule) {
    assertThat(check(m)).extracting(Violation::path, Violation::rule).containsExactly(tuple(path, rule));
    assertThatThrownBy(() -> ProtoRules.assertValid("r", m)).isInstanceOf(AssertionError.class)
        .hasMessageContaining("r: " + path + ": " + rule + " (");
  }

  // ---------------------------------------------------------------------------------------------
  // Semantics worth a test of their own

  @Test
  void ignoreEmptySkipsTheRulesOnlyWhenTheValueIsEmpty() {
    UnaryOperator<RateLimit.HitsAddend.Builder> none = b -> b;
    java.util.function.Function<UnaryOperator<RateLimit.HitsAddend.Builder>, RouteConfiguration> withAddend =
        edit -> editVhost(vh -> vh.addRateLimits(RateLimit.newBuilder()
            .addActions(RateLimit.Action.newBuilder().setGenericKey(
                RateLimit.Action.GenericKey.newBuilder().setDescriptorValue("checkout")))
            .setHitsAddend(edit.apply(RateLimit.HitsAddend.newBuilder()))));
    String format = VHOST + ".rate_limits[0].hits_addend.format";

    // {prefix: "%", suffix: "%", ignore_empty: true}
    assertThat(check(withAddend.apply(none))).isEmpty();
    assertThat(check(withAddend.apply(b -> b.setFormat("%DYNAMIC_METADATA(x:y)%")))).isEmpty();
    assertThat(check(withAddend.apply(b -> b.setFormat("%DYNAMIC_METADATA(x:y)"))))
        .extracting(Violation::path, Violation::rule).containsExactly(tuple(format, "string.suffix"));
    assertThat(check(withAddend.apply(b -> b.setFormat("3"))))
        .extracting(Violation::path, Violation::rule)
        .containsExactly(tuple(format, "string.prefix"), tuple(format, "string.suffix"));

    // {well_known_regex: HTTP_HEADER_NAME, ignore_empty: true}
    assertThat(check(editHttpOptions(o -> o.setUpstreamHttpProtocolOptions(
        UpstreamHttpProtocolOptions.newBuilder().setOverrideAutoSniHeader(""))))).isEmpty();
    assertThat(check(editHttpOptions(o -> o.setUpstreamHttpProtocolOptions(
        UpstreamHttpProtocolOptions.newBuilder().setOverrideAutoSniHeader("x-sni"))))).isEmpty();
  }

  @Test
  void headerRulesFollowPgvRegexesIncludingTheirLooseness() {
    // strict: false (most Envoy header fields) only rejects NUL, CR and LF
    assertThat(check(editRoute(0, r -> r.setMatch(r.getMatch().toBuilder().setHeaders(0,
        r.getMatch().getHeaders(0).toBuilder().setName("x canary: (anything)")))))).isEmpty();
    assertThat(check(editHeader(h -> h.setKey("x-ebb\u0000")))).extracting(Violation::rule)
        .containsExactly("string.well_known_regex");
    // strict HTTP_HEADER_NAME: token characters, an optional leading ':'; PGV's class contains the
    // range "+-." so ',' passes too
    for (String ok : List.of("x-real-ip", ":authority", "x,y", "X_Y.z~!")) {
      assertThat(check(CustomHeaderConfig.newBuilder().setHeaderName(ok).build())).as(ok).isEmpty();
    }
    for (String bad : List.of("x real", "x:y", "x\"", "ä", "::x")) {
      assertThat(check(CustomHeaderConfig.newBuilder().setHeaderName(bad).build())).as(bad)
          .extracting(Violation::rule).containsExactly("string.well_known_regex");
    }
    // strict HTTP_HEADER_VALUE allows horizontal tab, no other control character
    HealthCheck.HttpHealthCheck.Builder http = HealthCheck.HttpHealthCheck.newBuilder().setPath("/healthz");
    assertThat(check(http.clone().setHost("a\tb").build())).isEmpty();
    assertThat(check(http.clone().setHost("a\u0001b").build())).extracting(Violation::path, Violation::rule)
        .containsExactly(tuple("host", "string.well_known_regex"));
  }

  @Test
  void unsetWrappersAndUnsetOneofMembersAreNotChecked() {
    // per_upstream_preconnect_ratio is [1, 3]; unset means "use the default"
    assertThat(check(editCluster(c -> c.setPreconnectPolicy(Cluster.PreconnectPolicy.getDefaultInstance()))))
        .isEmpty();
    // the weighted route has no RouteAction.cluster (min_len 1): it is a oneof member that is not set
    assertThat(routes().getVirtualHosts(0).getRoutes(0).getRoute().hasCluster()).isFalse();
    assertThat(check(routes())).isEmpty();
  }

  @Test
  @SuppressWarnings("deprecation") // KeyValueAppend.entry, the one field with message.skip
  void messageSkipStopsTheDescent() {
    KeyValue badEntry = KeyValue.newBuilder().setKey("").build();
    assertThat(check(badEntry)).extracting(Violation::rule).containsExactly("string.min_len");
    // KeyValueAppend.entry is [(validate.rules).message = {skip: true}]
    assertThat(check(KeyValueAppend.newBuilder().setEntry(badEntry).build())).isEmpty();
  }

  @Test
  void anyValuesAreCheckedWhereverTheyAppear() {
    Listener bad = editHcm(h -> h.setStatPrefix("").setCodecTypeValue(7));
    // every violation inside the packed config, each path naming the hop through the Any
    assertThat(check(bad)).extracting(Violation::path)
        .containsExactly(IN_HCM + ".codec_type", IN_HCM + ".stat_prefix");
    // the root may be an Any as well
    assertThat(ProtoRules.checkAny("x", Any.newBuilder().setTypeUrl("example.com/nope").build()))
        .containsExactly(new Violation("x", "", "any.unknown_type",
            "type URL \"example.com/nope\" is not in the type registry"));
    // an Any that is set but empty has no type either
    assertThat(check(TypedExtensionConfig.newBuilder().setName("x")
        .setTypedConfig(Any.getDefaultInstance()).build()))
        .extracting(Violation::path, Violation::rule).containsExactly(tuple("typed_config", "any.unknown_type"));
    // a well-formed packed extension passes
    assertThat(check(TypedExtensionConfig.newBuilder().setName("envoy.load_balancing_policies.round_robin")
        .setTypedConfig(Any.pack(RoundRobin.getDefaultInstance())).build())).isEmpty();
  }

  @Test
  void assertValidListsEveryViolation() {
    Listener bad = editHcm(h -> h.setStatPrefix("").setCodecTypeValue(99));
    assertThatThrownBy(() -> ProtoRules.assertValid("ingress", bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith("2 PGV violation(s) in ingress:")
        .hasMessageContaining("ingress: " + IN_HCM + ".codec_type: enum.defined_only (99 is not a defined value of "
            + HCM_TYPE + ".CodecType)")
        .hasMessageContaining("ingress: " + IN_HCM + ".stat_prefix: string.min_len (");
    assertThatThrownBy(() -> ProtoRules.assertValidAny("ingress", Any.pack(bad)))
        .isInstanceOf(AssertionError.class).hasMessageStartingWith("2 PGV violation(s)");
    assertThat(new Violation("r", "", "any.unknown_type", "d").toString())
        .isEqualTo("r: <root>: any.unknown_type (d)");
  }

  @Test
  void wellKnownFormatsFollowPgvCpp() {
    assertThat(ProtoRules.isIpv6("::")).isTrue();
    assertThat(ProtoRules.isIpv6("::ffff:10.0.0.1")).isTrue();
    assertThat(ProtoRules.isIpv6("1:2:3:4:5:6:7::")).isTrue();
    assertThat(ProtoRules.isIpv6("1:2:3:4:5:6:7:8")).isTrue();
    assertThat(ProtoRules.isIpv6("1:2:3:4:5:6:7:8:9")).isFalse();
    assertThat(ProtoRules.isIpv6("1:2:3:4:5:6:7:8::")).isFalse();
    assertThat(ProtoRules.isIpv6(":::")).isFalse();
    assertThat(ProtoRules.isIpv6("1::2::3")).isFalse();
    assertThat(ProtoRules.isIpv6("[::1]")).isFalse();
    assertThat(ProtoRules.isIpv6("fe80::1%eth0")).isFalse();
    assertThat(ProtoRules.isIpv6("12345::")).isFalse();
    assertThat(ProtoRules.isIpv4("10.0.0.1")).isTrue();
    assertThat(ProtoRules.isIpv4("010.0.0.1")).isFalse();
    assertThat(ProtoRules.isIpv4("10.0.0")).isFalse();
    assertThat(ProtoRules.isIpv4("10.0.0.256")).isFalse();
    // pgv::IsHostname: the empty string and a trailing dot pass, empty labels do not
    assertThat(ProtoRules.isHostname("")).isTrue();
    assertThat(ProtoRules.isHostname("example.com.")).isTrue();
    assertThat(ProtoRules.isHostname("example..com")).isFalse();
    assertThat(ProtoRules.isHostname(".example.com")).isFalse();
    assertThat(ProtoRules.isHostname("a".repeat(64) + ".com")).isFalse();
    assertThat(ProtoRules.isHostname("-a.com")).isFalse();
    assertThat(ProtoRules.re2ToJava("(?P<x>[[:digit:]_][[:^alpha:]])"))
        .isEqualTo("(?<x>[\\p{Digit}_][\\P{Alpha}])");
    assertThat(ProtoRules.re2("^[[:^alpha:]]+$").matcher("1-2").matches()).isTrue();
    assertThat(ProtoRules.re2("^[[:^alpha:]]+$").matcher("1a").matches()).isFalse();
  }

  @Test
  void disabledAndIgnoredMessagesAreNotChecked() throws Exception {
    FieldRules minLen3 = FieldRules.newBuilder().setString(StringRules.newBuilder().setMinLen(3)).build();
    for (var option : List.of(Validate.disabled, Validate.ignored)) {
      Descriptor d = Synthetic.message(Type.TYPE_STRING, null, Label.LABEL_OPTIONAL,
          FieldOptions.newBuilder().setExtension(Validate.rules, minLen3).build(),
          MessageOptions.newBuilder().setExtension(option, true).build());
      assertThat(check(DynamicMessage.newBuilder(d).setField(d.findFieldByName("v"), "a").build()))
          .as(option.getDescriptor().getName()).isEmpty();
    }
    Descriptor enabled = Synthetic.message(Type.TYPE_STRING, null, Label.LABEL_OPTIONAL,
        FieldOptions.newBuilder().setExtension(Validate.rules, minLen3).build(), null);
    assertThat(check(DynamicMessage.newBuilder(enabled).setField(enabled.findFieldByName("v"), "a").build()))
        .hasSize(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Every other rule kind of validate.proto, on a synthetic one-field proto3 message

  record Case(String name, Type type, String typeName, Label label, FieldRules rules, Object good,
      Object bad, String path, String rule) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static final Object UNSET = new Object() {
    @Override
    public String toString() {
      return "<unset>";
    }
  };

  static Case c(String rule, Type type, FieldRules rules, Object good, Object bad) {
    return new Case(rule, type, null, Label.LABEL_OPTIONAL, rules, good, bad, "v", rule);
  }

  static Case msg(String rule, String typeName, FieldRules rules, Object good, Object bad) {
    return new Case(rule, Type.TYPE_MESSAGE, typeName, Label.LABEL_OPTIONAL, rules, good, bad, "v", rule);
  }

  static Case list(String rule, Type type, FieldRules rules, Object good, Object bad, String path) {
    return new Case(rule, type, null, Label.LABEL_REPEATED, rules, good, bad, path, rule);
  }

  static Case map(String rule, FieldRules rules, Object good, Object bad, String path) {
    return new Case(rule, null, null, Label.LABEL_REPEATED, rules, good, bad, path, rule);
  }

  static FieldRules str(StringRules.Builder b) {
    return FieldRules.newBuilder().setString(b).build();
  }

  static FieldRules bytes(BytesRules.Builder b) {
    return FieldRules.newBuilder().setBytes(b).build();
  }

  static FieldRules dur(DurationRules.Builder b) {
    return FieldRules.newBuilder().setDuration(b).build();
  }

  static FieldRules ts(TimestampRules.Builder b) {
    return FieldRules.newBuilder().setTimestamp(b).build();
  }

  static FieldRules rep(RepeatedRules.Builder b) {
    return FieldRules.newBuilder().setRepeated(b).build();
  }

  static FieldRules mapRules(MapRules.Builder b) {
    return FieldRules.newBuilder().setMap(b).build();
  }

  static ByteString b(int... bytes) {
    byte[] out = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      out[i] = (byte) bytes[i];
    }
    return ByteString.copyFrom(out);
  }

  static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  static Duration d(long seconds, int nanos) {
    return Duration.newBuilder().setSeconds(seconds).setNanos(nanos).build();
  }

  static Timestamp at(Instant i) {
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  static Stream<Case> syntheticCases() {
    Instant now = Instant.now();
    Timestamp t0 = at(Instant.parse("2024-01-01T00:00:00Z"));
    Timestamp t1 = at(Instant.parse("2025-01-01T00:00:00Z"));
    Timestamp t2 = at(Instant.parse("2026-01-01T00:00:00Z"));
    String any = "google.protobuf.Any";
    String durationUrl = "type.googleapis.com/google.protobuf.Duration";
    return Stream.of(
        // string
        c("string.const", Type.TYPE_STRING, str(StringRules.newBuilder().setConst("abc")), "abc", "abd"),
        c("string.len", Type.TYPE_STRING, str(StringRules.newBuilder().setLen(3)), "äbc", "ab"),
        c("string.min_len", Type.TYPE_STRING, str(StringRules.newBuilder().setMinLen(3)), "日本語", "ab"),
        c("string.max_len", Type.TYPE_STRING, str(StringRules.newBuilder().setMaxLen(2)), "日本", "abc"),
        c("string.len_bytes", Type.TYPE_STRING, str(StringRules.newBuilder().setLenBytes(4)), "äbc", "abc"),
        c("string.min_bytes", Type.TYPE_STRING, str(StringRules.newBuilder().setMinBytes(4)), "äbc", "abc"),
        c("string.max_bytes", Type.TYPE_STRING, str(StringRules.newBuilder().setMaxBytes(3)), "abc", "äbc"),
        c("string.pattern", Type.TYPE_STRING, str(StringRules.newBuilder().setPattern("[a-z]+")), "abc", "abc1"),
        c("string.pattern", Type.TYPE_STRING, str(StringRules.newBuilder().setPattern("[[:digit:]]+")),
            "123", "12a"),
        c("string.prefix", Type.TYPE_STRING, str(StringRules.newBuilder().setPrefix("foo")), "foobar", "barfoo"),
        c("string.suffix", Type.TYPE_STRING, str(StringRules.newBuilder().setSuffix("bar")), "foobar", "barfoo"),
        c("string.contains", Type.TYPE_STRING, str(StringRules.newBuilder().setContains("oo")), "foo", "bar"),
        c("string.not_contains", Type.TYPE_STRING, str(StringRules.newBuilder().setNotContains("oo")),
            "bar", "foo"),
        c("string.in", Type.TYPE_STRING, str(StringRules.newBuilder().addIn("a").addIn("b")), "b", "c"),
        c("string.not_in", Type.TYPE_STRING, str(StringRules.newBuilder().addNotIn("a")), "c", "a"),
        c("string.email", Type.TYPE_STRING, str(StringRules.newBuilder().setEmail(true)),
            "ebb@example.com", "ebb.example.com"),
        c("string.hostname", Type.TYPE_STRING, str(StringRules.newBuilder().setHostname(true)),
            "shop.example.com", "shop_1.example.com"),
        c("string.ip", Type.TYPE_STRING, str(StringRules.newBuilder().setIp(true)), "::1", "1.2.3"),
        c("string.ipv4", Type.TYPE_STRING, str(StringRules.newBuilder().setIpv4(true)), "10.0.0.1", "::1"),
        c("string.ipv6", Type.TYPE_STRING, str(StringRules.newBuilder().setIpv6(true)),
            "2001:db8::1", "10.0.0.1"),
        c("string.uri", Type.TYPE_STRING, str(StringRules.newBuilder().setUri(true)),
            "https://example.com/x", "/relative"),
        c("string.uri_ref", Type.TYPE_STRING, str(StringRules.newBuilder().setUriRef(true)),
            "/relative?q=1", "http://exa mple.com"),
        c("string.address", Type.TYPE_STRING, str(StringRules.newBuilder().setAddress(true)),
            "10.0.0.1", "shop_1.example.com"),
        c("string.uuid", Type.TYPE_STRING, str(StringRules.newBuilder().setUuid(true)),
            "123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"),
        c("string.well_known_regex", Type.TYPE_STRING,
            str(StringRules.newBuilder().setWellKnownRegex(KnownRegex.HTTP_HEADER_VALUE)), "a\tb", "a\u0001b"),
        c("string.min_len", Type.TYPE_STRING, str(StringRules.newBuilder().setMinLen(3).setIgnoreEmpty(true)),
            "", "ab"),
        // bytes
        c("bytes.const", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setConst(b(1, 2))), b(1, 2), b(1)),
        c("bytes.len", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setLen(2)), b(1, 2), b(1)),
        c("bytes.min_len", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setMinLen(2)), b(1, 2), b(1)),
        c("bytes.max_len", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setMaxLen(1)), b(1), b(1, 2)),
        c("bytes.pattern", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setPattern("^[a-z]+$")),
            b("abc"), b("ab1")),
        c("bytes.prefix", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setPrefix(b(1))), b(1, 2), b(2, 1)),
        c("bytes.suffix", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setSuffix(b(1))), b(2, 1), b(1, 2)),
        c("bytes.contains", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setContains(b(2, 3))),
            b(1, 2, 3), b(1, 3, 2)),
        c("bytes.in", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().addIn(b(1)).addIn(b(2))), b(2), b(3)),
        c("bytes.not_in", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().addNotIn(b(1))), b(2), b(1)),
        c("bytes.ip", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setIp(true)), b(10, 0, 0, 1), b(10, 0, 0)),
        c("bytes.ipv4", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setIpv4(true)),
            b(10, 0, 0, 1), b(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)),
        c("bytes.ipv6", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setIpv6(true)),
            b(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), b(10, 0, 0, 1)),
        c("bytes.min_len", Type.TYPE_BYTES, bytes(BytesRules.newBuilder().setMinLen(2).setIgnoreEmpty(true)),
            ByteString.EMPTY, b(1)),
        // numbers
        c("int32.const", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setConst(5))
            .build(), 5, 6),
        c("int32.lt", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setLt(10))
            .build(), 9, 10),
        c("int32.lte", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setLte(10))
            .build(), 10, 11),
        c("int32.gt", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setGt(-1))
            .build(), 0, -1),
        c("int32.gte", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setGte(-1))
            .build(), -1, -2),
        c("int32.lt", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setGt(0)
            .setLt(10)).build(), 9, 10),
        c("int32.lt,gt", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setGt(10)
            .setLt(5)).build(), 11, 7),
        c("int32.lte,gte", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setGte(10)
            .setLte(5)).build(), 5, 7),
        c("int32.in", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().addIn(1)
            .addIn(2)).build(), 2, 3),
        c("int32.not_in", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder()
            .addNotIn(1)).build(), 0, 1),
        c("int32.gt", Type.TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setGt(10)
            .setIgnoreEmpty(true)).build(), 0, 5),
        c("uint32.gt", Type.TYPE_UINT32, FieldRules.newBuilder().setUint32(UInt32Rules.newBuilder()
            .setGt(0xFFFF_FFFE)).build(), 0xFFFF_FFFF, 1),
        c("uint64.gt", Type.TYPE_UINT64, FieldRules.newBuilder().setUint64(UInt64Rules.newBuilder()
            .setGt(Long.MIN_VALUE)).build(), -1L, Long.MAX_VALUE),
        c("sint32.gte", Type.TYPE_SINT32, FieldRules.newBuilder().setSint32(SInt32Rules.newBuilder()
            .setGte(-5)).build(), -5, -6),
        c("sint64.lt", Type.TYPE_SINT64, FieldRules.newBuilder().setSint64(SInt64Rules.newBuilder()
            .setLt(-1)).build(), -2L, -1L),
        c("fixed32.lte", Type.TYPE_FIXED32, FieldRules.newBuilder().setFixed32(Fixed32Rules.newBuilder()
            .setLte(10)).build(), 10, 11),
        c("fixed64.gt", Type.TYPE_FIXED64, FieldRules.newBuilder().setFixed64(Fixed64Rules.newBuilder()
            .setGt(10)).build(), 11L, 10L),
        c("sfixed32.const", Type.TYPE_SFIXED32, FieldRules.newBuilder().setSfixed32(SFixed32Rules.newBuilder()
            .setConst(-3)).build(), -3, 3),
        c("sfixed64.not_in", Type.TYPE_SFIXED64, FieldRules.newBuilder().setSfixed64(SFixed64Rules.newBuilder()
            .addNotIn(-1)).build(), 0L, -1L),
        c("float.lt", Type.TYPE_FLOAT, FieldRules.newBuilder().setFloat(FloatRules.newBuilder().setLt(1.5f))
            .build(), 1.4f, 1.5f),
        c("double.lte", Type.TYPE_DOUBLE, FieldRules.newBuilder().setDouble(DoubleRules.newBuilder().setGte(0)
            .setLte(1)).build(), 1.0, 1.5),
        // like C++, a NaN compares false: it passes bounds but fails const
        c("double.const", Type.TYPE_DOUBLE, FieldRules.newBuilder().setDouble(DoubleRules.newBuilder()
            .setConst(1)).build(), 1.0, Double.NaN),
        c("double.gt", Type.TYPE_DOUBLE, FieldRules.newBuilder().setDouble(DoubleRules.newBuilder().setGt(0))
            .build(), Double.NaN, -0.5),
        // a wrapper: the rule applies to the wrapped value, and only when the wrapper is set
        msg("uint32.lte", "google.protobuf.UInt32Value", FieldRules.newBuilder().setUint32(UInt32Rules
            .newBuilder().setLte(10)).build(), UInt32Value.of(10), UInt32Value.of(11)),
        msg("uint32.lte", "google.protobuf.UInt32Value", FieldRules.newBuilder().setUint32(UInt32Rules
            .newBuilder().setLte(10)).build(), UNSET, UInt32Value.of(11)),
        msg("message.required", "google.protobuf.UInt32Value", FieldRules.newBuilder().setUint32(UInt32Rules
            .newBuilder().setLte(10)).setMessage(MessageRules.newBuilder().setRequired(true)).build(),
            UInt32Value.of(0), UNSET),
        // bool, enum
        c("bool.const", Type.TYPE_BOOL, FieldRules.newBuilder().setBool(BoolRules.newBuilder().setConst(true))
            .build(), true, false),
        c("enum.const", Type.TYPE_ENUM, FieldRules.newBuilder().setEnum(EnumRules.newBuilder().setConst(1))
            .build(), 1, 2),
        c("enum.in", Type.TYPE_ENUM, FieldRules.newBuilder().setEnum(EnumRules.newBuilder().addIn(1).addIn(2))
            .build(), 2, 0),
        c("enum.not_in", Type.TYPE_ENUM, FieldRules.newBuilder().setEnum(EnumRules.newBuilder().addNotIn(0))
            .build(), 1, 0),
        c("enum.defined_only", Type.TYPE_ENUM, FieldRules.newBuilder().setEnum(EnumRules.newBuilder()
            .setDefinedOnly(true)).build(), 2, 7),
        // message, Any
        msg("message.required", "google.protobuf.Struct", FieldRules.newBuilder()
            .setMessage(MessageRules.newBuilder().setRequired(true)).build(), Struct.getDefaultInstance(), UNSET),
        msg("any.required", any, FieldRules.newBuilder().setAny(AnyRules.newBuilder().setRequired(true))
            .build(), Any.pack(seconds(1)), UNSET),
        msg("any.in", any, FieldRules.newBuilder().setAny(AnyRules.newBuilder().addIn(durationUrl)).build(),
            Any.pack(seconds(1)), Any.pack(t0)),
        msg("any.not_in", any, FieldRules.newBuilder().setAny(AnyRules.newBuilder().addNotIn(durationUrl))
            .build(), Any.pack(t0), Any.pack(seconds(1))),
        // Duration
        msg("duration.required", "google.protobuf.Duration", dur(DurationRules.newBuilder().setRequired(true)),
            seconds(0), UNSET),
        msg("duration.const", "google.protobuf.Duration", dur(DurationRules.newBuilder().setConst(seconds(1))),
            seconds(1), d(1, 1)),
        msg("duration.lt", "google.protobuf.Duration", dur(DurationRules.newBuilder().setLt(seconds(1))),
            d(0, 999_999_999), seconds(1)),
        msg("duration.lte", "google.protobuf.Duration", dur(DurationRules.newBuilder().setLte(seconds(1))),
            seconds(1), d(1, 1)),
        msg("duration.gt", "google.protobuf.Duration", dur(DurationRules.newBuilder().setGt(d(-1, 0))),
            d(0, -999_999_999), d(-1, 0)),
        msg("duration.gte", "google.protobuf.Duration", dur(DurationRules.newBuilder().setGte(seconds(1))),
            seconds(1), d(0, 999_999_999)),
        msg("duration.lt,gt", "google.protobuf.Duration", dur(DurationRules.newBuilder().setGt(seconds(10))
            .setLt(seconds(5))), seconds(11), seconds(7)),
        msg("duration.in", "google.protobuf.Duration", dur(DurationRules.newBuilder().addIn(seconds(1))
            .addIn(seconds(2))), seconds(2), seconds(3)),
        msg("duration.not_in", "google.protobuf.Duration", dur(DurationRules.newBuilder()
            .addNotIn(seconds(1))), seconds(2), seconds(1)),
        // Timestamp
        msg("timestamp.required", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setRequired(true)),
            t0, UNSET),
        msg("timestamp.const", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setConst(t1)), t1, t2),
        msg("timestamp.lt", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setLt(t1)), t0, t1),
        msg("timestamp.lte", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setLte(t1)), t1, t2),
        msg("timestamp.gt", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setGt(t1)), t2, t1),
        msg("timestamp.gte", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setGte(t1)), t1, t0),
        msg("timestamp.lt_now", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setLtNow(true)),
            t0, at(now.plusSeconds(3600))),
        msg("timestamp.gt_now", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setGtNow(true)),
            at(now.plusSeconds(3600)), t0),
        msg("timestamp.within", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder()
            .setWithin(seconds(3600))), at(now), at(now.minusSeconds(7200))),
        msg("timestamp.lt_now", "google.protobuf.Timestamp", ts(TimestampRules.newBuilder().setLtNow(true)
            .setWithin(seconds(3600))), at(now.minusSeconds(60)), at(now.minusSeconds(7200))),
        // repeated
        list("repeated.min_items", Type.TYPE_STRING, rep(RepeatedRules.newBuilder().setMinItems(2)),
            List.of("a", "b"), List.of("a"), "v"),
        list("repeated.max_items", Type.TYPE_STRING, rep(RepeatedRules.newBuilder().setMaxItems(1)),
            List.of("a"), List.of("a", "b"), "v"),
        list("repeated.unique", Type.TYPE_STRING, rep(RepeatedRules.newBuilder().setUnique(true)),
            List.of("a", "b"), List.of("a", "b", "a"), "v[2]"),
        list("repeated.unique", Type.TYPE_DOUBLE, rep(RepeatedRules.newBuilder().setUnique(true)),
            List.of(0.5, 1.5), List.of(0.0, -0.0), "v[1]"),
        list("repeated.items.string.min_len", Type.TYPE_STRING, rep(RepeatedRules.newBuilder()
            .setItems(str(StringRules.newBuilder().setMinLen(2)))), List.of("ab"), List.of("ab", "a"), "v[1]"),
        list("repeated.items.enum.in", Type.TYPE_ENUM, rep(RepeatedRules.newBuilder()
            .setItems(FieldRules.newBuilder().setEnum(EnumRules.newBuilder().addIn(1)))), List.of(1),
            List.of(1, 2), "v[1]"),
        list("repeated.min_items", Type.TYPE_STRING, rep(RepeatedRules.newBuilder().setMinItems(2)
            .setIgnoreEmpty(true)), List.of(), List.of("a"), "v"),
        // map<string, string>
        map("map.min_pairs", mapRules(MapRules.newBuilder().setMinPairs(2)), Map.of("a", "1", "b", "2"),
            Map.of("a", "1"), "v"),
        map("map.max_pairs", mapRules(MapRules.newBuilder().setMaxPairs(1)), Map.of("a", "1"),
            Map.of("a", "1", "b", "2"), "v"),
        map("map.keys.string.min_len", mapRules(MapRules.newBuilder().setKeys(str(StringRules.newBuilder()
            .setMinLen(2)))), Map.of("ab", "1"), Map.of("a", "1"), "v[\"a\"]"),
        map("map.values.string.max_len", mapRules(MapRules.newBuilder().setValues(str(StringRules.newBuilder()
            .setMaxLen(1)))), Map.of("a", "1"), Map.of("a", "12"), "v[\"a\"]"),
        map("map.min_pairs", mapRules(MapRules.newBuilder().setMinPairs(2).setIgnoreEmpty(true)),
            Map.of(), Map.of("a", "1"), "v"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("syntheticCases")
  void everyRuleKindOnASyntheticMessage(Case c) throws Exception {
    FieldOptions options = c.rules() == null ? null
        : FieldOptions.newBuilder().setExtension(Validate.rules, c.rules()).build();
    Descriptor d = c.type() == null
        ? Synthetic.map(options)
        : Synthetic.message(c.type(), c.typeName(), c.label(), options, null);

    assertThat(check(Synthetic.with(d, c.good()))).as("good value %s", c.good()).isEmpty();
    assertThat(check(Synthetic.with(d, c.bad()))).as("bad value %s", c.bad())
        .extracting(Violation::path, Violation::rule).containsExactly(tuple(c.path(), c.rule()));
  }

  /** Builds one-field proto3 messages at run time; see {@link #everyRuleKindOnASyntheticMessage}. */
  static final class Synthetic {
    private static final AtomicInteger FILES = new AtomicInteger();

    static Descriptor message(Type type, String typeName, Label label, FieldOptions field,
        MessageOptions message) throws DescriptorValidationException {
      FieldDescriptorProto.Builder f = FieldDescriptorProto.newBuilder()
          .setName("v").setNumber(1).setType(type).setLabel(label);
      if (typeName != null) {
        f.setTypeName("." + typeName);
      }
      if (type == Type.TYPE_ENUM) {
        f.setTypeName(".ebb.test.Color");
      }
      if (field != null) {
        f.setOptions(field);
      }
      DescriptorProto.Builder m = DescriptorProto.newBuilder().setName("M").addField(f);
      if (message != null) {
        m.setOptions(message);
      }
      return build(m);
    }

    static Descriptor map(FieldOptions field) throws DescriptorValidationException {
      DescriptorProto entry = DescriptorProto.newBuilder().setName("VEntry")
          .setOptions(MessageOptions.newBuilder().setMapEntry(true))
          .addField(FieldDescriptorProto.newBuilder().setName("key").setNumber(1)
              .setType(Type.TYPE_STRING).setLabel(Label.LABEL_OPTIONAL))
          .addField(FieldDescriptorProto.newBuilder().setName("value").setNumber(2)
              .setType(Type.TYPE_STRING).setLabel(Label.LABEL_OPTIONAL))
          .build();
      FieldDescriptorProto.Builder f = FieldDescriptorProto.newBuilder().setName("v").setNumber(1)
          .setType(Type.TYPE_MESSAGE).setTypeName(".ebb.test.M.VEntry").setLabel(Label.LABEL_REPEATED);
      if (field != null) {
        f.setOptions(field);
      }
      return build(DescriptorProto.newBuilder().setName("M").addNestedType(entry).addField(f));
    }

    private static Descriptor build(DescriptorProto.Builder m) throws DescriptorValidationException {
      FileDescriptorProto file = FileDescriptorProto.newBuilder()
          .setName("ebb/test/rules_" + FILES.incrementAndGet() + ".proto")
          .setPackage("ebb.test").setSyntax("proto3")
          .addDependency("validate/validate.proto")
          .addDependency("google/protobuf/any.proto")
          .addDependency("google/protobuf/duration.proto")
          .addDependency("google/protobuf/timestamp.proto")
          .addDependency("google/protobuf/struct.proto")
          .addDependency("google/protobuf/wrappers.proto")
          .addEnumType(EnumDescriptorProto.newBuilder().setName("Color")
              .addValue(EnumValueDescriptorProto.newBuilder().setName("COLOR_UNSET").setNumber(0))
              .addValue(EnumValueDescriptorProto.newBuilder().setName("RED").setNumber(1))
              .addValue(EnumValueDescriptorProto.newBuilder().setName("GREEN").setNumber(2)))
          .addMessageType(m)
          .build();
      FileDescriptor built = FileDescriptor.buildFrom(file, new FileDescriptor[] {
          Validate.getDescriptor(), Any.getDescriptor().getFile(), Duration.getDescriptor().getFile(),
          Timestamp.getDescriptor().getFile(), Struct.getDescriptor().getFile(),
          UInt32Value.getDescriptor().getFile()});
      return built.findMessageTypeByName("M");
    }

    /** The message with field v set to value ({@link #UNSET} or null: left unset). */
    static Message with(Descriptor d, Object value) {
      DynamicMessage.Builder m = DynamicMessage.newBuilder(d);
      FieldDescriptor v = d.findFieldByName("v");
      if (value == null || value == UNSET) {
        return m.build();
      }
      if (value instanceof Map<?, ?> map) {
        Descriptor entry = v.getMessageType();
        new LinkedHashMap<>(map).forEach((key, val) -> m.addRepeatedField(v, DynamicMessage.newBuilder(entry)
            .setField(entry.findFieldByName("key"), key)
            .setField(entry.findFieldByName("value"), val).build()));
      } else if (value instanceof List<?> list) {
        list.forEach(item -> m.addRepeatedField(v, convert(v, item)));
      } else {
        m.setField(v, convert(v, value));
      }
      return m.build();
    }

    private static Object convert(FieldDescriptor f, Object value) {
      return f.getType() == FieldDescriptor.Type.ENUM
          ? f.getEnumType().findValueByNumberCreatingIfUnknown((Integer) value)
          : value;
    }
  }
}
