package dev.ebb.translate;

import static dev.ebb.translate.EnvoyTranslatorTest.NOW;
import static dev.ebb.translate.EnvoyTranslatorTest.parse;
import static dev.ebb.translate.EnvoyTranslatorTest.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.api.model.RouteScoping;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Res;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import dev.ebb.rollout.RolloutEngine;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** SPEC 5, {@code routeScoping: host}: scoped routes (SRDS) for Envoy nodes; protos compared as text. */
class ScopedRoutesTranslatorTest {
  static final ListenerSpec SCOPED = ListenerSpec.DEFAULT.withRouteScoping(RouteScoping.HOST);
  static final NodeGroup ENVOY = new NodeGroup(true, "edge");

  final EnvoyTranslator translator = EnvoyTranslatorTest.fresh();

  static Route route(String name, List<String> hosts, String pathPrefix, Rollout rollout) {
    return new Route(name, hosts, Protocol.WEBSOCKET, pathPrefix, "edge", rollout, Duration.ofMinutes(15),
        Duration.ofHours(1), Optional.empty());
  }

  static Route chat(int canaryBasisPoints) {
    return route("chat", List.of("chat.example.com", "www.chat.example.com"), "/",
        new Rollout("v1", Optional.of("v2"), canaryBasisPoints));
  }

  static final Route CHAT_API = new Route("chat-api", List.of("chat.example.com"), Protocol.GRPC, "/api/", "edge",
      Rollout.stableOnly("v2"), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty());

  static Model model(ListenerSpec listener, List<Route> routes) {
    return new Model(List.of(listener), routes, List.of(new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 8080))),
        new Backend("v2", List.of(Endpoint.ready("10.0.1.1", 8080)))));
  }

  Translation translate(Model m) {
    return translator.translate(RolloutEngine.desired(m, NOW));
  }

  static HttpConnectionManager hcm(Listener l) throws Exception {
    return l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
  }

  @Test
  void theConnectionManagerUsesScopedRoutesKeyedOnTheAuthorityHost() throws Exception {
    HttpConnectionManager hcm = hcm(translate(model(SCOPED, List.of(chat(0)))).envoyListeners().get(0).listener());

    HttpConnectionManager expected = parse("""
        scoped_routes {
          name: "edge"
          scope_key_builder {
            fragments {
              header_value_extractor { name: ":authority" element_separator: ":" index: 0 }
            }
          }
          rds_config_source { ads { } resource_api_version: V3 }
          scoped_rds { scoped_rds_config_source { ads { } resource_api_version: V3 } }
        }
        """, HttpConnectionManager.newBuilder());
    assertThat(text(hcm.getScopedRoutes())).isEqualTo(text(expected.getScopedRoutes()));
    assertThat(hcm.hasRds()).as("no listener-wide RouteConfiguration").isFalse();
    assertThat(hcm.hasRouteConfig()).as("routes are never inline").isFalse();
    assertThat(hcm.getScopedRoutes().getScopeKeyBuilder().getFragments(0).getHeaderValueExtractor()
        .getExtractTypeCase()).as("index 0 is set, not left out (Envoy refuses an unset extract_type)")
        .isEqualTo(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.ScopedRoutes
            .ScopeKeyBuilder.FragmentBuilder.HeaderValueExtractor.ExtractTypeCase.INDEX);
    // the port is stripped before routing, as on every Ebb listener
    assertThat(hcm.getStripAnyHostPort()).isTrue();
  }

  static Stream<Arguments> listenerVariants() {
    return Stream.of(
        Arguments.of("the default edge listener", ListenerSpec.DEFAULT),
        Arguments.of("behind a load balancer, no access log",
            new ListenerSpec("edge", "0.0.0.0", 10000, List.of(), Optional.empty(), 2, false)),
        Arguments.of("TLS for node cluster edge", new ListenerSpec("edge", "127.0.0.1", 10443, List.of("edge"),
            Optional.of(new dev.ebb.api.model.ListenerTls.Files("c.pem", "k.pem")), 0, true)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("listenerVariants")
  void everyOtherSettingStaysExactlyAsOnTheListenerWithoutScoping(String title, ListenerSpec plain) throws Exception {
    Listener without = translate(model(plain, List.of())).envoyListeners().get(0).listener();
    Listener with = EnvoyTranslatorTest.fresh().translate(RolloutEngine.desired(
        model(plain.withRouteScoping(RouteScoping.HOST), List.of()), NOW)).envoyListeners().get(0).listener();

    assertThat(text(hcm(with).toBuilder().clearScopedRoutes().build()))
        .isEqualTo(text(hcm(without).toBuilder().clearRds().build()));
    // and around the connection manager: address, buffer limit, TLS transport socket
    Listener.Builder outside = with.toBuilder();
    outside.getFilterChainsBuilder(0).clearFilters();
    Listener.Builder outsideWithout = without.toBuilder();
    outsideWithout.getFilterChainsBuilder(0).clearFilters();
    assertThat(text(outside)).isEqualTo(text(outsideWithout));
  }

  @Test
  void oneScopeAndOneRouteConfigurationPerExactHostEachHoldingThatHostAlone() {
    Translation.EnvoyListener l = translate(model(SCOPED, List.of(chat(2000), CHAT_API))).envoyListeners().get(0);

    assertThat(l.scopes()).containsOnlyKeys("edge/chat.example.com", "edge/www.chat.example.com");
    assertThat(text(l.scopes().get("edge/chat.example.com"))).isEqualTo(text(parse("""
        name: "edge/chat.example.com"
        route_configuration_name: "edge/chat.example.com"
        key { fragments { string_key: "chat.example.com" } }
        """, ScopedRouteConfiguration.newBuilder())));
    assertThat(l.routeConfigurations()).containsOnlyKeys("edge/chat.example.com", "edge/www.chat.example.com");
    assertThat(text(l.routeConfigurations().get("edge/www.chat.example.com"))).isEqualTo(text(parse("""
        name: "edge/www.chat.example.com"
        virtual_hosts {
          name: "www.chat.example.com"
          domains: "www.chat.example.com"
          routes {
            name: "chat" match { prefix: "/" }
            route {
              weighted_clusters {
                clusters { name: "v1" weight { value: 8000 } }
                clusters { name: "v2" weight { value: 2000 } }
                total_weight { value: 10000 }
              }
              timeout { } idle_timeout { seconds: 3600 }
            }
          }
        }
        """, RouteConfiguration.newBuilder())));
    // the host of two routes: both, longest path prefix first, and no virtual host of any other host
    RouteConfiguration chatHost = l.routeConfigurations().get("edge/chat.example.com");
    assertThat(chatHost.getVirtualHostsList()).singleElement().satisfies(vh -> {
      assertThat(vh.getDomainsList()).containsExactly("chat.example.com");
      assertThat(vh.getRoutesList()).extracting(r -> r.getName()).containsExactly("chat-api", "chat");
    });
    // every scope names a RouteConfiguration of the same listener, and keys are unique
    l.scopes().forEach((n, s) -> assertThat(l.routeConfigurations()).containsKey(s.getRouteConfigurationName()));
    assertThat(l.scopes().values().stream().map(s -> s.getKey().getFragments(0).getStringKey()).distinct())
        .hasSize(l.scopes().size());
  }

  @Test
  void theListenerWithoutScopingStillHasItsOneRouteConfigurationAndNoScopes() {
    Translation.EnvoyListener l = translate(model(ListenerSpec.DEFAULT, List.of(chat(0)))).envoyListeners().get(0);
    assertThat(l.routeConfigurations()).containsOnlyKeys("edge");
    assertThat(l.routes().getName()).isEqualTo("edge");
    assertThat(l.scopes()).isEmpty();
  }

  @Test
  void proxylessClientsAreUntouched() {
    Translation scoped = translate(model(SCOPED, List.of(chat(2000), CHAT_API)));
    Translation plain = EnvoyTranslatorTest.fresh().translate(RolloutEngine.desired(
        model(ListenerSpec.DEFAULT, List.of(chat(2000), CHAT_API)), NOW));
    assertThat(scoped.grpcListeners()).isEqualTo(plain.grpcListeners());
    assertThat(scoped.grpcRoutes()).isEqualTo(plain.grpcRoutes());
    XdsSnapshot s = XdsSnapshot.of(scoped);
    assertThat(s.view(NodeGroup.GRPC).of(TypeUrl.SCOPED_ROUTE)).isEmpty();
    assertThat(s.view(NodeGroup.GRPC).of(TypeUrl.ROUTE)).containsOnlyKeys("chat.example.com",
        "www.chat.example.com");
  }

  @Test
  void aWildcardHostThatStillReachesAScopedListenerGetsNoScope() {
    // the parsers refuse it (SPEC 7); a route's last good version from before the listener scoped routes could
    // still carry one: its exact hosts keep working, the wildcard is left out (no scope could match it)
    Route wild = route("wild", List.of("*.example.com", "api.example.com", "*"), "/", Rollout.stableOnly("v1"));
    Translation.EnvoyListener l = translate(model(SCOPED, List.of(wild))).envoyListeners().get(0);
    assertThat(l.scopes()).containsOnlyKeys("edge/api.example.com");
    assertThat(l.routeConfigurations()).containsOnlyKeys("edge/api.example.com");
  }

  /** 200 routes of one host each on the scoped listener, {@code changed} with canary weight {@code bp}. */
  static Model manyHosts(ListenerSpec listener, int changed, int bp) {
    List<Route> routes = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      routes.add(route("r" + i, List.of("r" + i + ".example.com"), "/",
          new Rollout("v1", Optional.of("v2"), i == changed ? bp : 1000)));
    }
    return model(listener, routes);
  }

  static Map<String, String> hashes(SortedMap<String, Res> resources) {
    Map<String, String> out = new java.util.TreeMap<>();
    resources.forEach((n, r) -> out.put(n, r.hash()));
    return out;
  }

  @Test
  void aWeightChangeOnOneRouteChangesExactlyOneRouteConfigurationOfAFewHundredBytes() {
    XdsSnapshot before = XdsSnapshot.of(translate(manyHosts(SCOPED, 17, 1000)));
    XdsSnapshot after = XdsSnapshot.of(translate(manyHosts(SCOPED, 17, 2500)), before);
    XdsSnapshot.View a = before.view(ENVOY);
    XdsSnapshot.View b = after.view(ENVOY);

    Map<String, String> ra = hashes(a.of(TypeUrl.ROUTE));
    Map<String, String> rb = hashes(b.of(TypeUrl.ROUTE));
    assertThat(rb.keySet()).isEqualTo(ra.keySet()).hasSize(200);
    List<String> changed = rb.keySet().stream().filter(n -> !rb.get(n).equals(ra.get(n))).toList();
    assertThat(changed).containsExactly("edge/r17.example.com");
    int bytes = b.of(TypeUrl.ROUTE).get("edge/r17.example.com").message().getSerializedSize();
    System.out.println("scoped: one weight change resends " + changed.size() + " RouteConfiguration of " + bytes
        + " bytes");
    assertThat(bytes).as("a few hundred bytes").isBetween(50, 400);
    // unchanged hosts keep their very objects (their hashes are not computed again)
    assertThat(b.of(TypeUrl.ROUTE).get("edge/r18.example.com")).isSameAs(a.of(TypeUrl.ROUTE)
        .get("edge/r18.example.com"));
    for (TypeUrl t : List.of(TypeUrl.CLUSTER, TypeUrl.ENDPOINT, TypeUrl.LISTENER, TypeUrl.SCOPED_ROUTE)) {
      assertThat(b.version(t)).as(t.shortName()).isEqualTo(a.version(t));
    }

    // what the same change costs on a listener without scoping: its whole table
    XdsSnapshot whole = XdsSnapshot.of(EnvoyTranslatorTest.fresh().translate(RolloutEngine.desired(
        manyHosts(ListenerSpec.DEFAULT, 17, 2500), NOW)));
    int wholeBytes = whole.view(ENVOY).of(TypeUrl.ROUTE).get("edge").message().getSerializedSize();
    System.out.println("unscoped: the same change resends 1 RouteConfiguration of " + wholeBytes + " bytes");
    assertThat(wholeBytes).isGreaterThan(100 * bytes);
  }

  @Test
  void addingOrRemovingAHostChangesScopesAndRoutesNeverTheListener() {
    XdsSnapshot one = XdsSnapshot.of(translate(model(SCOPED, List.of(CHAT_API))));
    XdsSnapshot two = XdsSnapshot.of(translate(model(SCOPED, List.of(CHAT_API, chat(2000)))), one);
    XdsSnapshot back = XdsSnapshot.of(translate(model(SCOPED, List.of(CHAT_API))), two);

    assertThat(one.view(ENVOY).of(TypeUrl.SCOPED_ROUTE)).containsOnlyKeys("edge/chat.example.com");
    assertThat(two.view(ENVOY).of(TypeUrl.SCOPED_ROUTE)).containsOnlyKeys("edge/chat.example.com",
        "edge/www.chat.example.com");
    assertThat(back.view(ENVOY).of(TypeUrl.SCOPED_ROUTE)).containsOnlyKeys("edge/chat.example.com");
    for (XdsSnapshot s : List.of(two, back)) {
      assertThat(s.view(ENVOY).version(TypeUrl.LISTENER)).isEqualTo(one.view(ENVOY).version(TypeUrl.LISTENER));
      assertThat(s.view(ENVOY).of(TypeUrl.LISTENER).get("edge").message().toByteArray())
          .isEqualTo(one.view(ENVOY).of(TypeUrl.LISTENER).get("edge").message().toByteArray());
    }
    assertThat(two.view(ENVOY).version(TypeUrl.SCOPED_ROUTE))
        .isNotEqualTo(one.view(ENVOY).version(TypeUrl.SCOPED_ROUTE));
    assertThat(two.view(ENVOY).version(TypeUrl.ROUTE)).isNotEqualTo(one.view(ENVOY).version(TypeUrl.ROUTE));
    // the host that stayed keeps its scope, byte for byte
    assertThat(two.view(ENVOY).of(TypeUrl.SCOPED_ROUTE).get("edge/chat.example.com").hash())
        .isEqualTo(one.view(ENVOY).of(TypeUrl.SCOPED_ROUTE).get("edge/chat.example.com").hash());
    // removing it again gives the first versions back (content hashes)
    assertThat(back.view(ENVOY).version(TypeUrl.SCOPED_ROUTE)).isEqualTo(one.view(ENVOY).version(TypeUrl.SCOPED_ROUTE));
    assertThat(back.view(ENVOY).version(TypeUrl.ROUTE)).isEqualTo(one.view(ENVOY).version(TypeUrl.ROUTE));
  }

  @Test
  void sameInputGivesByteIdenticalScopesAndRoutesOnFreshTranslators() {
    Model m = model(SCOPED, List.of(chat(3333), CHAT_API));
    XdsSnapshot a = XdsSnapshot.of(EnvoyTranslatorTest.fresh().translate(RolloutEngine.desired(m, NOW)));
    XdsSnapshot b = XdsSnapshot.of(EnvoyTranslatorTest.fresh().translate(RolloutEngine.desired(m, NOW)));
    assertThat(a.version()).isEqualTo(b.version());
    for (TypeUrl t : TypeUrl.ORDER) {
      assertThat(b.view(ENVOY).version(t)).as(t.shortName()).isEqualTo(a.view(ENVOY).version(t));
    }
  }
}
