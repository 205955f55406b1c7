package dev.ebb.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.rollout.DesiredState;
import dev.ebb.rollout.RolloutEngine;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Issue 14: a backend shared by a grpc route and a websocket/http route is HTTP/2 for all; that is said, by name. */
class UpstreamProtocolsTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  static Route route(String name, Protocol protocol, Rollout rollout) {
    return new Route(name, List.of(name + ".example.com"), protocol, "/", "edge", rollout, Duration.ofMinutes(15),
        Duration.ofHours(1), Optional.empty());
  }

  static DesiredState desired(Route... routes) {
    return RolloutEngine.desired(new Model(List.of(ListenerSpec.DEFAULT), List.of(routes), List.of(
        new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 8080))),
        new Backend("v2", List.of(Endpoint.ready("10.0.1.1", 8080))))), NOW);
  }

  @Test
  void aBackendSharedByAGrpcAndAnHttpRouteIsNamedWithBothRoutes() {
    UpstreamProtocols p = UpstreamProtocols.of(desired(
        route("rpc", Protocol.GRPC, Rollout.stableOnly("v1")),
        route("web", Protocol.HTTP, Rollout.stableOnly("v1"))));

    assertThat(p.http2Backends()).containsExactly("v1");
    assertThat(p.warnings()).extracting(ConfigError::message).containsExactly("backend v1: protocol: shared by grpc"
        + " route rpc and http route web: its cluster speaks HTTP/2 (for gRPC) to all of them, so route web reaches v1"
        + " over HTTP/2 too, which a backend that speaks only HTTP/1.1 refuses; give each protocol a backend of its"
        + " own");
    assertThat(p.warnings().get(0).object()).isEqualTo("backend v1");
    assertThat(p.warnings().get(0).field()).isEqualTo("protocol");
  }

  @Test
  void everyRouteOnEachSideIsNamedAndACanaryCountsToo() {
    UpstreamProtocols p = UpstreamProtocols.of(desired(
        route("rpc", Protocol.GRPC, new Rollout("v2", Optional.of("v1"), 0)),
        route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v1")),
        route("web", Protocol.HTTP, Rollout.stableOnly("v1"))));

    assertThat(p.http2Backends()).containsExactlyInAnyOrder("v1", "v2");
    assertThat(p.warnings()).extracting(ConfigError::message).containsExactly("backend v1: protocol: shared by grpc"
        + " route rpc, websocket route chat and http route web: its cluster speaks HTTP/2 (for gRPC) to all of them,"
        + " so routes chat and web reach v1 over HTTP/2 too, which a backend that speaks only HTTP/1.1 refuses; give"
        + " each protocol a backend of its own");
  }

  @Test
  void backendsOfOneProtocolAreNotWarnedAbout() {
    UpstreamProtocols p = UpstreamProtocols.of(desired(
        route("rpc", Protocol.GRPC, Rollout.stableOnly("v1")),
        route("rpc2", Protocol.GRPC, Rollout.stableOnly("v1")),
        route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v2")),
        route("web", Protocol.HTTP, Rollout.stableOnly("v2"))));

    assertThat(p.http2Backends()).containsExactly("v1");
    assertThat(p.warnings()).isEmpty();
  }

  /** A backend draining from a grpc route keeps HTTP/2 (its cluster must not change), so a new user is told. */
  @Test
  void aBackendDrainingFromAGrpcRouteCountsAsGrpc() {
    DesiredState state = new DesiredState(List.of(ListenerSpec.DEFAULT),
        List.of(new DesiredState.RouteState(route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v1")),
            List.of(new DesiredState.WeightedBackend("v1", 10_000)))),
        List.of(new DesiredState.BackendState(new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 8080))),
            List.of(new DesiredState.Drain("rpc", "v1", NOW, NOW.plus(Duration.ofMinutes(15)), Protocol.GRPC)))),
        Optional.empty());

    UpstreamProtocols p = UpstreamProtocols.of(state);

    assertThat(p.http2Backends()).containsExactly("v1");
    assertThat(p.warnings()).extracting(ConfigError::message).singleElement().asString()
        .startsWith("backend v1: protocol: shared by grpc route rpc (draining) and websocket route chat: ");
  }

  /** Once the http route has a backend of its own, the old one only drains for it: no new stream, no warning. */
  @Test
  void anHttpRouteThatOnlyDrainsFromAGrpcBackendIsNotWarnedAbout() {
    DesiredState state = new DesiredState(List.of(ListenerSpec.DEFAULT),
        List.of(new DesiredState.RouteState(route("rpc", Protocol.GRPC, Rollout.stableOnly("v1")),
            List.of(new DesiredState.WeightedBackend("v1", 10_000)))),
        List.of(new DesiredState.BackendState(new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 8080))),
            List.of(new DesiredState.Drain("web", "v1", NOW, NOW.plus(Duration.ofMinutes(15)), Protocol.HTTP)))),
        Optional.empty());

    assertThat(UpstreamProtocols.of(state).warnings()).isEmpty();
  }

  @Test
  void theTranslatorGivesHttp2ToExactlyTheseBackends() {
    DesiredState state = desired(
        route("rpc", Protocol.GRPC, Rollout.stableOnly("v1")),
        route("web", Protocol.HTTP, Rollout.stableOnly("v1")),
        route("chat", Protocol.WEBSOCKET, Rollout.stableOnly("v2")));
    Translation t = new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT).translate(state);

    assertThat(t.clusters().get("v1").getTypedExtensionProtocolOptionsMap())
        .containsKey(EnvoyTranslator.HTTP_PROTOCOL_OPTIONS);
    assertThat(t.clusters().get("v2").getTypedExtensionProtocolOptionsMap()).isEmpty();
  }
}
