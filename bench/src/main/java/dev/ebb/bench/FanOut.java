package dev.ebb.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One fan-out run: a server JVM ({@link BenchServer}) in one mode, N simulated nodes of one kind on real ADS
 * streams, then the workloads one after the other (each: a first change, warm-up changes, measured changes).
 * Propagation of a change: from the edit of the file (the rename) to the ACK of the last node that had to get
 * it (whose token changed); nodes whose config did not change are not waited for, but whatever they are sent is
 * counted in bytes, responses and CPU.
 */
final class FanOut {
  /**
   * Options of a run.
   *
   * @param warmup the least number of warm-up changes per workload
   * @param warmupMax the most: warm-up goes on past {@code warmup} while the server's JIT compiled for more than
   *     {@code jitQuietMs} over the last 10 changes, it and the load generator's together (compiling competes
   *     with the fan-out for the 2 cores)
   * @param quietJitBeforeFirstS before the first change, wait up to this many seconds until the server's JIT is
   *     quiet after the sync (compiled under 10 ms in a second), as it is when a rollout starts minutes after the
   *     proxies connected; 0: the first change follows the sync at once
   * @param warmLoadGenerator before the run, the load generator connects its nodes to a sparring server (another
   *     server JVM of the same mode, discarded afterwards) and makes changes of each workload until its own JIT is
   *     quiet: its simulated clients share one JVM and the server's 2 cores, so a cold load generator compiles its
   *     client code during the first measured changes and takes the cores from the server. Real proxies are
   *     processes of their own (Envoy is not compiled at run time); false: the load generator starts cold
   */
  record Settings(int routes, int changes, int warmup, int warmupMax, long jitQuietMs, int endpointChanges,
      List<String> workloads, long debounceMs, String serverHeap, String jfrPrefix, int streamsPerConnection,
      double grpcHotShare, boolean verbose, int quietJitBeforeFirstS, boolean warmLoadGenerator) {}

  /** Sparring: the most changes per workload, and the JIT time (this JVM's) over 10 changes that counts as quiet. */
  static final int SPARRING_MAX = 150;
  static final long SPARRING_QUIET_MS = 20;

  /** One workload's figures; times in ms, bytes per node per change in Wire.TYPES order (LDS, CDS, EDS, RDS, SRDS). */
  record Phase(String workload, int measured, int mustGet, double firstMs, double firstPublishMs, double[] ms,
      double[] publishMs, double cpuMsPerChange, double[] bytesPerNode, double responsesPerChange,
      long peakDirect, String note, int warmups, long jitMsInMeasured) implements Serializable {}

  /** One run's figures. */
  record Run(String mode, String kind, int nodes, String at, double syncSeconds, long syncPeakDirect,
      long syncPeakPool, double heapAfterSyncKiB, double heapAfterChangesKiB, List<Phase> phases, String note)
      implements Serializable {}

  private final Settings s;
  private final String mode;
  private final SimNode.Kind kind;
  private final int n;
  private Path file;
  private PrintWriter toServer;
  private BufferedReader fromServer;
  private final List<SimNode> nodes = new ArrayList<>();
  // the current model: every mid-rollout route at shift, the hot one at hot, b0's first port moved by bump
  private int shift = 2050;
  private int hot = 2050;
  private int bump;
  private int changeCount;

  /** A sparring run: warms the load generator, measures nothing. */
  private final boolean sparring;

  FanOut(Settings s, String mode, SimNode.Kind kind, int n) {
    this(s, mode, kind, n, false);
  }

  private FanOut(Settings s, String mode, SimNode.Kind kind, int n, boolean sparring) {
    this.s = s;
    this.mode = mode;
    this.kind = kind;
    this.n = n;
    this.sparring = sparring;
  }

  Run run() throws Exception {
    if (kind.scoped() && !mode.equals("ebb")) {
      return new Run(mode, kind.label, n, Instant.now().toString(), Double.NaN, 0, 0, Double.NaN, Double.NaN,
          List.of(), "not run: java-control-plane's cache has no SRDS type");
    }
    String sparred = "";
    if (!sparring && s.warmLoadGenerator()) {
      long t = System.nanoTime();
      try {
        Run spar = new FanOut(s, mode, kind, n, true).run();
        sparred = String.format(java.util.Locale.ROOT, "load generator warmed on a sparring server in %.0f s (%s)",
            (System.nanoTime() - t) / 1e9, spar.note());
      } catch (Exception e) {
        sparred = "load generator not warmed (sparring failed: " + e + ")"; // the run goes on, cold
      }
      if (s.verbose()) {
        System.out.println("    " + sparred);
      }
    }
    Path dir = Files.createTempDirectory("ebb-bench");
    file = dir.resolve("ebb.yaml");
    write(false);
    int port = freePort();
    List<String> command = new ArrayList<>(List.of("java", "-Xmx" + s.serverHeap(), "-XX:+UseG1GC",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
    if (s.jfrPrefix() != null && !sparring) {
      // a profile of the server: jfr print --events jdk.ExecutionSample FILE, or jfr view hot-methods FILE
      command.add("-XX:FlightRecorderOptions=stackdepth=256");
      // without it, a sample in inlined code is charged to the nearest safepoint's frames: wrong lines and methods
      command.add("-XX:+UnlockDiagnosticVMOptions");
      command.add("-XX:+DebugNonSafepoints");
      command.add("-XX:StartFlightRecording=filename=" + s.jfrPrefix() + "-" + mode + "-" + kind.label + "-" + n
          + ".jfr,settings=" + System.getProperty("ebb.bench.jfr.settings", "profile"));
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchServer.class.getName(), mode,
        file.toString(), String.valueOf(port), String.valueOf(s.debounceMs())));
    Process server = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Thread reaper = new Thread(server::destroyForcibly);
    Runtime.getRuntime().addShutdownHook(reaper); // the server goes when the load generator is stopped
    fromServer = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    toServer = new PrintWriter(server.getOutputStream(), true, StandardCharsets.UTF_8);
    List<ManagedChannel> channels = new ArrayList<>();
    String at = Instant.now().toString();
    try {
      expect("ready");
      if (sparring) {
        return spar(port, channels, at);
      }
      Thread.sleep(1500); // the first config is built before the idle heap is measured
      // Ebb's warm-up goes on after /readyz until the JIT is quiet (at most 2 minutes); its config and simulated
      // streams would count in the idle heap, and it would share the 2 cores with the sync
      long warm0 = System.nanoTime();
      while (ask("warming").equals("1") && System.nanoTime() - warm0 < Duration.ofMinutes(3).toNanos()) {
        Thread.sleep(200);
      }
      String warmed = String.format(java.util.Locale.ROOT, "server warm-up ended %.0f s after ready",
          (System.nanoTime() - warm0) / 1e9 + 1.5);
      long heap0 = num(ask("heap"));
      ask("direct");
      create(port, channels);
      long syncStart = System.nanoTime();
      connect(channels);
      // gives up after 10 minutes, or after a minute in which no node received anything
      SimNode.LAST_RESPONSE.set(System.nanoTime());
      boolean synced = waitFor(() -> nodes.stream().allMatch(SimNode::synced)
          || System.nanoTime() - SimNode.LAST_RESPONSE.get() > 60_000_000_000L, Duration.ofMinutes(10))
          && nodes.stream().allMatch(SimNode::synced);
      double syncSeconds = (System.nanoTime() - syncStart) / 1e9;
      long[] syncDirect = nums(ask("direct"));
      if (!synced) {
        nodes.stream().filter(x -> !x.synced()).limit(3).forEach(x -> System.out.println("    not synced: "
            + x.describe()));
        return new Run(mode, kind.label, n, at, syncSeconds, syncDirect[0], syncDirect[1], Double.NaN, Double.NaN,
            List.of(), nodes.stream().filter(SimNode::synced).count() + " of " + n + " nodes synced (" + errors() + " streams failed: "
            + firstError() + ")");
      }
      waitFor(() -> tokensMatch(), Duration.ofSeconds(30));
      settle();
      long heap1 = num(ask("heap"));
      String quiet = quietJit();
      List<Phase> phases = new ArrayList<>();
      for (String w : s.workloads()) {
        phases.add(phase(w, w.equals("endpoint") ? s.endpointChanges() : s.changes()));
      }
      long heap2 = num(ask("heap"));
      long errors = errors();
      String note = errors == 0 ? "" : errors + " streams failed: " + firstError();
      return new Run(mode, kind.label, n, at, syncSeconds, syncDirect[0], syncDirect[1],
          (heap1 - heap0) / 1024.0 / n, (heap2 - heap0) / 1024.0 / n, phases,
          String.join("; ", java.util.stream.Stream.of(warmed, sparred, quiet, note).filter(x -> !x.isEmpty())
              .toList()));
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      toServer.println("quit");
      if (!server.waitFor(30, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
      Runtime.getRuntime().removeShutdownHook(reaper);
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir.resolveSibling(dir.getFileName() + ".tmp"));
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  /**
   * The sparring run's work: the nodes connect and sync, then each workload's changes go on until this JVM's JIT
   * compiled for under {@value #SPARRING_QUIET_MS} ms over 10 changes (at least 10, at most {@value #SPARRING_MAX}
   * changes); says how many changes that took in its note.
   */
  private Run spar(int port, List<ManagedChannel> channels, String at) throws Exception {
    create(port, channels);
    connect(channels);
    if (!waitFor(() -> nodes.stream().allMatch(SimNode::synced), Duration.ofMinutes(10))) {
      throw new IllegalStateException("sparring: not every node synced (" + errors() + " streams failed: "
          + firstError() + ")");
    }
    waitFor(this::tokensMatch, Duration.ofSeconds(30));
    settle();
    java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
    List<String> done = new ArrayList<>();
    for (String w : s.workloads()) {
      java.util.ArrayDeque<Long> window = new java.util.ArrayDeque<>();
      window.add(jit.getTotalCompilationTime());
      int changes = 0;
      while (changes < SPARRING_MAX && (changes < 10 || window.peekLast() - window.peekFirst() >= SPARRING_QUIET_MS)) {
        change(w, false);
        changes++;
        window.addLast(jit.getTotalCompilationTime());
        if (window.size() > 11) {
          window.removeFirst();
        }
      }
      done.add(changes + " " + w + " changes" + (changes == SPARRING_MAX ? ", JIT still busy" : ""));
    }
    return new Run(mode, kind.label, n, at, Double.NaN, 0, 0, Double.NaN, Double.NaN, List.of(),
        String.join(", ", done));
  }

  /** Makes the nodes and their channels (no connection yet). */
  private void create(int port, List<ManagedChannel> channels) {
    for (int i = 0; i < n; i++) {
      if (i % s.streamsPerConnection() == 0) {
        channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().directExecutor()
            .maxInboundMessageSize(256 * 1024 * 1024).build());
      }
      nodes.add(new SimNode(kind, i, probeRoute(i)));
    }
  }

  /** Opens the nodes' streams: the sync starts. */
  private void connect(List<ManagedChannel> channels) {
    for (int i = 0; i < n; i++) {
      nodes.get(i).start(channels.get(i / s.streamsPerConnection()));
    }
  }

  /** Waits (see Settings) until the server's JIT compiled under 10 ms in a second; says how long, or "". */
  private String quietJit() throws Exception {
    if (s.quietJitBeforeFirstS() <= 0) {
      return "";
    }
    long start = System.nanoTime();
    long end = start + s.quietJitBeforeFirstS() * 1_000_000_000L;
    long before = num(ask("jit"));
    boolean quiet = false;
    while (!quiet && System.nanoTime() < end) {
      Thread.sleep(1000);
      long now = num(ask("jit"));
      quiet = now - before < 10;
      before = now;
    }
    return String.format(java.util.Locale.ROOT, "first change after %.0f s for the server's JIT%s",
        (System.nanoTime() - start) / 1e9, quiet ? " to be quiet" : " (still compiling)");
  }

  /** Envoy nodes probe the hot route; a share of the gRPC nodes are its clients, the others spread over the rest. */
  private int probeRoute(int i) {
    if (kind.envoy() || i < Math.round(s.grpcHotShare() * n)) {
      return ModelGen.HOT;
    }
    int r = i % (s.routes() - 1);
    return r >= ModelGen.HOT ? r + 1 : r;
  }

  private Phase phase(String workload, int measured) throws Exception {
    ask("direct");
    double[] first = change(workload);
    // warm-up: at least s.warmup() changes, then on while the server's JIT is still busy (see Settings)
    java.util.ArrayDeque<Long> jit = new java.util.ArrayDeque<>();
    jit.add(jitMs());
    int warmups = 0;
    while (warmups < s.warmupMax()) {
      if (warmups >= s.warmup() && jit.size() > 10 && jit.peekLast() - jit.peekFirst() <= s.jitQuietMs()) {
        break;
      }
      change(workload);
      warmups++;
      jit.addLast(jitMs());
      if (jit.size() > 11) {
        jit.removeFirst();
      }
    }
    if (s.verbose()) {
      System.out.printf("    %s: %d warm-up changes%n", workload, warmups);
    }
    long jit0 = jitMs();
    long cpu0 = num(ask("cpu"));
    long[] bytes0 = counters(SimNode.BYTES);
    long[] responses0 = counters(SimNode.RESPONSES);
    double[] ms = new double[measured];
    double[] publish = new double[measured];
    int mustGet = 0;
    String note = "";
    int done = 0;
    for (; done < measured; done++) {
      double[] c = change(workload);
      if (Double.isNaN(c[0])) {
        note = "change " + (done + 1) + " did not reach every node within 2 minutes";
        break;
      }
      ms[done] = c[0];
      publish[done] = c[1];
      mustGet = (int) c[2];
    }
    long cpu1 = num(ask("cpu"));
    long jit1 = jitMs();
    long[] bytes1 = counters(SimNode.BYTES);
    long[] responses1 = counters(SimNode.RESPONSES);
    int k = Math.max(1, done);
    double[] perNode = new double[Wire.TYPES.size()];
    long responses = 0;
    for (int i = 0; i < perNode.length; i++) {
      perNode[i] = (bytes1[i] - bytes0[i]) / (double) k / n;
      responses += responses1[i] - responses0[i];
    }
    long[] direct = nums(ask("direct"));
    return new Phase(workload, done, mustGet, first[0], first[1], Arrays.copyOf(ms, done),
        Arrays.copyOf(publish, done), (cpu1 - cpu0) / 1e6 / k, perNode, responses / (double) k, direct[0], note,
        warmups, jit1 - jit0);
  }

  /** One edit and its propagation: {ms to the last node's ACK, ms to the server's first response, nodes}. */
  private double[] change(String workload) throws Exception {
    return change(workload, s.verbose());
  }

  private double[] change(String workload, boolean verbose) throws Exception {
    changeCount++;
    int w = 100 * (10 + changeCount % 80); // never 2050; consecutive values differ
    boolean rds = !workload.equals("endpoint");
    switch (workload) {
      case "one" -> hot = w;
      case "many" -> {
        shift = w;
        hot = w;
      }
      case "endpoint" -> bump = bump == 0 ? 1 : 0;
      default -> throw new IllegalArgumentException("unknown workload " + workload + " (one, many, endpoint)");
    }
    List<SimNode> mustGet = nodes.stream().filter(x -> rds ? x.rdsToken != expectedRds(x)
        : x.holdsMovedBackend() && x.edsToken != expectedEds()).toList();
    ask("mark");
    int failed = SimNode.FAILED.get();
    java.time.Instant at = java.time.Instant.now();
    long t0 = write(true);
    boolean reached = waitFor(() -> SimNode.FAILED.get() != failed || mustGet.stream().allMatch(x -> rds
        ? x.rdsToken == expectedRds(x) : x.edsToken == expectedEds()), Duration.ofMinutes(2));
    if (SimNode.FAILED.get() != failed) {
      throw new IllegalStateException(workload + " change " + changeCount + ": a node's stream failed: "
          + nodes.stream().filter(x -> x.error != null).findFirst().map(SimNode::describe).orElse(""));
    }
    long last = mustGet.stream().mapToLong(x -> rds ? x.rdsTokenAt : x.edsTokenAt).max().orElse(t0);
    settle();
    long firstResponse = num(ask("mark"));
    double ms = reached ? (last - t0) / 1e6 : Double.NaN;
    double publish = firstResponse == 0 ? Double.NaN : (firstResponse - t0) / 1e6;
    if (verbose) {
      // the time of day finds the change in a profile (--server-jfr)
      System.out.printf("    %s change %d at %s: %d nodes, %.1f ms (first response after %.1f ms)%n", workload,
          changeCount, at, mustGet.size(), ms, publish);
    }
    return new double[] {ms, publish, mustGet.size()};
  }

  private int expectedRds(SimNode x) {
    return ModelGen.canaryWeight(x.probeRoute, shift, hot);
  }

  private int expectedEds() {
    return ModelGen.ENDPOINTS_PER_BACKEND * ModelGen.BASE_PORT + bump;
  }

  private boolean tokensMatch() {
    return nodes.stream().allMatch(x -> x.rdsToken == expectedRds(x)
        && (!x.holdsMovedBackend() || x.edsToken == expectedEds()));
  }

  /** Until no node got anything for 50 ms (what the server sends to nodes that need nothing ends too). */
  private static void settle() throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() - SimNode.LAST_RESPONSE.get() < 50_000_000L && System.nanoTime() < end) {
      Thread.sleep(5);
    }
  }

  private long errors() {
    return nodes.stream().filter(x -> x.error != null).count();
  }

  private String firstError() {
    return nodes.stream().filter(x -> x.error != null).findFirst().map(x -> String.valueOf(x.error)).orElse("");
  }

  private static long[] counters(java.util.concurrent.atomic.AtomicLongArray a) {
    long[] out = new long[a.length()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i);
    }
    return out;
  }

  /** Writes the model and renames it over the file; returns the System.nanoTime of the rename. */
  private long write(boolean timed) throws IOException {
    // written outside the watched directory, so that the server sees one event: the rename
    Path tmp = file.getParent().resolveSibling(file.getParent().getFileName() + ".tmp");
    Files.writeString(tmp, ModelGen.yaml(s.routes(), shift, hot, bump, kind.scoped()));
    long t0 = System.nanoTime();
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return timed ? t0 : 0;
  }

  static boolean waitFor(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        return false;
      }
      Thread.sleep(1);
    }
    return true;
  }

  /** Milliseconds the JIT compilers of the server and of this load generator have worked so far. */
  private long jitMs() throws IOException {
    return num(ask("jit")) + java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
  }

  private String ask(String command) throws IOException {
    toServer.println(command);
    for (String line; (line = fromServer.readLine()) != null; ) {
      if (line.startsWith(BenchServer.ANSWER)) {
        return line.substring(BenchServer.ANSWER.length()).trim();
      }
      System.out.println("    server: " + line); // the JVM's or JFR's own output, not an answer
    }
    throw new IOException("server exited");
  }

  private static long num(String line) {
    return Long.parseLong(line.split(" ")[0]);
  }

  private static long[] nums(String line) {
    return Arrays.stream(line.split(" ")).mapToLong(Long::parseLong).toArray();
  }

  private void expect(String what) throws IOException {
    for (String line; (line = fromServer.readLine()) != null; ) {
      if (line.trim().equals(what)) {
        return;
      }
    }
    throw new IOException("server exited before saying " + what);
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
