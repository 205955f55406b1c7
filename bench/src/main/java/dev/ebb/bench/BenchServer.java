package dev.ebb.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.ebb.EbbServer;
import dev.ebb.api.model.Model;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.source.FileSource;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.translate.Translation;
import dev.ebb.xds.XdsEvents;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server under test, in its own JVM so that its heap and CPU are its own. Mode "ebb" is Ebb as shipped
 * (file source, debounce, per-type content-hash versions, its own cache); mode "baseline" is the
 * straightforward use of java-control-plane: on every file change, rebuild every resource, one global
 * version, SimpleCache. Commands on stdin: "heap" (used heap after GC, bytes), "cpu" (process CPU ns), "quit".
 */
public final class BenchServer {
  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Path file = Path.of(args[1]);
    int port = Integer.parseInt(args[2]);
    Duration debounce = Duration.ofMillis(Long.parseLong(args[3]));
    AutoCloseable server = mode.equals("ebb") ? ebb(file, port, debounce) : baseline(file, port);
    System.out.println("ready");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (String line; (line = in.readLine()) != null; ) {
      switch (line.trim()) {
        case "heap" -> {
          for (int i = 0; i < 3; i++) {
            System.gc();
          }
          System.out.println(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        case "cpu" -> System.out.println(os.getProcessCpuTime());
        case "quit" -> {
          server.close();
          System.exit(0);
        }
        default -> System.out.println("?");
      }
      System.out.flush();
    }
    server.close();
  }

  static AutoCloseable ebb(Path file, int port, Duration debounce) {
    EbbServer.Config c = new EbbServer.Config(new EbbServer.SourceSpec.File(file), "127.0.0.1", port, "127.0.0.1", 0,
        debounce, Duration.ofSeconds(1), Duration.ofSeconds(2), EnvoyTranslator.Settings.DEFAULT,
        EbbServer.Config.DEFAULT_LOAD_REPORT_INTERVAL);
    return new EbbServer(c, Clock.systemUTC(), XdsEvents.NONE, Optional.empty()).start();
  }

  /** What most control planes built on java-control-plane do: everything rebuilt, one version, SimpleCache. */
  static AutoCloseable baseline(Path file, int port) throws Exception {
    SimpleCache<String> cache = new SimpleCache<>(new NodeGroup<>() {
      @Override
      public String hash(Node node) {
        return "all";
      }

    });
    EnvoyTranslator translator = new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT);
    AtomicLong version = new AtomicLong();
    FileSource source = new FileSource(file, (Model m) -> {
      Translation t = translator.translate(RolloutEngine.desired(m, Clock.systemUTC().instant()));
      List<io.envoyproxy.envoy.config.listener.v3.Listener> listeners = t.envoyListeners().stream()
          .map(Translation.EnvoyListener::listener).toList();
      List<io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes = t.envoyListeners().stream()
          .map(Translation.EnvoyListener::routes).toList();
      cache.setSnapshot("all", Snapshot.create(t.clusters().values(), t.endpoints().values(), listeners, routes,
          List.of(), String.valueOf(version.incrementAndGet())));
    }, Clock.systemUTC(), Duration.ofSeconds(2));
    source.start();
    V3DiscoveryServer discovery = new V3DiscoveryServer(cache);
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(discovery.getAggregatedDiscoveryServiceImpl()).build().start();
    return () -> {
      source.close();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    };
  }

  private BenchServer() {}
}
