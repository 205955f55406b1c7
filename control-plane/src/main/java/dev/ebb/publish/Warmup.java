package dev.ebb.publish;

import dev.ebb.api.file.FileConfigParser;
import dev.ebb.api.file.ParsedConfig;
import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.ListenerTls;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Route;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.TlsSecret;
import dev.ebb.api.text.Durations;
import dev.ebb.api.text.Weights;
import dev.ebb.rollout.DrainState;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.translate.EnvoyTranslator;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the read of an edited file, the build of a config (rollout, translate, hash and check, node group views,
 * serialization) and, through {@code serving}, the planning and sending of responses, on a synthetic model
 * before the sources start, so that the first real change after /readyz runs compiled code instead of the
 * interpreter and loading classes (a cold first build of even one route takes about a second). Nothing is read
 * or written and nothing is shared with the real pipeline: a fresh parser and translator, a synthetic model, and a
 * clock that is only an argument.
 */
public final class Warmup {
  private static final Logger LOG = LoggerFactory.getLogger(Warmup.class);
  static final int ROUTES = 200;
  /** Enough builds for the JIT's second tier to compile the per-route and per-resource code. */
  static final int MAX_BUILDS = 20;
  private static final Instant T0 = Instant.parse("2000-01-01T00:00:00Z");
  private static final List<NodeGroup> GROUPS = List.of(new NodeGroup(true, ""), new NodeGroup(true, "warm"),
      NodeGroup.GRPC);
  private static final AtomicBoolean DONE = new AtomicBoolean();

  /** What a warm-up did; runs of as many builds end on the same {@code lastVersion}: no state is carried. */
  public record Result(int builds, long bytes, String lastVersion, Duration took, int parsedItems) {}

  private Warmup() {}

  /**
   * Builds configs of up to {@value #ROUTES} routes, each a little different from the one before (weights,
   * promotions that start drains, drains that end), {@value #MAX_BUILDS} times or until {@code budget} is spent.
   * The budget is checked between stages, so it is overrun by at most one stage. Returns how long it took.
   */
  public static Duration run(EnvoyTranslator.Settings settings, Duration budget) {
    return run(settings, budget, snapshot -> {});
  }

  /**
   * The same, and each config built is handed to {@code serving} (the ADS side's warm-up, which plans and
   * serializes responses for simulated streams); then, while budget remains, waits for the JIT to finish what
   * the warm-up gave it to compile, so that compiling does not compete with the first changes.
   */
  public static Duration run(EnvoyTranslator.Settings settings, Duration budget, Consumer<XdsSnapshot> serving) {
    long start = System.nanoTime();
    long deadline = start + budget.toNanos();
    Result r = run(settings, budget, MAX_BUILDS, serving);
    long jitMs = waitForCompiler(deadline);
    LOG.info("warmed up the config build: {} builds of up to {} routes ({} KiB serialized, {} file items parsed) "
        + "in {} ms, then {} ms for the JIT", r.builds(), routesAt(Math.max(0, r.builds() - 1)), r.bytes() / 1024,
        r.parsedItems(), r.took().toMillis(), jitMs);
    return Duration.ofNanos(System.nanoTime() - start);
  }

  /**
   * The same, once per JVM: compiled code belongs to the JVM, so a second server in the same process (tests,
   * benchmarks) gains nothing from another warm-up.
   */
  public static Duration once(EnvoyTranslator.Settings settings, Duration budget) {
    return once(settings, budget, snapshot -> {});
  }

  public static Duration once(EnvoyTranslator.Settings settings, Duration budget, Consumer<XdsSnapshot> serving) {
    return DONE.compareAndSet(false, true) ? run(settings, budget, serving) : Duration.ZERO;
  }

  /**
   * Until the JIT's compile time grows by less than 5 ms in 50 ms, or the deadline; returns how long it waited.
   * A JVM without that counter does not wait.
   */
  static long waitForCompiler(long deadline) {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    long start = System.nanoTime();
    if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
      return 0;
    }
    long before = jit.getTotalCompilationTime();
    while (System.nanoTime() + 50_000_000L < deadline) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      long now = jit.getTotalCompilationTime();
      if (now - before < 5) {
        break;
      }
      before = now;
    }
    return (System.nanoTime() - start) / 1_000_000;
  }

  static Result run(EnvoyTranslator.Settings settings, Duration budget, int maxBuilds) {
    return run(settings, budget, maxBuilds, snapshot -> {});
  }

  /** At most {@code maxBuilds} builds within {@code budget}, each handed to {@code serving}; no JIT wait. */
  public static Result run(EnvoyTranslator.Settings settings, Duration budget, int maxBuilds,
      Consumer<XdsSnapshot> serving) {
    long start = System.nanoTime();
    long deadline = start + budget.toNanos();
    EnvoyTranslator translator = new EnvoyTranslator(settings);
    FileConfigParser.Incremental parser = new FileConfigParser.Incremental();
    DrainState drains = DrainState.EMPTY;
    XdsSnapshot previous = null;
    long bytes = 0;
    int builds = 0;
    int parsed = 0;
    while (builds < maxBuilds && System.nanoTime() < deadline) {
      Instant now = T0.plusSeconds(builds);
      Model model = model(builds, routesAt(builds));
      // the file source's read of an edit: most items are the same text as in the last read
      ParsedConfig read = parser.parse(yaml(model), "warmup.yaml");
      parsed += read.routes().size() + read.backends().size();
      RolloutEngine.Result step = RolloutEngine.step(model, drains, now);
      drains = step.next();
      if (System.nanoTime() >= deadline) {
        break;
      }
      XdsSnapshot snapshot = XdsSnapshot.of(translator.translate(step.desired()), previous);
      previous = snapshot;
      builds++;
      serving.accept(snapshot);
      for (NodeGroup group : GROUPS) {
        if (System.nanoTime() >= deadline) {
          break;
        }
        XdsSnapshot.View view = snapshot.view(group);
        for (TypeUrl type : TypeUrl.values()) {
          SortedMap<String, Res> resources = view.of(type);
          if (resources == null) {
            continue;
          }
          for (Res res : resources.values()) {
            bytes += res.message().toByteString().size();
          }
        }
      }
    }
    return new Result(builds, bytes, previous == null ? "" : previous.version(),
        Duration.ofNanos(System.nanoTime() - start), parsed);
  }

  /** A model as the file source's YAML (docs/FILE-FORMAT.md); secrets are not part of the file. */
  static String yaml(Model model) {
    StringBuilder y = new StringBuilder(model.routes().size() * 400 + 1024);
    y.append("# Ebb's warm-up\nlisteners:\n");
    for (ListenerSpec l : model.listeners()) {
      y.append("  - name: ").append(l.name()).append("\n    address: ").append(l.address())
          .append("\n    port: ").append(l.port()).append('\n');
      if (!l.nodeClusters().isEmpty()) {
        y.append("    nodeClusters: [").append(String.join(", ", l.nodeClusters())).append("]\n");
      }
      if (l.tls().orElse(null) instanceof ListenerTls.Files f) {
        y.append("    tls: {certFile: ").append(f.certFile()).append(", keyFile: ").append(f.keyFile()).append("}\n");
      }
      y.append("    trustedHops: ").append(l.trustedHops()).append("\n    accessLog: ").append(l.accessLog())
          .append('\n');
    }
    y.append("routes:\n");
    for (Route r : model.routes()) {
      y.append("  - name: ").append(r.name()).append("\n    hosts: [").append(String.join(", ", r.hosts()))
          .append("]\n    protocol: ").append(r.protocol().name().toLowerCase(java.util.Locale.ROOT))
          .append("\n    pathPrefix: ").append(r.pathPrefix()).append("\n    listener: ").append(r.listener())
          .append("\n    stable: ").append(r.rollout().stable()).append('\n');
      r.rollout().canary().ifPresent(c -> y.append("    canary: ").append(c).append("\n    canaryWeight: ")
          .append(Weights.formatPercent(r.rollout().canaryWeightBasisPoints())).append('\n'));
      y.append("    drainTimeout: ").append(Durations.format(r.drainTimeout())).append("\n    idleTimeout: ")
          .append(Durations.format(r.idleTimeout())).append('\n');
      r.maxStreamDuration().ifPresent(d -> y.append("    maxStreamDuration: ").append(Durations.format(d))
          .append('\n'));
      y.append("    outlierDetection: ").append(r.outlierDetection()).append('\n');
    }
    y.append("backends:\n");
    for (Backend b : model.backends()) {
      y.append("  - name: ").append(b.name()).append("\n    endpoints:\n");
      for (Endpoint e : b.endpoints()) {
        y.append("      - {address: ").append(e.address()).append(", port: ").append(e.port()).append(", zone: ")
            .append(e.zone()).append(", state: ").append(e.state().name().toLowerCase(java.util.Locale.ROOT))
            .append("}\n");
      }
    }
    return y.toString();
  }

  /**
   * The first builds are small: they load classes and run in the interpreter, where a build of {@value #ROUTES}
   * routes costs more than a second; once the code is compiled, each build is of the full size.
   */
  static int routesAt(int build) {
    return Math.min(ROUTES, 5 << Math.min(build, 10));
  }

  /**
   * Build {@code i}'s model of {@code count} routes: every route moves to its next version every fifth build
   * (staggered, so each build promotes a fifth of them and starts their drains), canary weights change at every
   * build, and drains last three builds, so drains also end. A third each of WebSocket, gRPC and HTTP routes, on a
   * plaintext listener and a TLS one that only some Envoy nodes get.
   */
  static Model model(int i, int count) {
    List<Route> routes = new ArrayList<>();
    List<Backend> backends = new ArrayList<>();
    for (int r = 0; r < count; r++) {
      int version = (i + r) / 5;
      String stable = "warmup-" + r + "-v" + version;
      String canary = "warmup-" + r + "-v" + (version + 1);
      Protocol protocol = Protocol.values()[r % Protocol.values().length];
      List<String> hosts = r % 7 == 0 ? List.of("r" + r + ".warmup.invalid", "r" + r + ".alt.warmup.invalid")
          : List.of("r" + r + ".warmup.invalid");
      routes.add(new Route("warmup-" + r, hosts, protocol, r % 4 == 0 ? "/" : "/api/" + r,
          r % 2 == 0 ? "edge" : "internal", new Rollout(stable, Optional.of(canary), ((i + r) % 5) * 2_500),
          Duration.ofSeconds(3), r % 5 == 0 ? Duration.ZERO : Route.DEFAULT_IDLE_TIMEOUT,
          r % 3 == 0 ? Optional.of(Duration.ofHours(1)) : Optional.empty(), r % 4 == 1));
      backends.add(backend(r, version, i));
      backends.add(backend(r, version + 1, i));
    }
    List<ListenerSpec> listeners = List.of(ListenerSpec.DEFAULT, new ListenerSpec("internal", "0.0.0.0", 10443,
        List.of("warm"), Optional.of(new ListenerTls.Files("warmup.crt", "warmup.key")), 1, true));
    // the translator copies certificate bytes as they are; nothing parses them here
    List<TlsSecret> secrets = List.of(new TlsSecret("internal", "-----BEGIN CERTIFICATE-----\nwarmup\n"
        + "-----END CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\nwarmup\n-----END PRIVATE KEY-----\n",
        "warm-up"));
    return new Model(listeners, routes, backends, secrets);
  }

  private static Backend backend(int route, int version, int build) {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int e = 0; e < 3; e++) {
      // one endpoint of one backend in seven drains at each build: EDS changes without a weight change
      EndpointState state = e == 0 && (route + build) % 7 == 0 ? EndpointState.DRAINING : EndpointState.READY;
      endpoints.add(new Endpoint("10." + (route % 250) + "." + (version % 250) + "." + (e + 1), 8080 + e,
          "zone-" + (e % 2), state));
    }
    return new Backend("warmup-" + route + "-v" + version, endpoints);
  }
}
