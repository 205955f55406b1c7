package dev.ebb;

import dev.ebb.admin.AdminServer;
import dev.ebb.admin.ConfigDump;
import dev.ebb.admin.StatusReport;
import dev.ebb.api.file.FileConfigParser;
import dev.ebb.api.file.ParsedConfig;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.Route;
import dev.ebb.kube.KubeStatusWriter;
import dev.ebb.kube.KubernetesSource;
import dev.ebb.load.LoadTracker;
import dev.ebb.load.LrsService;
import dev.ebb.metrics.EbbMetrics;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.publish.DrainStore;
import dev.ebb.publish.ExecutorScheduler;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Pipeline;
import dev.ebb.publish.TypeUrl;
import dev.ebb.source.FileDrainStore;
import dev.ebb.source.FileSource;
import dev.ebb.source.Source;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.translate.UpstreamProtocols;
import dev.ebb.xds.StreamState;
import dev.ebb.xds.XdsCache;
import dev.ebb.xds.XdsEvents;
import dev.ebb.xds.XdsServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** The one composition root: source, pipeline, xDS server and admin server, started and closed together. */
public final class EbbServer implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EbbServer.class);
  /**
   * The most the warm-up before the sources start may take: builds and simulated streams, then waiting for the JIT
   * to compile what they made hot (on 2 busy cores a fresh server otherwise compiles through its first ~100 changes).
   */
  static final Duration WARMUP_BUDGET = Duration.ofMillis(3000);
  static final Duration WARMUP_BACKGROUND_MAX = Duration.ofMinutes(2);
  /** Where routes come from. */
  public sealed interface SourceSpec {
    /**
     * SPEC 4: a YAML file; drain state beside it, or in {@code stateFile} ({@code --state-file}: the YAML's
     * directory may be read-only, e.g. a ConfigMap mount).
     */
    record File(Path path, Optional<Path> stateFile) implements SourceSpec {
      public File(Path path) {
        this(path, Optional.empty());
      }

      /** Where the drain state is kept. */
      public Path drainStateFile() {
        return stateFile.map(f -> f.toAbsolutePath().normalize()).orElseGet(() -> FileDrainStore.besides(path));
      }
    }

    /** SPEC 3: Services and EndpointSlices; listeners from a YAML file; status written by the Lease holder. */
    record Kubernetes(List<String> namespaces, Optional<Path> listeners, String leaseNamespace,
        Duration leaseDuration, String identity) implements SourceSpec {}
  }

  /** Everything {@code ebb serve} can be told. */
  public record Config(SourceSpec source, String xdsAddress, int xdsPort, String adminAddress, int adminPort,
      Duration debounceQuiet, Duration debounceMax, Duration filePoll, EnvoyTranslator.Settings envoy,
      Duration loadReportInterval, XdsServer.Connections xdsConnections, Optional<InetSocketAddress> metricsAddress) {
    public static final Duration DEFAULT_LOAD_REPORT_INTERVAL = Duration.ofSeconds(10);

    public Config(SourceSpec source, String xdsAddress, int xdsPort, String adminAddress, int adminPort,
        Duration debounceQuiet, Duration debounceMax, Duration filePoll, EnvoyTranslator.Settings envoy,
        Duration loadReportInterval, XdsServer.Connections xdsConnections) {
      this(source, xdsAddress, xdsPort, adminAddress, adminPort, debounceQuiet, debounceMax, filePoll, envoy,
          loadReportInterval, xdsConnections, Optional.empty());
    }

    public Config(SourceSpec source, String xdsAddress, int xdsPort, String adminAddress, int adminPort,
        Duration debounceQuiet, Duration debounceMax, Duration filePoll, EnvoyTranslator.Settings envoy,
        Duration loadReportInterval) {
      this(source, xdsAddress, xdsPort, adminAddress, adminPort, debounceQuiet, debounceMax, filePoll, envoy,
          loadReportInterval, XdsServer.Connections.DEFAULT);
    }

    public static Config forFile(Path file) {
      return new Config(new SourceSpec.File(file), "0.0.0.0", 18000, "127.0.0.1", 18001, Duration.ofMillis(100),
          Duration.ofSeconds(1), Duration.ofSeconds(2), EnvoyTranslator.Settings.DEFAULT,
          DEFAULT_LOAD_REPORT_INTERVAL);
    }

    public Config withLoadReportInterval(Duration interval) {
      return new Config(source, xdsAddress, xdsPort, adminAddress, adminPort, debounceQuiet, debounceMax, filePoll,
          envoy, interval, xdsConnections, metricsAddress);
    }
  }

  private final Clock clock;
  private final ExecutorScheduler scheduler;
  private final XdsCache cache;
  private final Pipeline pipeline;
  private final Source source;
  private final KubeStatusWriter statusWriter;
  private final XdsServer xds;
  private final AdminServer admin;
  /** {@code --metrics-address}: /metrics, /healthz and /readyz alone. */
  private final AdminServer metricsServer;
  private final LoadTracker load;
  private final EbbMetrics metrics;
  private volatile Thread warmupThread;
  /** The translator's warnings about the last published config (UpstreamProtocols), for /status. */
  private volatile List<ConfigError> translationWarnings = List.of();
  /** What the xDS cache and server report to. */
  final XdsEvents xdsEvents;

  /** What the warm-up's private cache and server report to: listeners of the same classes, recording nothing. */
  XdsEvents warmupEvents() {
    return xdsEvents.idle();
  }

  /** The desired state those warnings were computed from (publisher thread only). */
  private dev.ebb.rollout.DesiredState protocolsInput;

  public EbbServer(Config config, Clock clock) {
    this(config, clock, XdsEvents.NONE, Optional.empty());
  }

  /**
   * @param kubernetes the client for the Kubernetes source (required with it; tests pass a mock server's)
   */
  public EbbServer(Config config, Clock clock, XdsEvents events, Optional<KubernetesClient> kubernetes) {
    this.clock = clock;
    this.scheduler = new ExecutorScheduler(clock, "ebb-publisher");
    RejectionEvents rejections = new RejectionEvents();
    this.load = new LoadTracker(clock);
    XdsCache[] cacheRef = new XdsCache[1];
    this.metrics = new EbbMetrics(() -> cacheRef[0] == null ? List.of() : cacheRef[0].streams(), load);
    XdsEvents allEvents = XdsEvents.both(events, XdsEvents.both(rejections, metrics));
    this.xdsEvents = allEvents;
    this.cache = new XdsCache(clock, allEvents);
    cacheRef[0] = cache;
    LrsService lrs = new LrsService(load, config.loadReportInterval());
    Pipeline.Listener listener = new Pipeline.Listener() {
      @Override
      public void built(Pipeline.Published published, Duration took) {
        lrs.track(published.snapshot().clusterNames());
        metrics.built(published, took);
        if (protocolsInput == null || !UpstreamProtocols.sameInputs(protocolsInput, published.desired())) {
          protocolsInput = published.desired(); // a weight change does not change who shares a backend
          translationWarnings(UpstreamProtocols.of(published.desired()).warnings());
        }
        if (source instanceof KubernetesSource ks) {
          // draining backends stay in the model with their live EndpointSlices
          ks.holdBackends(published.desired().backends().stream().filter(b -> b.draining())
              .map(b -> b.backend().name()).collect(Collectors.toSet()));
        }
      }

      @Override
      public void drainsEnded(List<RolloutEngine.EndedDrain> ended, java.time.Instant now) {
        metrics.drainsEnded(ended, now);
        if (statusWriter != null) {
          List<EbbMetrics.EndedDrain> recent = metrics.recentDrains();
          statusWriter.drainsEnded(recent.subList(0, Math.min(ended.size(), recent.size())));
        }
      }
    };
    EnvoyTranslator translator = new EnvoyTranslator(config.envoy());
    if (config.source() instanceof SourceSpec.File f) {
      DrainStore drains = new FileDrainStore(f.drainStateFile());
      this.pipeline = new Pipeline(scheduler, config.debounceQuiet(), config.debounceMax(), translator, cache, drains,
          load::idleSince, config.loadReportInterval(), listener);
      this.source = new FileSource(f.path(), f.drainStateFile(), pipeline::submit, clock, config.filePoll());
      this.statusWriter = null;
    } else {
      SourceSpec.Kubernetes k = (SourceSpec.Kubernetes) config.source();
      KubernetesClient client = kubernetes.orElseThrow(() -> new IllegalArgumentException(
          "the kubernetes source needs a Kubernetes client"));
      List<ListenerSpec> listeners = k.listeners().map(EbbServer::readListeners).orElse(List.of(ListenerSpec.DEFAULT));
      Pipeline[] p = new Pipeline[1];
      Path tlsBase = k.listeners().map(f -> f.toAbsolutePath().getParent()).orElse(Path.of("."));
      KubernetesSource ks = new KubernetesSource(client, k.namespaces(), listeners, tlsBase, m -> p[0].submit(m),
          clock);
      // only the leader decides that a drain ended early; followers follow its record (SPEC 5: same bytes)
      p[0] = new Pipeline(scheduler, config.debounceQuiet(), config.debounceMax(), translator, cache,
          ks.drainStore(), new LeaderIdleSignal(), config.loadReportInterval(), listener);
      this.pipeline = p[0];
      this.source = ks;
      this.statusWriter = new KubeStatusWriter(client, ks, pipeline, clock, k.identity(), k.leaseNamespace(),
          k.leaseDuration());
      statusWriter.streamsFrom(load::openStreams, () -> cacheRef[0].streams());
    }
    rejections.writer = statusWriter;
    if (statusWriter != null) {
      metrics.statusWriter(statusWriter::failures);
    }
    metrics.watch(() -> source);
    source.onStatus(metrics::sourceRead);
    this.xds = new XdsServer(new InetSocketAddress(config.xdsAddress(), config.xdsPort()), cache, lrs,
        config.xdsConnections(), allEvents);
    lrs.guard(xds.guard());
    AdminBackend backend = new AdminBackend();
    this.admin = new AdminServer(new InetSocketAddress(config.adminAddress(), config.adminPort()), backend);
    this.metricsServer = config.metricsAddress().map(a -> new AdminServer(a, backend, false)).orElse(null);
  }

  /** The listeners block of a YAML file (SPEC 5, Kubernetes mode); any error in it stops the start. */
  static List<ListenerSpec> readListeners(Path file) {
    try {
      ParsedConfig parsed = FileConfigParser.parse(Files.readString(file, StandardCharsets.UTF_8),
          file.getFileName().toString());
      if (!parsed.errors().isEmpty()) {
        throw new IllegalArgumentException(parsed.errors().stream().map(ConfigError::describe)
            .collect(Collectors.joining("; ")));
      }
      return parsed.listeners();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read listeners file " + file + ": " + e.getMessage(), e);
    }
  }

  public EbbServer start() {
    // the first build after a change, and its responses, run compiled code (SPEC 8); Settings change values,
    // not code paths
    // once per JVM
    dev.ebb.xds.XdsWarmup serving = dev.ebb.publish.Warmup.available()
        ? new dev.ebb.xds.XdsWarmup(warmupEvents()) : null;
    Optional<dev.ebb.publish.Warmup> warmup = serving == null ? Optional.empty()
        : dev.ebb.publish.Warmup.once(EnvoyTranslator.Settings.DEFAULT, serving);
    try {
      warmup.ifPresent(w -> w.beforeReady(WARMUP_BUDGET));
    } catch (RuntimeException e) {
      // a warm-up only saves time: the server starts without it
      LOG.warn("the warm-up failed, the first changes will run cold: {}", e.toString());
      warmup = Optional.empty();
    }
    if (warmup.isEmpty() && serving != null) {
      serving.close();
    }
    xds.start();
    source.start();
    if (statusWriter != null) {
      statusWriter.start();
    }
    admin.start();
    if (metricsServer != null) {
      metricsServer.start();
    }
    warmup.ifPresent(w -> warmInBackground(w, serving));
    return this;
  }

  /**
   * The rest of the warm-up (SPEC 8), after /readyz: on 2 cores the JIT needs far longer than a start should
   * wait to compile the change path for a large config. It waits until the first config is published and while
   * proxies connect, and ends at the next config published (a change, or a drain that ended).
   */
  private void warmInBackground(dev.ebb.publish.Warmup warmup, dev.ebb.xds.XdsWarmup serving) {
    java.util.function.BooleanSupplier busy = busyWhileConnecting(() -> cache.streams().size(),
        pipeline::generation, System::nanoTime);
    java.util.function.BooleanSupplier stop = () -> pipeline.generation() > 1;
    Thread t = new Thread(() -> {
      try (serving) {
        // once no proxy connects: the first real changes then find the transport's code compiled too (framing,
        // flow control, buffers)
        warmup.inBackground(WARMUP_BACKGROUND_MAX, busy, stop, serving::overTransport);
      } catch (RuntimeException e) {
        if (!Thread.currentThread().isInterrupted()) {
          LOG.warn("the background warm-up stopped: {}", e.toString());
        }
      }
    }, "ebb-warmup");
    t.setDaemon(true);
    warmupThread = t;
    t.start();
  }

  /**
   * Busy while no config is published, and for a second after the number of streams last changed (proxies
   * connect over seconds; a check between two of them would miss it).
   */
  static java.util.function.BooleanSupplier busyWhileConnecting(java.util.function.LongSupplier streams,
      java.util.function.LongSupplier generation, java.util.function.LongSupplier nanoTime) {
    long[] last = {-1, 0}; // stream count, when it last changed
    return () -> {
      long now = nanoTime.getAsLong();
      long count = streams.getAsLong();
      if (count != last[0]) {
        last[0] = count;
        last[1] = now;
      }
      return generation.getAsLong() == 0 || now - last[1] < 1_000_000_000L;
    };
  }

  /** Whether the warm-up after /readyz still runs (benchmarks wait for it). */
  public boolean warmingUp() {
    Thread t = warmupThread;
    return t != null && t.isAlive();
  }

  public int xdsPort() {
    return xds.port();
  }

  /** The port of {@code --metrics-address}, if given. */
  public Optional<Integer> metricsPort() {
    return Optional.ofNullable(metricsServer).map(AdminServer::port);
  }

  public int adminPort() {
    return admin.port();
  }

  public Pipeline pipeline() {
    return pipeline;
  }

  /** The injected clock was moved (tests): drain deadlines and debounce timers follow it at once. */
  public void clockChanged() {
    scheduler.clockChanged();
  }

  public XdsCache cache() {
    return cache;
  }

  public Source source() {
    return source;
  }

  public LoadTracker load() {
    return load;
  }

  public EbbMetrics metrics() {
    return metrics;
  }

  /** Whether this replica writes status and Events (always false for the file source). */
  public boolean leader() {
    return statusWriter != null && statusWriter.leader();
  }

  /** Logs each translator warning once, when it appears; /status shows those of the last build. */
  private void translationWarnings(List<ConfigError> now) {
    List<ConfigError> before = translationWarnings;
    if (!now.equals(before)) {
      now.stream().filter(w -> !before.contains(w)).forEach(w -> LOG.warn(w.describe()));
      translationWarnings = now;
    }
  }

  public Optional<String> notReadyReason() {
    if (!xds.running()) {
      return Optional.of("the xDS server is not running");
    }
    if (!source.status().synced()) {
      return Optional.of("the " + source.status().kind() + " source has not synced ("
          + source.status().errors().stream().map(ConfigError::describe).findFirst().orElse("reading") + ")");
    }
    if (pipeline.published().isEmpty()) {
      return Optional.of("no config published yet");
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    Thread warm = warmupThread;
    if (warm != null) {
      warm.interrupt();
    }
    admin.close();
    if (metricsServer != null) {
      metricsServer.close();
    }
    if (statusWriter != null) {
      statusWriter.close();
    }
    source.close();
    xds.close();
    scheduler.close();
  }

  /** Load reports' verdict, on the leader only: a follower never ends a drain early on its own reports. */
  private final class LeaderIdleSignal implements RolloutEngine.IdleSignal {
    @Override
    public boolean idleSince(String backend, java.time.Instant since) {
      return statusWriter != null && statusWriter.leader() && load.idleSince(backend, since);
    }

    @Override
    public String reason(String backend) {
      return load.idleReason() + " (nodes reporting to " + statusWriter.identity()
          + "; nodes connected to other replicas are not seen)";
    }
  }

  /** A NACK becomes a ConfigRejected Event on the route Services whose resources were rejected. */
  private final class RejectionEvents implements XdsEvents {
    volatile KubeStatusWriter writer;

    @Override
    public XdsEvents idle() {
      return new RejectionEvents(); // no writer: writes nothing
    }

    @Override
    public void nacked(StreamState stream, TypeUrl type, String version, String detail, Set<String> names) {
      KubeStatusWriter w = writer;
      if (w == null || pipeline.published().isEmpty()) {
        return;
      }
      boolean envoy = stream.group().map(NodeGroup::envoy).orElse(false);
      List<Route> affected = new ArrayList<>();
      for (var r : pipeline.published().get().desired().routes()) {
        Route route = r.route();
        boolean hit = switch (type) {
          case CLUSTER, ENDPOINT -> route.backendNames().stream().anyMatch(names::contains);
          case LISTENER -> envoy ? names.contains(route.listener())
              : route.hosts().stream().anyMatch(names::contains);
          case ROUTE -> envoy
              ? names.contains(route.listener()) || route.hosts().stream()
                  .anyMatch(h -> names.contains(EnvoyTranslator.scopedRouteName(route.listener(), h)))
              : route.hosts().stream().anyMatch(names::contains);
          // a rejected scope concerns every route of its listener (scope names are "<listener>/<host>")
          case SCOPED_ROUTE -> envoy && names.stream().anyMatch(n -> n.startsWith(route.listener() + "/"));
          // a rejected certificate concerns every route on a listener that names it
          case SECRET -> envoy && pipeline.published().get().desired().listeners().stream()
              .anyMatch(l -> l.name().equals(route.listener()) && l.secretName().filter(names::contains).isPresent());
        };
        if (hit) {
          affected.add(route);
        }
      }
      for (Route r : affected) {
        String[] nsName = r.name().split("/", 2);
        if (nsName.length == 2) {
          w.configRejected(nsName[0], nsName[1], type.shortName() + "|" + version + "|" + detail,
              "node " + stream.nodeId() + " rejected " + type.shortName() + " version " + version + ": " + detail);
        }
      }
    }
  }

  private final class AdminBackend implements AdminServer.Backend {
    @Override
    public Optional<String> notReadyReason() {
      return EbbServer.this.notReadyReason();
    }

    @Override
    public Map<String, Object> status() {
      Map<String, Object> doc = StatusReport.build(source.status(), pipeline, cache, load, metrics.recentDrains(),
          notReadyReason().isEmpty(), clock.instant());
      List<ConfigError> translated = translationWarnings;
      if (!translated.isEmpty()) {
        // what the translator warns about (a backend shared by grpc and other routes), beside the sources' warnings
        List<Object> warnings = new ArrayList<>((List<?>) doc.getOrDefault("warnings", List.of()));
        translated.forEach(w -> warnings.add(w.describe()));
        doc.put("warnings", warnings);
      }
      if (statusWriter != null) {
        doc.put("leader", Map.of("self", statusWriter.leader(), "current", statusWriter.currentLeader()));
        Map<String, Object> writes = new java.util.LinkedHashMap<>();
        writes.put("failures", statusWriter.failures());
        statusWriter.lastFailure().ifPresent(f -> writes.put("lastFailure", f));
        doc.put("statusWrites", writes);
      }
      return doc;
    }

    @Override
    public String metrics() {
      return metrics.scrape();
    }

    @Override
    public Optional<ConfigDump.Input> configDump() {
      Set<NodeGroup> groups = cache.streams().stream().map(StreamState::group).flatMap(Optional::stream)
          .collect(Collectors.toCollection(java.util.LinkedHashSet::new));
      return pipeline.published().map(p -> new ConfigDump.Input(p.snapshot(), p.desired().listeners(), groups));
    }
  }
}
