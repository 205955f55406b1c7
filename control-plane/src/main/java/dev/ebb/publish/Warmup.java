package dev.ebb.publish;

import dev.ebb.api.file.FileConfigParser;
import dev.ebb.api.file.LastGood;
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
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the read of an edited file, the build of a config (rollout, translate, hash and check, node group views,
 * serialization) and, through {@code serving}, the planning and sending of responses, on a synthetic model
 * before the sources start, so that the first real change after /readyz runs compiled code instead of the
 * interpreter and loading classes (a cold first build of even one route takes about a second): first builds that
 * change everything (every code path: promotions, drains, TLS, scoped routes, both config shapes), then one-route
 * edits as a rollout makes them, continued after /readyz by {@link #inBackground}. Nothing is read or written and
 * nothing is shared with the real pipeline: a fresh parser and translator, a synthetic model, and a clock that is
 * only an argument.
 */
public final class Warmup {
  private static final Logger LOG = LoggerFactory.getLogger(Warmup.class);
  static final int ROUTES = 200;
  /** Enough builds for the JIT's second tier to compile the per-route and per-resource code. */
  static final int MAX_BUILDS = 20;
  /**
   * The size of the config the one-route edits are made on: as many routes as a large fleet's file, so that the
   * code a real edit runs once per unchanged route (the parser's and translator's reuse, the snapshot's) is called
   * often enough for the JIT's second tier, which compiles a method after some thousands of calls.
   */
  static final int EDIT_ROUTES = 1000;
  /** One-route edits after the builds, before /readyz (if the budget allows; the rest come in the background). */
  static final int MAX_EDITS = 40;
  /**
   * The first edits are on a config of {@value #SMALL_ROUTES} routes: the JIT's second tier compiles a method called
   * once per build (read, rollout, translate, snapshot) only after about a thousand calls, however long its loops,
   * and a thousand edits of a large config would take too long.
   */
  static final int SMALL_EDITS = 1200;
  static final int SMALL_ROUTES = 20;
  /** Edits on a config of one shape before it changes to the other. */
  static final int SHAPE_RUN = 20;
  /** The background warm-up stops when the JIT compiled for less than this over that many edits. */
  static final long QUIET_MS = 30;
  static final int QUIET_WINDOW = 10;
  private static final long PAUSE_MS = 500;
  private static final Instant T0 = Instant.parse("2000-01-01T00:00:00Z");
  private static final List<NodeGroup> GROUPS = List.of(new NodeGroup(true, ""), new NodeGroup(true, "warm"),
      NodeGroup.GRPC);
  private static final AtomicBoolean DONE = new AtomicBoolean();

  /**
   * What a warm-up did: {@code builds} of synthetic configs that change throughout, then {@code edits} of one
   * route at a time ({@value #SMALL_EDITS} on {@value #SMALL_ROUTES} routes, then on {@value #EDIT_ROUTES}); runs
   * of as many builds and edits end on the same {@code lastVersion}: no state is carried.
   */
  public record Result(int builds, int edits, long bytes, String lastVersion, Duration buildsTook, Duration took,
      int parsedItems) {}

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
    return new Warmup(settings, serving).beforeReady(budget);
  }

  /** Whether {@link #once} would still make a warm-up in this JVM. */
  public static boolean available() {
    return !DONE.get();
  }

  /**
   * A warm-up to run with {@link #beforeReady} and then {@link #inBackground}, once per JVM: compiled code belongs
   * to the JVM, so a second server in the same process (tests, benchmarks) gains nothing from another warm-up.
   * Empty if one was made before.
   */
  public static Optional<Warmup> once(EnvoyTranslator.Settings settings, Consumer<XdsSnapshot> serving) {
    return DONE.compareAndSet(false, true) ? Optional.of(new Warmup(settings, serving)) : Optional.empty();
  }

  /** Builds and edits as {@link #run(EnvoyTranslator.Settings, Duration, Consumer)} does. */
  public Duration beforeReady(Duration budget) {
    long start = System.nanoTime();
    long deadline = start + budget.toNanos();
    Result r = run(budget, MAX_BUILDS, MAX_EDITS);
    long jitMs = waitForCompiler(deadline);
    LOG.info("warmed up the config build: {} builds of up to {} routes ({} KiB serialized) in {} ms, {} one-route "
        + "edits of {} routes in {} ms ({} file items parsed), then {} ms for the JIT", r.builds(),
        routesAt(Math.max(0, r.builds() - 1)), r.bytes() / 1024, r.buildsTook().toMillis(), r.edits(),
        editSizes(0, edits),
        r.took().minus(r.buildsTook()).toMillis(), r.parsedItems(), jitMs);
    return Duration.ofNanos(System.nanoTime() - start);
  }

  /**
   * After {@code /readyz}, in the calling thread: more one-route edits until the JIT has compiled what they run (its
   * compile time grew by less than {@value #QUIET_MS} ms over the last {@value #QUIET_WINDOW} edits), at most
   * {@code max}. On 2 cores the JIT needs tens of seconds of one core to compile the change path, more than a
   * start should wait. It waits while {@code busy} says the server works (proxies connecting), and ends when
   * {@code stop} says a real change came: from then on real changes compile the change path, and the warm-up
   * would only compete with them. Returns the number of edits; stops early when interrupted.
   */
  public int inBackground(Duration max, BooleanSupplier busy, BooleanSupplier stop) {
    return inBackground(max, busy, stop, null);
  }

  /**
   * As {@link #inBackground(Duration, BooleanSupplier, BooleanSupplier)}, running {@code first} (if not null) once,
   * when nothing is busy, before the first edit.
   */
  public int inBackground(Duration max, BooleanSupplier busy, BooleanSupplier stop, Runnable first) {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
    return inBackground(max, busy, stop, first, timed ? jit::getTotalCompilationTime : () -> -1);
  }

  /** As above, with the JIT's total compile time in ms read from {@code jitMillis} (-1: not known). */
  int inBackground(Duration max, BooleanSupplier busy, BooleanSupplier stop, Runnable first,
      java.util.function.LongSupplier jitMillis) {
    long start = System.nanoTime();
    long deadline = start + max.toNanos();
    int before = edits;
    long windowJit = jitMillis.getAsLong();
    int windowStart = edits;
    boolean quiet = false;
    boolean stopped = false;
    while (!Thread.currentThread().isInterrupted() && System.nanoTime() < deadline) {
      if (stop.getAsBoolean()) {
        stopped = true;
        break;
      }
      if (busy.getAsBoolean()) {
        try {
          Thread.sleep(PAUSE_MS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
        continue;
      }
      if (first != null) {
        first.run();
        first = null;
        continue; // it took time: look at busy and stop again
      }
      if (!edit(deadline)) {
        break;
      }
      if (edits <= SMALL_EDITS) {
        // small edits are too quick to judge the JIT by
        windowStart = edits;
        windowJit = windowJit < 0 ? -1 : jitMillis.getAsLong();
        continue;
      }
      if (edits - windowStart >= QUIET_WINDOW) {
        long now = windowJit < 0 ? 0 : jitMillis.getAsLong();
        if (windowJit < 0 || now - windowJit < QUIET_MS) {
          quiet = true;
          break;
        }
        windowJit = now;
        windowStart = edits;
      }
    }
    LOG.info("warmed up in the background: {} more one-route edits of {} routes in {} ms{}", edits - before,
        editSizes(before, edits), (System.nanoTime() - start) / 1_000_000,
        quiet ? ", until the JIT was quiet" : stopped ? ", until a change came" : ", stopped before the JIT was quiet");
    return edits - before;
  }

  /** The sizes of the configs edits {@code from} (inclusive) to {@code to} (exclusive) were made on, for the log. */
  static String editSizes(int from, int to) {
    if (from >= SMALL_EDITS) {
      return String.valueOf(EDIT_ROUTES);
    }
    return to <= SMALL_EDITS ? String.valueOf(SMALL_ROUTES) : SMALL_ROUTES + " then " + EDIT_ROUTES;
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

  static Result run(EnvoyTranslator.Settings settings, Duration budget, int maxBuilds, int maxEdits) {
    return run(settings, budget, maxBuilds, maxEdits, snapshot -> {});
  }

  /**
   * At most {@code maxBuilds} builds, then at most {@code maxEdits} one-route edits, within {@code budget}, each
   * config handed to {@code serving}; no JIT wait.
   */
  public static Result run(EnvoyTranslator.Settings settings, Duration budget, int maxBuilds, int maxEdits,
      Consumer<XdsSnapshot> serving) {
    return new Warmup(settings, serving).run(budget, maxBuilds, maxEdits);
  }

  private final EnvoyTranslator translator;
  private final FileConfigParser.Incremental parser = new FileConfigParser.Incremental();
  private final Consumer<XdsSnapshot> serving;
  private DrainState drains = DrainState.EMPTY;
  private Model lastGood = Model.EMPTY;
  private XdsSnapshot previous;
  private int builds;
  private int parsed;
  private Model editModel;
  private int edits;

  Warmup(EnvoyTranslator.Settings settings, Consumer<XdsSnapshot> serving) {
    this.translator = new EnvoyTranslator(settings);
    this.serving = serving;
  }

  private Result run(Duration budget, int maxBuilds, int maxEdits) {
    long start = System.nanoTime();
    long deadline = start + budget.toNanos();
    long bytes = 0;
    while (builds < maxBuilds && System.nanoTime() < deadline) {
      Instant now = T0.plusSeconds(builds);
      Model model = model(builds, routesAt(builds));
      // the file source's read of an edit: most items are the same text as in the last read
      if (!build(model, now, deadline)) {
        break;
      }
      builds++;
      for (NodeGroup group : GROUPS) {
        if (System.nanoTime() >= deadline) {
          break;
        }
        XdsSnapshot.View view = previous.view(group);
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
    // then what a rollout does to a large config: one route's weight at a time, now and then one endpoint
    Duration buildsTook = Duration.ofNanos(System.nanoTime() - start);
    while (edits < maxEdits && edit(deadline)) {
      // each edit is built and served
    }
    return new Result(builds, edits, bytes, previous == null ? "" : previous.version(), buildsTook,
        Duration.ofNanos(System.nanoTime() - start), parsed);
  }

  /**
   * The next one-route edit, read, built and served; false if {@code deadline} passed first. Every
   * {@value #SHAPE_RUN} edits the config changes shape (see {@link #model(int, int, boolean)}), so that the code
   * is compiled for both.
   */
  private boolean edit(long deadline) {
    if (System.nanoTime() >= deadline) {
      return false;
    }
    if (edits % SHAPE_RUN == 0 || edits == SMALL_EDITS) {
      editModel = model(0, edits < SMALL_EDITS ? SMALL_ROUTES : EDIT_ROUTES, (edits / SHAPE_RUN) % 2 == 1);
    }
    Model model = edited(editModel, edits);
    if (!build(model, T0.plusSeconds(builds + edits), deadline)) {
      return false;
    }
    editModel = model;
    edits++;
    return true;
  }

  /** One config read from its file, rolled out, translated and served; false if {@code deadline} passed first. */
  private boolean build(Model model, Instant now, long deadline) {
    ParsedConfig read = parser.parse(yaml(model), "warmup.yaml");
    parsed += read.routes().size() + read.backends().size();
    // as the file source does: the read merged with the last good config, then the certificates (here: made up)
    LastGood.Result merged = LastGood.merge(lastGood, read);
    if (!read.errors().isEmpty() || !merged.errors().isEmpty()) {
      throw new IllegalStateException("the warm-up's own file has errors: " + read.errors() + merged.errors());
    }
    lastGood = merged.model();
    Model next = lastGood.withTls(model.listeners(), model.secrets());
    RolloutEngine.Result step = RolloutEngine.step(next, drains, now);
    drains = step.next();
    if (System.nanoTime() >= deadline) {
      return false;
    }
    previous = XdsSnapshot.of(translator.translate(step.desired()), previous);
    serving.accept(previous);
    return true;
  }

  /**
   * {@code model} with edit {@code e} applied: one route's canary weight moves; every third edit, one endpoint of
   * another route's backend also changes state (an EDS change without a weight change).
   */
  static Model edited(Model model, int e) {
    List<Route> routes = new ArrayList<>(model.routes());
    int r = Math.floorMod(e * 37, routes.size());
    for (int i = 0; i < routes.size() && routes.get(r).rollout().canary().isEmpty(); i++) {
      r = (r + 1) % routes.size(); // a weight needs a canary
    }
    if (routes.get(r).rollout().canary().isEmpty()) {
      return model; // no route has one
    }
    Route route = routes.get(r);
    Rollout rollout = route.rollout();
    int weight = (rollout.canaryWeightBasisPoints() + 100 * (1 + e % 7)) % 10_000;
    routes.set(r, route.withRollout(new Rollout(rollout.stable(), rollout.canary(), weight)));
    List<Backend> backends = model.backends();
    if (e % 3 == 2) {
      backends = new ArrayList<>(backends);
      int b = Math.floorMod(e * 13, backends.size());
      for (int i = 0; i < backends.size() && backends.get(b).endpoints().get(0).zone().isEmpty(); i++) {
        // a backend with zones: its endpoints are mappings in the file whatever their state, so the edit moves
        // no item to other lines (the parser reuses an item only where it was)
        b = (b + 1) % backends.size();
      }
      Backend backend = backends.get(b);
      List<Endpoint> endpoints = new ArrayList<>(backend.endpoints());
      Endpoint first = endpoints.get(0);
      endpoints.set(0, new Endpoint(first.address(), first.port(), first.zone(),
          first.state() == EndpointState.READY ? EndpointState.DRAINING : EndpointState.READY));
      backends.set(b, new Backend(backend.name(), endpoints));
    }
    return new Model(model.listeners(), routes, backends, model.secrets());
  }

  /** A model as the file source's YAML (docs/FILE-FORMAT.md); secrets are not part of the file. */
  static String yaml(Model model) {
    StringBuilder y = new StringBuilder(model.routes().size() * 400 + 1024);
    y.append("# Ebb's warm-up\n");
    // fields at their defaults are left out, as people write files
    boolean defaultListener = model.listeners().equals(List.of(ListenerSpec.DEFAULT));
    if (!defaultListener) {
      y.append("listeners:\n");
    }
    for (ListenerSpec l : defaultListener ? List.<ListenerSpec>of() : model.listeners()) {
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
      if (l.routeScoping() != dev.ebb.api.model.RouteScoping.NONE) {
        y.append("    routeScoping: ").append(l.routeScoping().wireName()).append('\n');
      }
    }
    y.append("routes:\n");
    int i = 0;
    for (Route r : model.routes()) {
      // the styles people write: comments, quoted and plain scalars, flow and block lists
      if (i % 4 == 0) {
        y.append("  # route ").append(i).append('\n');
      }
      y.append("  - name: ").append(r.name());
      switch (i++ % 3) {
        case 0 -> y.append("\n    hosts: [\"").append(String.join("\", \"", r.hosts())).append("\"]");
        case 1 -> y.append("\n    hosts: [").append(String.join(", ", r.hosts())).append(']');
        default -> {
          y.append("\n    hosts:");
          r.hosts().forEach(h -> y.append("\n      - '").append(h).append('\''));
        }
      }
      y.append("\n    protocol: ").append(r.protocol().name().toLowerCase(java.util.Locale.ROOT)).append('\n');
      if (!r.pathPrefix().equals("/")) {
        y.append("    pathPrefix: \"").append(r.pathPrefix()).append("\"\n");
      }
      if (!r.listener().equals(ListenerSpec.DEFAULT.name())) {
        y.append("    listener: ").append(r.listener()).append('\n');
      }
      y.append("    stable: ").append(r.rollout().stable()).append('\n');
      r.rollout().canary().ifPresent(c -> y.append("    canary: ").append(c).append("\n    canaryWeight: ")
          .append(Weights.formatPercent(r.rollout().canaryWeightBasisPoints())).append("  # percent\n"));
      y.append("    drainTimeout: ").append(Durations.format(r.drainTimeout())).append('\n');
      if (!r.idleTimeout().equals(Route.DEFAULT_IDLE_TIMEOUT)) {
        y.append("    idleTimeout: ").append(Durations.format(r.idleTimeout())).append('\n');
      }
      r.maxStreamDuration().ifPresent(d -> y.append("    maxStreamDuration: ").append(Durations.format(d))
          .append('\n'));
      if (r.outlierDetection()) {
        y.append("    outlierDetection: true\n");
      }
    }
    y.append("backends:\n");
    for (Backend b : model.backends()) {
      y.append("  - name: ").append(b.name()).append("\n    endpoints:");
      if (b.endpoints().stream().allMatch(e -> e.zone().isEmpty() && e.state() == EndpointState.READY)) {
        // "ADDRESS:PORT" strings
        y.append(b.endpoints().stream().map(e -> "\"" + e.address() + ":" + e.port() + "\"")
            .collect(java.util.stream.Collectors.joining(", ", " [", "]\n")));
        continue;
      }
      y.append('\n');
      for (Endpoint e : b.endpoints()) {
        y.append("      - {address: ").append(e.address()).append(", port: ").append(e.port());
        if (!e.zone().isEmpty()) {
          y.append(", zone: ").append(e.zone());
        }
        y.append(", state: ").append(e.state().name().toLowerCase(java.util.Locale.ROOT)).append("}\n");
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
   * plaintext listener and a TLS one, scoped by host, that only some Envoy nodes get.
   */
  static Model model(int i, int count) {
    return model(i, count, i % 2 == 1);
  }

  /**
   * The same; {@code plain}: the shape of a file that sets only what it needs, as the bundled example does: no
   * listeners (the default one), no certificates, some routes with no canary. The JIT compiles for the shapes it
   * has seen: a warm-up of one shape only leaves code that a config of the other shape sends back to the
   * interpreter at its first read.
   */
  static Model model(int i, int count, boolean plain) {
    List<Route> routes = new ArrayList<>();
    List<Backend> backends = new ArrayList<>();
    for (int r = 0; r < count; r++) {
      int version = (i + r) / 5;
      String stable = "warmup-" + r + "-v" + version;
      String canary = "warmup-" + r + "-v" + (version + 1);
      Protocol protocol = Protocol.values()[r % Protocol.values().length];
      List<String> hosts = r % 7 == 0 ? List.of("r" + r + ".warmup.invalid", "r" + r + ".alt.warmup.invalid")
          : List.of("r" + r + ".warmup.invalid");
      Rollout rollout = plain && r % 3 == 2 ? new Rollout(stable, Optional.empty(), 0)
          : new Rollout(stable, Optional.of(canary), ((i + r) % 5) * 2_500);
      routes.add(new Route("warmup-" + r, hosts, protocol, r % 4 == 0 ? "/" : "/api/" + r,
          plain || r % 2 == 0 ? "edge" : "internal", rollout,
          Duration.ofSeconds(3), r % 5 == 0 ? Duration.ZERO : Route.DEFAULT_IDLE_TIMEOUT,
          r % 3 == 0 ? Optional.of(Duration.ofHours(1)) : Optional.empty(), r % 4 == 1));
      backends.add(backend(r, version, i));
      if (rollout.canary().isPresent()) {
        backends.add(backend(r, version + 1, i));
      }
    }
    if (plain) {
      return new Model(List.of(ListenerSpec.DEFAULT), routes, backends, List.of());
    }
    // the TLS listener scopes its routes by host (SRDS), as a large Envoy fleet's does
    List<ListenerSpec> listeners = List.of(ListenerSpec.DEFAULT, new ListenerSpec("internal", "0.0.0.0", 10443,
        List.of("warm"), Optional.of(new ListenerTls.Files("warmup.crt", "warmup.key")), 1, true,
        dev.ebb.api.model.RouteScoping.HOST));
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
      // half the backends have no zones: the file gives them as "ADDRESS:PORT" while all are ready
      endpoints.add(new Endpoint("10." + (route % 250) + "." + (version % 250) + "." + (e + 1), 8080 + e,
          route % 2 == 0 ? "" : "zone-" + (e % 2), state));
    }
    return new Backend("warmup-" + route + "-v" + version, endpoints);
  }
}
