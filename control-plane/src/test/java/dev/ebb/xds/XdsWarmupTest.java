package dev.ebb.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.Warmup;
import dev.ebb.translate.EnvoyTranslator;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The serving half of the warm-up really drives the stream tracker: every simulated stream is answered and ACKs. */
class XdsWarmupTest {
  @Test
  void everySimulatedStreamGetsEachTypeItAsksForAndAcksEveryResponse() {
    try (XdsWarmup serving = new XdsWarmup()) {
      Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 8, 4, serving);

      assertThat(serving.problems()).isZero();
      assertThat(serving.allInSync()).isTrue();
      assertThat(serving.cache().streams()).hasSize(3 * XdsWarmup.STREAMS_PER_KIND);
      // at least one response per stream and type, and more as the configs change
      assertThat(serving.responses()).isGreaterThan(4L * 3 * XdsWarmup.STREAMS_PER_KIND);
      everyStreamAckedEachType(serving.cache());
    }
  }

  @Test
  void eachSimulatedClientAsksForTheTypesInTheOrderRealClientsDo() {
    // the type of each stream's responses, in the order they were sent; and each type's first response that came
    // before the stream had ACKed the type before it (a client that asked for everything at once)
    java.util.Map<String, List<TypeUrl>> pushed = new java.util.concurrent.ConcurrentHashMap<>();
    List<String> early = new java.util.concurrent.CopyOnWriteArrayList<>();
    XdsEvents recording = new XdsEvents() {
      @Override
      public void pushed(StreamState stream, TypeUrl type, String version, int resources, int bytes) {
        List<TypeUrl> types = pushed.computeIfAbsent(stream.nodeId(), k -> new ArrayList<>());
        if (!types.isEmpty() && !types.contains(type)) {
          TypeUrl before = types.stream().distinct().reduce((a, b) -> b).orElseThrow();
          if (stream.types.get(before).ackedNonce == null) {
            early.add(stream.nodeId() + " " + type + " before its " + before + " was ACKed");
          }
        }
        types.add(type);
      }
    };
    try (XdsWarmup serving = new XdsWarmup(recording)) {
      Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 1, 0, serving);

      assertThat(serving.allInSync()).isTrue();
      assertThat(pushed).hasSize(3 * XdsWarmup.STREAMS_PER_KIND);
      pushed.forEach((node, types) -> {
        List<TypeUrl> expected = node.contains("GRPC")
            ? List.of(TypeUrl.LISTENER, TypeUrl.ROUTE, TypeUrl.CLUSTER, TypeUrl.ENDPOINT)
            // Envoy: listeners once its clusters are warm; nodes of the "warm" cluster have scopes too
            : types.contains(TypeUrl.SCOPED_ROUTE)
                ? List.of(TypeUrl.CLUSTER, TypeUrl.ENDPOINT, TypeUrl.LISTENER, TypeUrl.SCOPED_ROUTE, TypeUrl.ROUTE)
                : List.of(TypeUrl.CLUSTER, TypeUrl.ENDPOINT, TypeUrl.LISTENER, TypeUrl.ROUTE);
        assertThat(types.stream().distinct().toList()).as(node).isEqualTo(expected);
      });
      assertThat(early).isEmpty();
    }
  }

  @Test
  void theSimulatedStreamsReportPropagationAsRealOnesDoInMillisecondsPerPublishedConfig() {
    // the listeners' code is compiled on what the warm-up reports: samples that real streams never give (the epoch's
    // 56 years, one generation for every config) made the real first changes recompile it
    List<Duration> samples = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.Set<Long> generations = java.util.concurrent.ConcurrentHashMap.newKeySet();
    XdsEvents recording = new XdsEvents() {
      @Override
      public void propagated(StreamState stream, Duration took) {
        samples.add(took);
        generations.add(stream.awaitingGeneration);
      }
    };
    try (XdsWarmup serving = new XdsWarmup(recording)) {
      Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 4, 4, serving);

      assertThat(serving.allInSync()).isTrue();
      assertThat(samples).hasSizeGreaterThanOrEqualTo(3 * XdsWarmup.STREAMS_PER_KIND)
          .allSatisfy(d -> assertThat(d).isBetween(Duration.ZERO, Duration.ofSeconds(30)));
      assertThat(generations).as("each config is published with a generation of its own").hasSizeGreaterThan(4);
    }
  }

  @Test
  void theSimulatedNodesDescribeThemselvesAsRealClientsDo() {
    // every field real Envoys and gRPC clients fill in appears on some simulated node, and not on all of them
    List<io.envoyproxy.envoy.config.core.v3.Node> nodes = new ArrayList<>();
    for (int i = 0; i < XdsWarmup.STREAMS_PER_KIND; i++) {
      for (XdsWarmup.Kind kind : XdsWarmup.Kind.values()) {
        nodes.add(XdsWarmup.node(kind, i));
      }
    }
    for (java.util.function.Predicate<io.envoyproxy.envoy.config.core.v3.Node> field : List.<java.util.function
        .Predicate<io.envoyproxy.envoy.config.core.v3.Node>>of(n -> n.hasLocality(), n -> n.hasMetadata(),
            n -> n.hasUserAgentBuildVersion(), n -> !n.getUserAgentVersion().isEmpty(),
            n -> n.getExtensionsCount() > 0, n -> !n.getCluster().isEmpty())) {
      assertThat(nodes).anyMatch(field).anyMatch(field.negate());
    }
    assertThat(nodes).allMatch(n -> n.getClientFeaturesCount() > 0);
  }

  @Test
  void overTheTransportEveryStreamGoesThroughALoopbackServerAndEachConfigIsAckedBeforeTheNext() throws Exception {
    // what grpc logs (java.util.logging) at WARNING or above while the warm-up runs: a user would see it in the log
    List<String> grpcWarnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Logger grpcLog = java.util.logging.Logger.getLogger("io.grpc");
    java.util.logging.Handler handler = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
          grpcWarnings.add(r.getLoggerName() + ": " + r.getMessage() + " " + r.getThrown());
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    grpcLog.addHandler(handler);
    XdsWarmup serving = new XdsWarmup();
    int port;
    try (serving) {
      Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 3, 0, serving); // in process first
      XdsCache inProcess = serving.cache();
      port = serving.overTransport();
      assertThat(port).isPositive();
      // the loopback server has a cache of its own, as a server that starts: its tables start empty
      assertThat(serving.cache()).isNotSameAs(inProcess);
      assertThat(inProcess.streams()).isEmpty();
      long before = serving.responses();
      List<String> behind = new ArrayList<>();
      // enough configs for the nodes of one kind to move to a new connection
      int edits = XdsWarmup.NEW_CONNECTION_EVERY;
      Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 8, edits, snapshot -> {
        serving.accept(snapshot);
        // the config reached every stream, and every stream ACKed it, before the warm-up makes the next one
        for (StreamState s : serving.cache().streams()) {
          synchronized (s) {
            s.types.forEach((t, ts) -> {
              if (ts.sentNonce != null && !ts.sentNonce.equals(ts.ackedNonce)) {
                behind.add(s.nodeId() + " " + t + " after " + snapshot.version());
              }
            });
          }
        }
      });

      assertThat(behind).isEmpty();
      assertThat(serving.unsettled()).isZero();
      assertThat(serving.problems()).isZero();
      assertThat(serving.allInSync()).isTrue();
      assertThat(serving.responses() - before).isGreaterThan(4L * 3 * XdsWarmup.STREAMS_PER_KIND);
      // the streams in process were closed; each one now is a call on the loopback server (whose ids count up
      // from 1; the streams in process have negative ones)
      assertThat(serving.cache().streams()).hasSize(3 * XdsWarmup.STREAMS_PER_KIND).allMatch(s -> s.id > 0)
          // nodes reconnected now and then: some streams were opened after the first ones
          .anyMatch(s -> s.id > 3 * XdsWarmup.STREAMS_PER_KIND);
      everyStreamAckedEachType(serving.cache());
      // one connection per kind, and a new one when the nodes of a kind moved
      assertThat(serving.connectionsOpened()).isGreaterThan(3);
    }
    assertThat(serving.port()).isZero();
    assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
        .as("the loopback server is closed with the warm-up").isInstanceOf(ConnectException.class);
    grpcLog.removeHandler(handler);
    // moving nodes to new connections and closing the warm-up end its calls before their connections
    assertThat(grpcWarnings).isEmpty();
  }

  private static void everyStreamAckedEachType(XdsCache cache) {
    for (StreamState s : cache.streams()) {
      synchronized (s) {
        for (TypeUrl t : new TypeUrl[] {TypeUrl.CLUSTER, TypeUrl.ENDPOINT, TypeUrl.LISTENER, TypeUrl.ROUTE}) {
          StreamState.TypeState ts = s.types.get(t);
          assertThat(ts).as("%s %s", s.nodeId(), t).isNotNull();
          assertThat(ts.sentNonce).as("%s %s answered", s.nodeId(), t).isNotNull();
          assertThat(ts.ackedNonce).as("%s %s ACKed its last response", s.nodeId(), t).isEqualTo(ts.sentNonce);
          assertThat(ts.nackedVersion).isNull();
        }
      }
    }
    // Envoy nodes of the "warm" cluster have the TLS listener, scoped by host: they ask for scopes (SRDS) too
    long scoped = cache.streams().stream().filter(s -> {
      synchronized (s) {
        StreamState.TypeState ts = s.types.get(TypeUrl.SCOPED_ROUTE);
        return ts != null && ts.sentNonce != null && ts.sentNonce.equals(ts.ackedNonce);
      }
    }).count();
    assertThat(scoped).isEqualTo(XdsWarmup.STREAMS_PER_KIND); // half of each Envoy kind
  }

  @Test
  void closingEndsItsStreams() {
    XdsWarmup serving = new XdsWarmup();
    Warmup.run(EnvoyTranslator.Settings.DEFAULT, Duration.ofMinutes(1), 3, 0, serving);
    XdsCache cache = serving.cache();
    assertThat(cache.streams()).isNotEmpty();

    serving.close();

    assertThat(cache.streams()).isEmpty();
  }
}
