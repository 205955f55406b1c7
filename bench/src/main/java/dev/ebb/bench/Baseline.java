package dev.ebb.bench;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import dev.ebb.api.model.Model;
import dev.ebb.publish.Debouncer;
import dev.ebb.publish.ExecutorScheduler;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.source.FileSource;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.translate.Translation;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.controlplane.server.serializer.DefaultProtoResourcesSerializer;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The usual way to serve xDS from Java: java-control-plane's {@code SimpleCache} (ADS mode) and
 * {@code V3DiscoveryServer}, fed by the same file source, rollout engine and translator as Ebb, so that only
 * the publishing differs.
 *
 * <ul>
 *   <li>{@link #careful}: done carefully. The same debounce as Ebb ({@link Debouncer}, same quiet period and
 *       maximum delay); one snapshot per node group ("envoy" for user agent "envoy", "grpc" for every other, as
 *       Ebb groups them); a version per resource type that is a content hash of that type's resources (SHA-256
 *       of each resource's deterministic serialization, in name order; reused for messages the translator hands
 *       out again unchanged), so a type that did not change keeps its version and is not resent;
 *       {@link CachedProtoResourcesSerializer}, so a resource is
 *       packed into an {@code Any} once for all streams while any stream holds it.
 *   <li>{@link #naive}: the straw man of the first benchmark, kept for comparison only: no debounce, one global
 *       counter as the version of every type (every change resends every type to every node), the default
 *       serializer (every resource packed again for every stream).
 * </ul>
 */
final class Baseline {
  private Baseline() {}

  static AutoCloseable careful(Path file, int port, Duration debounce, Duration maxDelay,
      DiscoveryServerCallbacks callbacks) {
    SimpleCache<String> cache = new SimpleCache<>(Baseline::group);
    EnvoyTranslator translator = new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT);
    TypeVersions versions = new TypeVersions();
    ExecutorScheduler scheduler = new ExecutorScheduler(Clock.systemUTC(), "baseline-publisher");
    AtomicReference<Model> latest = new AtomicReference<>();
    Debouncer debouncer = new Debouncer(scheduler, debounce, maxDelay, () -> {
      Model m = latest.get();
      Translation t = translator.translate(RolloutEngine.desired(m, scheduler.now()));
      List<Listener> listeners = t.envoyListeners().stream().map(Translation.EnvoyListener::listener).toList();
      List<RouteConfiguration> routes = t.envoyListeners().stream()
          .flatMap(l -> l.routeConfigurations().values().stream()).toList();
      Snapshot envoy = Snapshot.create(t.clusters().values(), versions.of("envoy/cds", t.clusters().values()),
          t.endpoints().values(), versions.of("eds", t.endpoints().values()),
          listeners, versions.of("envoy/lds", listeners), routes, versions.of("envoy/rds", routes),
          t.secrets().values(), versions.of("envoy/sds", t.secrets().values()));
      Snapshot grpc = Snapshot.create(t.grpcClusters().values(), versions.of("grpc/cds", t.grpcClusters().values()),
          t.endpoints().values(), versions.of("eds", t.endpoints().values()),
          t.grpcListeners().values(), versions.of("grpc/lds", t.grpcListeners().values()),
          t.grpcRoutes().values(), versions.of("grpc/rds", t.grpcRoutes().values()), List.of(), "empty");
      versions.roll();
      // no ensureConsistent(): it looks for the HTTP connection manager under its old name
      // ("envoy.http_connection_manager") only, finds no RDS reference in Ebb's listeners and rejects every
      // snapshot; the translator's output is consistent by construction here
      cache.setSnapshot("envoy", envoy);
      cache.setSnapshot("grpc", grpc);
    });
    FileSource source = new FileSource(file, m -> {
      latest.set(m);
      debouncer.trigger();
    }, Clock.systemUTC(), Duration.ofSeconds(2));
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(callbacks), cache, new DefaultExecutorGroup(),
        new CachedProtoResourcesSerializer());
    return serve(port, discovery, source, scheduler);
  }

  static AutoCloseable naive(Path file, int port, DiscoveryServerCallbacks callbacks) {
    SimpleCache<String> cache = new SimpleCache<>(Baseline::group);
    EnvoyTranslator translator = new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT);
    AtomicLong version = new AtomicLong();
    FileSource source = new FileSource(file, (Model m) -> {
      Translation t = translator.translate(RolloutEngine.desired(m, Clock.systemUTC().instant()));
      String v = String.valueOf(version.incrementAndGet());
      cache.setSnapshot("envoy", Snapshot.create(t.clusters().values(), t.endpoints().values(),
          t.envoyListeners().stream().map(Translation.EnvoyListener::listener).toList(),
          t.envoyListeners().stream().flatMap(l -> l.routeConfigurations().values().stream()).toList(),
          t.secrets().values(), v));
      cache.setSnapshot("grpc", Snapshot.create(t.grpcClusters().values(), t.endpoints().values(),
          t.grpcListeners().values(), t.grpcRoutes().values(), List.of(), v));
    }, Clock.systemUTC(), Duration.ofSeconds(2));
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(callbacks), cache, new DefaultExecutorGroup(),
        new DefaultProtoResourcesSerializer());
    return serve(port, discovery, source, null);
  }

  /** Ebb's grouping: Envoy nodes by user agent, every other node is a proxyless gRPC client. */
  static String group(io.envoyproxy.envoy.config.core.v3.Node node) {
    return "envoy".equals(node.getUserAgentName()) ? "envoy" : "grpc";
  }

  private static AutoCloseable serve(int port, V3DiscoveryServer discovery, FileSource source,
      ExecutorScheduler scheduler) {
    Server server;
    try {
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
          .addService(discovery.getAggregatedDiscoveryServiceImpl())
          .maxInboundMessageSize(16 * 1024 * 1024).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    source.start();
    return () -> {
      source.close();
      if (scheduler != null) {
        scheduler.close();
      }
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    };
  }

  /** Marks the first response after each reset (see BenchServer's "mark"). */
  static DiscoveryServerCallbacks callbacks(Runnable responded) {
    return new DiscoveryServerCallbacks() {
      @Override
      public void onV3StreamRequest(long streamId, DiscoveryRequest request) {}

      @Override
      public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}

      @Override
      public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
        responded.run();
      }

      @Override
      public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request,
          DeltaDiscoveryResponse response) {
        responded.run();
      }
    };
  }

  /**
   * A version per type: SHA-256 over every resource's deterministic serialization, in the translator's (name)
   * order. A message object the translator hands out again (it memoizes unchanged resources) keeps its hash.
   */
  static final class TypeVersions {
    private Map<Message, byte[]> hashes = new IdentityHashMap<>();
    private Map<Message, byte[]> next = new IdentityHashMap<>();

    String of(String key, Collection<? extends Message> resources) {
      MessageDigest all = sha256();
      all.update(key.getBytes(StandardCharsets.UTF_8));
      for (Message m : resources) {
        byte[] h = next.get(m);
        if (h == null) {
          h = hashes.get(m);
          if (h == null) {
            h = sha256().digest(deterministic(m));
          }
          next.put(m, h);
        }
        all.update(h);
      }
      return HexFormat.of().formatHex(all.digest(), 0, 8);
    }

    /** Forgets the hashes of messages the last build no longer used. */
    void roll() {
      hashes = next;
      next = new IdentityHashMap<>();
    }

    private static byte[] deterministic(Message m) {
      try {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(m.getSerializedSize());
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.useDeterministicSerialization();
        m.writeTo(out);
        out.flush();
        return bytes.toByteArray();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private static MessageDigest sha256() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
