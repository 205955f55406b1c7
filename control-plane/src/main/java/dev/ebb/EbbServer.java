package dev.ebb;

import dev.ebb.admin.AdminServer;
import dev.ebb.admin.ConfigDump;
import dev.ebb.admin.StatusReport;
import dev.ebb.publish.ExecutorScheduler;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Pipeline;
import dev.ebb.source.FileDrainStore;
import dev.ebb.source.FileSource;
import dev.ebb.source.Source;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.xds.StreamState;
import dev.ebb.xds.XdsCache;
import dev.ebb.xds.XdsEvents;
import dev.ebb.xds.XdsServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** The one composition root: source, pipeline, xDS server and admin server, started and closed together. */
public final class EbbServer implements AutoCloseable {
  /** Everything {@code ebb serve} can be told. */
  public record Config(Path file, String xdsAddress, int xdsPort, String adminAddress, int adminPort,
      Duration debounceQuiet, Duration debounceMax, Duration filePoll, EnvoyTranslator.Settings envoy) {
    public static Config forFile(Path file) {
      return new Config(file, "0.0.0.0", 18000, "127.0.0.1", 18001, Duration.ofMillis(100), Duration.ofSeconds(1),
          Duration.ofSeconds(2), EnvoyTranslator.Settings.DEFAULT);
    }

    public Config withPorts(int xds, int admin) {
      return new Config(file, xdsAddress, xds, adminAddress, admin, debounceQuiet, debounceMax, filePoll, envoy);
    }
  }

  private final Config config;
  private final Clock clock;
  private final ExecutorScheduler scheduler;
  private final XdsCache cache;
  private final Pipeline pipeline;
  private final FileDrainStore drainStore;
  private final Source source;
  private final XdsServer xds;
  private final AdminServer admin;

  public EbbServer(Config config, Clock clock) {
    this(config, clock, XdsEvents.NONE);
  }

  public EbbServer(Config config, Clock clock, XdsEvents events) {
    this.config = config;
    this.clock = clock;
    this.scheduler = new ExecutorScheduler(clock, "ebb-publisher");
    this.cache = new XdsCache(clock, events);
    this.drainStore = new FileDrainStore(FileDrainStore.besides(config.file()));
    this.pipeline = new Pipeline(scheduler, config.debounceQuiet(), config.debounceMax(),
        new EnvoyTranslator(config.envoy()), cache, drainStore);
    this.source = new FileSource(config.file(), pipeline::submit, clock, config.filePoll());
    this.xds = new XdsServer(new InetSocketAddress(config.xdsAddress(), config.xdsPort()), cache);
    this.admin = new AdminServer(new InetSocketAddress(config.adminAddress(), config.adminPort()),
        new AdminBackend());
  }

  public EbbServer start() {
    xds.start();
    source.start();
    admin.start();
    return this;
  }

  public int xdsPort() {
    return xds.port();
  }

  public int adminPort() {
    return admin.port();
  }

  public Pipeline pipeline() {
    return pipeline;
  }

  public XdsCache cache() {
    return cache;
  }

  public Source source() {
    return source;
  }

  public Optional<String> notReadyReason() {
    if (!xds.running()) {
      return Optional.of("the xDS server is not running");
    }
    if (!source.status().synced()) {
      return Optional.of("the " + source.status().kind() + " source has not synced ("
          + source.status().errors().stream().map(e -> e.describe()).findFirst().orElse("reading") + ")");
    }
    if (pipeline.published().isEmpty()) {
      return Optional.of("no config published yet");
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    admin.close();
    source.close();
    xds.close();
    scheduler.close();
  }

  private final class AdminBackend implements AdminServer.Backend {
    @Override
    public Optional<String> notReadyReason() {
      return EbbServer.this.notReadyReason();
    }

    @Override
    public Map<String, Object> status() {
      return StatusReport.build(source.status(), pipeline, cache, notReadyReason().isEmpty(), clock.instant());
    }

    @Override
    public Optional<String> configDump() {
      Set<NodeGroup> groups = cache.streams().stream().map(StreamState::group).flatMap(Optional::stream)
          .collect(Collectors.toCollection(java.util.LinkedHashSet::new));
      return pipeline.published().map(p -> ConfigDump.render(p.snapshot(), groups));
    }
  }
}
