package dev.ebb.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.translate.EnvoyTranslator;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Request sequences against the stream tracker with a fake transport: what goes out, in which order, and what
 * does not (NACK loops, stale ACKs, held routes, a queue for a slow client).
 */
class AdsSequenceTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  static final Node ENVOY = Node.newBuilder().setId("envoy-1").setCluster("edge").setUserAgentName("envoy").build();
  static final Node GRPC = Node.newBuilder().setId("grpc-1").setUserAgentName("grpc-java").build();

  /** A transport whose readiness the test controls. */
  static class FakeTransport implements StreamState.Sender {
    boolean ready = true;
    final List<Message> sent = new ArrayList<>();

    @Override
    public boolean ready() {
      return ready;
    }

    @Override
    public void send(Message response) {
      sent.add(response);
    }

    DiscoveryResponse last() {
      return (DiscoveryResponse) sent.get(sent.size() - 1);
    }

    List<String> types() {
      return sent.stream().map(m -> m instanceof DiscoveryResponse d ? TypeUrl.of(d.getTypeUrl()).orElseThrow()
          .shortName() : TypeUrl.of(((DeltaDiscoveryResponse) m).getTypeUrl()).orElseThrow().shortName()).toList();
    }
  }

  final XdsCache cache = new XdsCache(Clock.fixed(NOW, ZoneOffset.UTC), XdsEvents.NONE);
  final EnvoyTranslator translator = new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT);
  long generation;

  static Model model(int canaryBasisPoints, String canary) {
    Route chat = new Route("chat", List.of("chat.example.com"), Protocol.WEBSOCKET, "/", "edge",
        new Rollout("v1", Optional.ofNullable(canary), canary == null ? 0 : canaryBasisPoints), Duration.ofMinutes(15),
        Duration.ofHours(1), Optional.empty());
    return new Model(List.of(ListenerSpec.DEFAULT), List.of(chat), List.of(
        new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 80))),
        new Backend("v2", List.of(Endpoint.ready("10.0.0.2", 80))),
        new Backend("v3", List.of(Endpoint.ready("10.0.0.3", 80)))));
  }

  void publish(Model m) {
    cache.publish(XdsSnapshot.of(translator.translate(RolloutEngine.desired(m, NOW))).published(++generation, NOW));
  }

  static DiscoveryRequest sotw(Node node, TypeUrl type, String version, String nonce, String... names) {
    DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setTypeUrl(type.url()).setVersionInfo(version)
        .setResponseNonce(nonce).addAllResourceNames(List.of(names));
    if (node != null) {
      b.setNode(node);
    }
    return b.build();
  }

  /** The ACK of a response, naming what the client subscribes to. */
  static DiscoveryRequest ack(DiscoveryResponse r, String... names) {
    return sotw(null, TypeUrl.of(r.getTypeUrl()).orElseThrow(), r.getVersionInfo(), r.getNonce(), names);
  }

  static DiscoveryRequest nack(DiscoveryResponse r, String acceptedVersion, String... names) {
    return sotw(null, TypeUrl.of(r.getTypeUrl()).orElseThrow(), acceptedVersion, r.getNonce(), names).toBuilder()
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected")).build();
  }

  static String weightOf(DiscoveryResponse rds, String cluster) throws InvalidProtocolBufferException {
    RouteConfiguration rc = rds.getResources(0).unpack(RouteConfiguration.class);
    var action = rc.getVirtualHosts(0).getRoutes(0).getRoute();
    if (!action.getCluster().isEmpty()) {
      return action.getCluster().equals(cluster) ? "10000" : "0";
    }
    return action.getWeightedClusters().getClustersList().stream().filter(c -> c.getName().equals(cluster))
        .map(c -> String.valueOf(c.getWeight().getValue())).findFirst().orElse("none");
  }

  static List<String> names(DiscoveryResponse r) {
    return r.getResourcesList().stream().map(AdsSequenceTest::nameOf).toList();
  }

  static String nameOf(Any a) {
    try {
      return switch (a.getTypeUrl().substring(a.getTypeUrl().lastIndexOf('.') + 1)) {
        case "Cluster" -> a.unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class).getName();
        case "ClusterLoadAssignment" -> a.unpack(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class)
            .getClusterName();
        case "Listener" -> a.unpack(io.envoyproxy.envoy.config.listener.v3.Listener.class).getName();
        default -> a.unpack(RouteConfiguration.class).getName();
      };
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void envoyGetsClustersBeforeRoutesThatNameThemAndNothingTwice() throws Exception {
    publish(model(2000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onSotwRequest(s, sotw(ENVOY, TypeUrl.CLUSTER, "", ""));
    DiscoveryResponse cds = t.last();
    assertThat(names(cds)).containsExactly("v1", "v2");
    cache.onSotwRequest(s, sotw(null, TypeUrl.LISTENER, "", ""));
    cache.onSotwRequest(s, ack(t.last()));
    cache.onSotwRequest(s, sotw(null, TypeUrl.ENDPOINT, "", "", "v1", "v2"));
    cache.onSotwRequest(s, ack(t.last(), "v1", "v2"));
    cache.onSotwRequest(s, ack(cds));
    cache.onSotwRequest(s, sotw(null, TypeUrl.ROUTE, "", "", "edge"));
    assertThat(t.types()).containsExactly("CDS", "LDS", "EDS", "RDS");
    DiscoveryResponse rds = t.last();
    assertThat(weightOf(rds, "v2")).isEqualTo("2000");
    int before = t.sent.size();

    // ACKs repeat the names: nothing new to say
    cache.onSotwRequest(s, ack(rds, "edge"));
    cache.onSotwRequest(s, ack(rds, "edge"));
    publish(model(2000, "v2"));
    assertThat(t.sent).hasSize(before);

    // a canary the node has never seen: the route waits for the CDS ACK (make-before-break)
    publish(model(5000, "v3"));
    assertThat(t.types().subList(before, t.sent.size())).containsExactly("CDS", "EDS");
    DiscoveryResponse cds2 = (DiscoveryResponse) t.sent.get(before);
    assertThat(names(cds2)).containsExactly("v1", "v3");
    cache.onSotwRequest(s, ack(cds2));
    assertThat(t.last().getTypeUrl()).isEqualTo(TypeUrl.ROUTE.url());
    assertThat(weightOf(t.last(), "v3")).isEqualTo("5000");
  }

  @Test
  void aNackedVersionIsNotSentAgainButTheNextChangeIs() throws Exception {
    publish(model(2000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onSotwRequest(s, sotw(GRPC, TypeUrl.ROUTE, "", "", "chat.example.com"));
    DiscoveryResponse first = t.last();
    cache.onSotwRequest(s, ack(first, "chat.example.com"));
    publish(model(3000, "v2"));
    DiscoveryResponse rejected = t.last();
    assertThat(weightOf(rejected, "v2")).isEqualTo("3000");
    int before = t.sent.size();

    cache.onSotwRequest(s, nack(rejected, first.getVersionInfo(), "chat.example.com"));
    // the client keeps the nonce on later requests; none of them brings the rejected version back
    cache.onSotwRequest(s, nack(rejected, first.getVersionInfo(), "chat.example.com"));
    publish(model(3000, "v2"));
    assertThat(t.sent).hasSize(before);
    assertThat(s.typeStatus()).anySatisfy(ts -> {
      assertThat(ts.type()).isEqualTo(TypeUrl.ROUTE);
      assertThat(ts.nackedVersion()).contains(rejected.getVersionInfo());
      assertThat(ts.nacks()).isEqualTo(1);
    });

    publish(model(4000, "v2"));
    assertThat(t.sent).hasSize(before + 1);
    assertThat(weightOf(t.last(), "v2")).isEqualTo("4000");
  }

  @Test
  void aNameDroppedAndAskedForAgainIsAnsweredWithUnchangedVersions() {
    publish(model(10_000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onSotwRequest(s, sotw(GRPC, TypeUrl.CLUSTER, "", "", "v1", "v2"));
    DiscoveryResponse both = t.last();
    cache.onSotwRequest(s, ack(both, "v1", "v2"));
    // grpc-java stops asking for the cluster that lost all weight ...
    cache.onSotwRequest(s, sotw(null, TypeUrl.CLUSTER, both.getVersionInfo(), both.getNonce(), "v2"));
    DiscoveryResponse onlyV2 = t.last();
    assertThat(names(onlyV2)).containsExactly("v2");
    cache.onSotwRequest(s, ack(onlyV2, "v2"));
    int before = t.sent.size();
    // ... and asks again on rollback, with nothing changed on the server
    cache.onSotwRequest(s, sotw(null, TypeUrl.CLUSTER, onlyV2.getVersionInfo(), onlyV2.getNonce(), "v1", "v2"));
    assertThat(t.sent).hasSize(before + 1);
    assertThat(names(t.last())).containsExactly("v1", "v2");
    assertThat(t.last().getVersionInfo()).isEqualTo(both.getVersionInfo());
  }

  @Test
  void aNameDroppedAndAskedForAgainIsAnsweredWhenTheListsAreReadAsSharedLists() {
    // lists long enough to be remembered by the request reader: each list read a second time is one shared List
    SotwRequestMarshaller reader = new SotwRequestMarshaller();
    List<String> pad = java.util.stream.IntStream.range(0, 30).mapToObj(i -> "cluster-that-does-not-exist-" + i)
        .toList();
    String[] all = java.util.stream.Stream.concat(java.util.stream.Stream.of("v1", "v2"), pad.stream()).toArray(String[]::new);
    String[] withoutV1 = java.util.stream.Stream.concat(java.util.stream.Stream.of("v2"), pad.stream()).toArray(String[]::new);
    java.util.function.Function<DiscoveryRequest, SotwRequest> wire =
        r -> reader.parse(new java.io.ByteArrayInputStream(r.toByteArray()));
    publish(model(10_000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onSotwRequest(s, wire.apply(sotw(GRPC, TypeUrl.CLUSTER, "", "", all)));
    DiscoveryResponse both = t.last();
    cache.onSotwRequest(s, wire.apply(ack(both, all)));
    cache.onSotwRequest(s, wire.apply(sotw(null, TypeUrl.CLUSTER, both.getVersionInfo(), both.getNonce(), withoutV1)));
    DiscoveryResponse onlyV2 = t.last();
    assertThat(names(onlyV2)).containsExactly("v2");
    cache.onSotwRequest(s, wire.apply(ack(onlyV2, withoutV1)));
    cache.onSotwRequest(s, wire.apply(ack(onlyV2, withoutV1)));
    int before = t.sent.size();

    SotwRequest again = wire.apply(sotw(null, TypeUrl.CLUSTER, onlyV2.getVersionInfo(), onlyV2.getNonce(), all));
    cache.onSotwRequest(s, again);

    assertThat(again.shared()).isTrue();
    assertThat(reader.hits()).isEqualTo(4);
    assertThat(t.sent).hasSize(before + 1);
    assertThat(names(t.last())).containsExactly("v1", "v2");
    assertThat(t.last().getVersionInfo()).isEqualTo(both.getVersionInfo());
  }

  @Test
  void aStaleAckDoesNotOpenTheTypeAgain() {
    publish(model(2000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onSotwRequest(s, sotw(GRPC, TypeUrl.ROUTE, "", "", "chat.example.com"));
    DiscoveryResponse first = t.last();
    cache.onSotwRequest(s, ack(first, "chat.example.com"));
    publish(model(3000, "v2"));
    DiscoveryResponse second = t.last();
    int before = t.sent.size();
    // a late duplicate of the first ACK (answers an older response): the second response is still unanswered
    cache.onSotwRequest(s, ack(first, "chat.example.com"));
    publish(model(4000, "v2"));
    assertThat(t.sent).as("one response in flight per type").hasSize(before);
    cache.onSotwRequest(s, ack(second, "chat.example.com"));
    assertThat(t.sent).hasSize(before + 1);
  }

  @Test
  void aSlowClientGetsTheNewestStateWhenItCanTakeItNotAQueue() throws Exception {
    publish(model(1000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onSotwRequest(s, sotw(GRPC, TypeUrl.ROUTE, "", "", "chat.example.com"));
    cache.onSotwRequest(s, ack(t.last(), "chat.example.com"));
    int before = t.sent.size();

    t.ready = false; // its transport buffer is full
    for (int w = 2000; w <= 9000; w += 1000) {
      publish(model(w, "v2"));
    }
    assertThat(t.sent).hasSize(before);

    t.ready = true;
    cache.onReady(s);
    assertThat(t.sent).hasSize(before + 1);
    assertThat(weightOf(t.last(), "v2")).isEqualTo("9000");
    cache.onReady(s);
    assertThat(t.sent).hasSize(before + 1);
  }

  @Test
  void streamsWaitForTheBytesInFlightOfOthersToDrainSoASyncHoldsBoundedMemory() {
    XdsCache small = new XdsCache(Clock.fixed(NOW, ZoneOffset.UTC), XdsEvents.NONE, 1);
    small.publish(XdsSnapshot.of(translator.translate(RolloutEngine.desired(model(2000, "v2"), NOW)))
        .published(1, NOW));
    // transports that cannot take more after one response (their buffer is over its threshold)
    FakeTransport a = new FakeTransport() {
      @Override
      public void send(Message response) {
        super.send(response);
        ready = false;
      }
    };
    FakeTransport b = new FakeTransport() {
      @Override
      public void send(Message response) {
        super.send(response);
        ready = false;
      }
    };
    StreamState sa = small.open(1, a);
    StreamState sb = small.open(2, b);
    small.onSotwRequest(sa, sotw(ENVOY, TypeUrl.CLUSTER, "", ""));
    small.onSotwRequest(sb, sotw(ENVOY, TypeUrl.CLUSTER, "", ""));
    assertThat(a.sent).hasSize(1);
    assertThat(b.sent).as("the budget is held by a's response").isEmpty();
    assertThat(small.bytesInFlight()).isPositive();

    a.ready = true;
    small.onReady(sa); // a's transport drained: b goes on
    assertThat(b.sent).hasSize(1);
    small.closed(sb); // a stream that goes away gives its bytes back
    assertThat(small.bytesInFlight()).isZero();
  }

  @Test
  void deltaSendsOnlyChangesRemovesWhatLeftAndDampsANack() {
    publish(model(2000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(TypeUrl.CLUSTER.url())
        .build());
    DeltaDiscoveryResponse cds = (DeltaDiscoveryResponse) t.sent.get(0);
    assertThat(cds.getResourcesList()).extracting(r -> r.getName()).containsExactly("v1", "v2");
    cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrl.CLUSTER.url())
        .setResponseNonce(cds.getNonce()).build());
    // it has exactly the group's view: it shares that map instead of holding its own copy of every version
    assertThat(s.type(TypeUrl.CLUSTER).deltaTracked).isInstanceOf(TrackedVersions.class);

    // v2 goes away: only its removal is sent
    publish(model(0, null));
    DeltaDiscoveryResponse removal = (DeltaDiscoveryResponse) t.sent.get(t.sent.size() - 1);
    assertThat(removal.getResourcesList()).isEmpty();
    assertThat(removal.getRemovedResourcesList()).containsExactly("v2");
    int before = t.sent.size();

    // the node rejects the removal; the same removal is not sent again until something else changes
    cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrl.CLUSTER.url())
        .setResponseNonce(removal.getNonce()).setErrorDetail(Status.newBuilder().setMessage("no")).build());
    publish(model(0, null));
    assertThat(t.sent).hasSize(before);
    publish(model(3000, "v3"));
    DeltaDiscoveryResponse next = (DeltaDiscoveryResponse) t.sent.get(t.sent.size() - 1);
    assertThat(next.getResourcesList()).extracting(r -> r.getName()).containsExactly("v3");
    assertThat(next.getRemovedResourcesList()).containsExactly("v2");
  }

  @Test
  void aReconnectingDeltaClientGetsOnlyWhatDiffersFromWhatItHas() {
    publish(model(2000, "v2"));
    FakeTransport first = new FakeTransport();
    StreamState a = cache.open(1, first);
    cache.onDeltaRequest(a, DeltaDiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(TypeUrl.CLUSTER.url())
        .build());
    DeltaDiscoveryResponse cds = (DeltaDiscoveryResponse) first.sent.get(0);
    cache.closed(a);

    FakeTransport second = new FakeTransport();
    StreamState b = cache.open(2, second);
    DeltaDiscoveryRequest.Builder again = DeltaDiscoveryRequest.newBuilder().setNode(ENVOY)
        .setTypeUrl(TypeUrl.CLUSTER.url());
    cds.getResourcesList().forEach(r -> again.putInitialResourceVersions(r.getName(), r.getVersion()));
    cache.onDeltaRequest(b, again.build());
    DeltaDiscoveryResponse reply = (DeltaDiscoveryResponse) second.sent.get(0);
    assertThat(reply.getResourcesList()).as("it has them all already").isEmpty();
    assertThat(reply.getRemovedResourcesList()).isEmpty();
    assertThat(cache.streams()).containsExactly(b);
  }

  @Test
  void aDeltaClientThatAskedForSomeNamesGetsTheirChangesButNoNewResourceItNeverAskedFor() {
    publish(model(2000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(TypeUrl.ENDPOINT.url())
        .addResourceNamesSubscribe("v1").addResourceNamesSubscribe("v2").build());
    DeltaDiscoveryResponse first = (DeltaDiscoveryResponse) t.sent.get(0);
    cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrl.ENDPOINT.url())
        .setResponseNonce(first.getNonce()).build());

    // v1's endpoint moves and a new route brings a new backend, v3, whose endpoints this client never asked for
    Route feed = new Route("feed", List.of("feed.example.com"), Protocol.WEBSOCKET, "/", "edge",
        new Rollout("v3", Optional.empty(), 0), Duration.ofMinutes(15), Duration.ofHours(1), Optional.empty());
    publish(new Model(List.of(ListenerSpec.DEFAULT), List.of(model(2000, "v2").routes().get(0), feed), List.of(
        new Backend("v1", List.of(Endpoint.ready("10.0.0.9", 80))),
        new Backend("v2", List.of(Endpoint.ready("10.0.0.2", 80))),
        new Backend("v3", List.of(Endpoint.ready("10.0.0.3", 80))))));
    assertThat(cache.current().orElseThrow().view(dev.ebb.publish.NodeGroup.of(ENVOY)).of(TypeUrl.ENDPOINT))
        .containsKey("v3");

    DeltaDiscoveryResponse change = (DeltaDiscoveryResponse) t.sent.get(t.sent.size() - 1);
    assertThat(change.getResourcesList()).extracting(r -> r.getName()).containsExactly("v1");
  }

  @Test
  void aDeltaClientThatAcksAChangeOfOneResourceSharesTheNewViewAndGetsOnlyTheNextChange() {
    publish(model(2000, "v2"));
    FakeTransport t = new FakeTransport();
    StreamState s = cache.open(1, t);
    cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(TypeUrl.ENDPOINT.url())
        .addResourceNamesSubscribe("v1").addResourceNamesSubscribe("v2").build());
    DeltaDiscoveryResponse first = (DeltaDiscoveryResponse) t.sent.get(0);
    assertThat(first.getResourcesList()).extracting(r -> r.getName()).containsExactly("v1", "v2");
    cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrl.ENDPOINT.url())
        .setResponseNonce(first.getNonce()).build());

    for (String address : List.of("10.0.0.9", "10.0.0.8")) {
      // v2's endpoint moves: the client, which has exactly the group's endpoints, gets that one resource
      Model moved = new Model(List.of(ListenerSpec.DEFAULT), model(2000, "v2").routes(), List.of(
          new Backend("v1", List.of(Endpoint.ready("10.0.0.1", 80))),
          new Backend("v2", List.of(Endpoint.ready(address, 80)))));
      publish(moved);
      DeltaDiscoveryResponse change = (DeltaDiscoveryResponse) t.sent.get(t.sent.size() - 1);
      assertThat(change.getResourcesList()).extracting(r -> r.getName()).containsExactly("v2");
      assertThat(change.getRemovedResourcesList()).isEmpty();
      cache.onDeltaRequest(s, DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrl.ENDPOINT.url())
          .setResponseNonce(change.getNonce()).build());

      // after its ACK it holds the new view itself (shared), not a copy of every name and version
      var view = cache.current().orElseThrow().view(dev.ebb.publish.NodeGroup.of(ENVOY)).of(TypeUrl.ENDPOINT);
      assertThat(s.type(TypeUrl.ENDPOINT).deltaTracked).isInstanceOf(TrackedVersions.class);
      assertThat(((TrackedVersions) s.type(TypeUrl.ENDPOINT).deltaTracked).base()).isSameAs(view);
      assertThat(s.type(TypeUrl.ENDPOINT).deltaTracked.get("v2")).isEqualTo(change.getResources(0).getVersion());
    }
  }
}
