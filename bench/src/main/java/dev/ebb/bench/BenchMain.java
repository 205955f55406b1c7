package dev.ebb.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
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
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every benchmark and prints markdown tables: JMH for the pure stages, then the fan-out of a 1,000-route
 * / 10,000-endpoint model to N simulated Envoy nodes, for Ebb and for the baseline, SotW and delta.
 * Options: --nodes 100,1000 --changes 20 --endpoint-changes 5 --skip-jmh --modes ebb,baseline
 * --variants sotw,delta --debounce-ms 5.
 */
public final class BenchMain {
  private final Map<String, String> opts = new TreeMap<>();
  private final StringBuilder out = new StringBuilder();

  public static void main(String[] args) throws Exception {
    BenchMain b = new BenchMain();
    for (int i = 0; i + 1 < args.length; i += 2) {
      b.opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    b.run();
  }

  String opt(String name, String def) {
    return opts.getOrDefault(name, def);
  }

  void print(String line) {
    System.out.println(line);
    out.append(line).append('\n');
  }

  void run() throws Exception {
    print("# Ebb benchmark, " + Instant.now() + ", " + Runtime.getRuntime().availableProcessors() + " cores, "
        + "Java " + System.getProperty("java.version") + ", max heap of the server JVM: "
        + opt("server-heap", "6g"));
    if (!opt("skip-jmh", "false").equals("true")) {
      jmh();
    }
    fanOut();
    Path results = Path.of(opt("out", "bench/target/results.md"));
    Files.createDirectories(results.toAbsolutePath().getParent());
    Files.writeString(results, out.toString());
    System.out.println("(written to " + results + ")");
  }

  void jmh() throws Exception {
    print("");
    print("## Pure stages: rollout step + translate + snapshot build (JMH, 1 fork, 2x1s warm-up, 3x1s measured)");
    print("");
    print("| benchmark | routes | endpoints | time per build (ms) | error (ms) | allocated per build (MB) |");
    print("|---|---:|---:|---:|---:|---:|");
    Collection<RunResult> results = new Runner(new OptionsBuilder()
        .include(TranslateBench.class.getName())
        .forks(1).warmupIterations(2).warmupTime(TimeValue.seconds(1))
        .measurementIterations(3).measurementTime(TimeValue.seconds(1))
        .addProfiler(GCProfiler.class)
        .jvmArgs("-Xmx4g")
        .build()).run();
    for (RunResult r : results) {
      int routes = Integer.parseInt(r.getParams().getParam("routes"));
      double ms = r.getPrimaryResult().getScore();
      double err = r.getPrimaryResult().getScoreError();
      double bytes = r.getSecondaryResults().get("·gc.alloc.rate.norm") != null
          ? r.getSecondaryResults().get("·gc.alloc.rate.norm").getScore()
          : r.getSecondaryResults().get("gc.alloc.rate.norm").getScore();
      String name = r.getParams().getBenchmark().replaceFirst(".*\\.", "");
      print(String.format(Locale.ROOT, "| %s | %,d | %,d | %.2f | %.2f | %.1f |", name, routes,
          routes * ModelGen.ENDPOINTS_PER_BACKEND, ms, err, bytes / 1e6));
    }
  }

  /** One fan-out run's figures. */
  record Run(String mode, String variant, int nodes, double syncSeconds, double heapPerNodeKiB, double[] propMs,
      double cpuMsPerChange, long[] weightBytes, long[] endpointBytes, double[] endpointPropMs, String note) {}

  void fanOut() throws Exception {
    int routes = Integer.parseInt(opt("routes", "1000"));
    int changes = Integer.parseInt(opt("changes", "20"));
    int endpointChanges = Integer.parseInt(opt("endpoint-changes", "5"));
    List<Integer> nodeCounts = Arrays.stream(opt("nodes", "100,1000").split(",")).map(Integer::parseInt).toList();
    List<String> modes = List.of(opt("modes", "ebb,baseline").split(","));
    List<String> variants = List.of(opt("variants", "sotw,delta").split(","));
    List<Run> runs = new ArrayList<>();
    for (int n : nodeCounts) {
      for (String variant : variants) {
        for (String mode : modes) {
          Run r = fanOut(mode, variant, n, routes, changes, endpointChanges);
          runs.add(r);
          System.out.println("  " + r);
        }
      }
    }
    print("");
    print("## Fan-out: " + routes + " routes / " + routes * ModelGen.ENDPOINTS_PER_BACKEND + " endpoints, "
        + changes + " weight changes and " + endpointChanges + " endpoint changes per run");
    print("");
    print("Propagation: from the file edit (rename) to the moment the last node ACKed the new RouteConfiguration.");
    print("Ebb runs with --debounce " + opt("debounce-ms", "5") + "ms (default 100ms); the baseline has no debounce.");
    print("");
    print("| server | xDS | nodes | initial sync (s) | propagation p50 / p99 / max (ms) | CPU per weight change (ms) "
        + "| heap per node (KiB) | bytes per weight change: LDS / CDS / EDS / RDS | bytes per endpoint change: "
        + "LDS / CDS / EDS / RDS | endpoint change p50 (ms) |");
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Run r : runs) {
      print(String.format(Locale.ROOT, "| %s | %s | %,d | %.1f | %.0f / %.0f / %.0f | %.0f | %.1f | %s | %s | %.0f |%s",
          r.mode(), r.variant(), r.nodes(), r.syncSeconds(), pct(r.propMs(), 50), pct(r.propMs(), 99),
          pct(r.propMs(), 100), r.cpuMsPerChange(), r.heapPerNodeKiB(), bytes(r.weightBytes()),
          bytes(r.endpointBytes()), pct(r.endpointPropMs(), 50), r.note().isEmpty() ? "" : " " + r.note()));
    }
    print("");
    print("### Ebb / baseline");
    print("");
    print("| xDS | nodes | propagation p99 | CPU per change | heap per node | bytes per weight change |");
    print("|---|---:|---:|---:|---:|---:|");
    for (Run e : runs) {
      if (!e.mode().equals("ebb")) {
        continue;
      }
      runs.stream().filter(b -> b.mode().equals("baseline") && b.variant().equals(e.variant())
          && b.nodes() == e.nodes()).findFirst().ifPresent(b -> print(String.format(Locale.ROOT,
          "| %s | %,d | %.2f | %.2f | %.2f | %.4f |", e.variant(), e.nodes(),
          pct(e.propMs(), 99) / pct(b.propMs(), 99), e.cpuMsPerChange() / b.cpuMsPerChange(),
          e.heapPerNodeKiB() / b.heapPerNodeKiB(), (double) sum(e.weightBytes()) / sum(b.weightBytes()))));
    }
  }

  static long sum(long[] a) {
    return Arrays.stream(a).sum();
  }

  static String bytes(long[] perType) {
    // SimEnvoy.TYPES order is CDS, EDS, LDS, RDS; print LDS / CDS / EDS / RDS
    return String.format(Locale.ROOT, "%,d / %,d / %,d / %,d", perType[2], perType[0], perType[1], perType[3]);
  }

  static double pct(double[] values, int p) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] s = values.clone();
    Arrays.sort(s);
    int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
    return s[Math.max(0, Math.min(s.length - 1, i))];
  }

  Run fanOut(String mode, String variant, int nodes, int routes, int changes, int endpointChanges) throws Exception {
    Path dir = Files.createTempDirectory("ebb-bench");
    Path file = dir.resolve("ebb.yaml");
    write(file, ModelGen.yaml(routes, 2000, 0));
    int port = freePort();
    List<String> command = new ArrayList<>(List.of("java", "-Xmx" + opt("server-heap", "6g"), "-XX:+UseG1GC",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
    if (opts.containsKey("server-jfr")) {
      // a profile of the server, for finding what is slow: jfr print --events jdk.ExecutionSample FILE
      command.add("-XX:StartFlightRecording=filename=" + opt("server-jfr", "") + "-" + mode + "-" + variant + "-"
          + nodes + ".jfr,settings=profile");
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchServer.class.getName(), mode,
        file.toString(), String.valueOf(port), opt("debounce-ms", "5")));
    Process server = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader fromServer = new BufferedReader(new InputStreamReader(server.getInputStream(),
        StandardCharsets.UTF_8));
    PrintWriter toServer = new PrintWriter(server.getOutputStream(), true, StandardCharsets.UTF_8);
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      expect(fromServer, "ready");
      Thread.sleep(1000); // let the first config be built before measuring the idle heap
      long heap0 = Long.parseLong(ask(toServer, fromServer, "heap"));
      List<SimEnvoy> envoys = new ArrayList<>();
      long syncStart = System.nanoTime();
      for (int i = 0; i < nodes; i++) {
        if (i % 50 == 0) {
          channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
              .maxInboundMessageSize(256 * 1024 * 1024).build());
        }
        SimEnvoy e = new SimEnvoy(mode + "-" + variant + "-" + i, variant.equals("delta"));
        e.start(channels.get(channels.size() - 1));
        envoys.add(e);
      }
      boolean synced = waitFor(() -> envoys.stream().allMatch(SimEnvoy::synced), Duration.ofMinutes(5));
      double syncSeconds = (System.nanoTime() - syncStart) / 1e9;
      if (!synced) {
        return new Run(mode, variant, nodes, syncSeconds, Double.NaN, new double[0], Double.NaN, new long[4],
            new long[4], new double[0], "(not all nodes synced within 5 minutes)");
      }
      long heap1 = Long.parseLong(ask(toServer, fromServer, "heap"));
      long cpu0 = Long.parseLong(ask(toServer, fromServer, "cpu"));
      long[] bytesBefore = snapshotBytes();
      double[] prop = new double[changes];
      for (int c = 0; c < changes; c++) {
        int target = envoys.stream().mapToInt(e -> e.rdsCount).min().orElse(0) + 1;
        long t0 = System.nanoTime();
        write(file, ModelGen.yaml(routes, 2000 + (c + 1) * 100, 0));
        if (!waitFor(() -> envoys.stream().allMatch(e -> e.rdsCount >= target), Duration.ofMinutes(2))) {
          prop = Arrays.copyOf(prop, c);
          break;
        }
        long last = envoys.stream().mapToLong(e -> e.lastRdsAckNanos).max().orElse(t0);
        prop[c] = (last - t0) / 1e6;
        if (opts.containsKey("verbose")) {
          System.out.printf("    change %d: %.0f ms, bytes so far %s%n", c + 1, prop[c],
              Arrays.toString(perChange(bytesBefore, snapshotBytes(), 1)));
        }
      }
      long cpu1 = Long.parseLong(ask(toServer, fromServer, "cpu"));
      long[] weightBytes = perChange(bytesBefore, snapshotBytes(), Math.max(1, prop.length));
      long[] before = snapshotBytes();
      double[] epProp = new double[endpointChanges];
      int finalShift = 2000 + changes * 100;
      for (int c = 0; c < endpointChanges; c++) {
        int target = envoys.stream().mapToInt(e -> e.edsCount).min().orElse(0) + 1;
        long t0 = System.nanoTime();
        write(file, ModelGen.yaml(routes, finalShift, c + 1));
        waitFor(() -> envoys.stream().allMatch(e -> e.edsCount >= target), Duration.ofMinutes(2));
        epProp[c] = (System.nanoTime() - t0) / 1e6;
      }
      long[] endpointBytes = perChange(before, snapshotBytes(), endpointChanges);
      long errors = envoys.stream().filter(e -> e.error != null).count();
      return new Run(mode, variant, nodes, syncSeconds, (heap1 - heap0) / 1024.0 / nodes, prop,
          (cpu1 - cpu0) / 1e6 / Math.max(1, prop.length), weightBytes, endpointBytes, epProp,
          errors == 0 ? "" : "(" + errors + " streams failed)");
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      toServer.println("quit");
      if (!server.waitFor(20, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
  }

  static long[] snapshotBytes() {
    long[] b = new long[4];
    for (int i = 0; i < 4; i++) {
      b[i] = SimEnvoy.BYTES.get(i);
    }
    return b;
  }

  static long[] perChange(long[] before, long[] after, int changes) {
    long[] d = new long[4];
    for (int i = 0; i < 4; i++) {
      d[i] = (after[i] - before[i]) / changes;
    }
    return d;
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

  static void write(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(".ebb.yaml.tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  static String ask(PrintWriter to, BufferedReader from, String command) throws IOException {
    to.println(command);
    String line = from.readLine();
    if (line == null) {
      throw new IOException("server exited");
    }
    return line.trim();
  }

  static void expect(BufferedReader from, String what) throws IOException {
    for (String line; (line = from.readLine()) != null; ) {
      if (line.trim().equals(what)) {
        return;
      }
    }
    throw new IOException("server exited before saying " + what);
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private BenchMain() {}
}
