package dev.ebb.bench;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the benchmarks and prints markdown tables: JMH for the pure stages, then fan-out runs ({@link FanOut}) of a
 * 1,000-route / 10,000-endpoint model to N simulated nodes of each kind, for each server mode. Each fan-out run is
 * also saved (--runs-dir), so that runs split over several invocations can be printed as one set of tables with
 * --report DIR. Options (defaults): --nodes 1000 --kinds envoy-sotw,envoy-delta,grpc-sotw (also: envoy-srds-sotw,
 * envoy-srds-delta, Ebb only) --modes ebb,baseline
 * (also: naive) --workloads one,many,endpoint --changes 50 --warmup 10 --warmup-max 300 --jit-quiet-ms 100 --quiet-jit-before-first-s 0 --endpoint-changes 20 --routes 1000
 * --warm-load-generator true
 * --debounce-ms 5 --server-heap 6g --streams-per-connection 100 --grpc-hot-share 0.5 --skip-jmh false
 * --jmh-only false --server-jfr PREFIX --verbose false --runs-dir bench/target/runs --out bench/target/results.md.
 * The server's recording uses JFR's "profile" settings unless {@code -Debb.bench.jfr.settings=FILE.jfc} names
 * others (e.g. every compilation: jdk.Compilation with a 0 ms threshold).
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

  List<String> list(String name, String def) {
    return List.of(opt(name, def).split(","));
  }

  void print(String line) {
    System.out.println(line);
    out.append(line).append('\n');
  }

  void run() throws Exception {
    if (opts.containsKey("report")) {
      report(load(Path.of(opt("report", ""))));
      return;
    }
    print("# Ebb benchmark, " + Instant.now() + ", " + Runtime.getRuntime().availableProcessors() + " cores, "
        + "Java " + System.getProperty("java.version") + ", server JVM -Xmx" + opt("server-heap", "6g"));
    if (!opt("skip-jmh", "false").equals("true")) {
      jmh();
    }
    if (!opt("jmh-only", "false").equals("true")) {
      report(fanOuts());
    }
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

  List<FanOut.Run> fanOuts() throws Exception {
    FanOut.Settings settings = new FanOut.Settings(Integer.parseInt(opt("routes", "1000")),
        Integer.parseInt(opt("changes", "50")), Integer.parseInt(opt("warmup", "10")),
        Integer.parseInt(opt("warmup-max", "300")), Long.parseLong(opt("jit-quiet-ms", "100")),
        Integer.parseInt(opt("endpoint-changes", "20")), list("workloads", "one,many,endpoint"),
        Long.parseLong(opt("debounce-ms", "5")), opt("server-heap", "6g"), opts.get("server-jfr"),
        Integer.parseInt(opt("streams-per-connection", "100")), Double.parseDouble(opt("grpc-hot-share", "0.5")),
        opt("verbose", "false").equals("true"), Integer.parseInt(opt("quiet-jit-before-first-s", "0")),
        opt("warm-load-generator", "true").equals("true"));
    Path runsDir = Path.of(opt("runs-dir", "bench/target/runs"));
    Files.createDirectories(runsDir);
    List<FanOut.Run> runs = new ArrayList<>();
    for (String nodes : list("nodes", "1000")) {
      for (String kind : list("kinds", "envoy-sotw,envoy-delta,grpc-sotw")) {
        for (String mode : list("modes", "ebb,baseline")) {
          System.out.printf("  %s %s %s nodes...%n", mode, kind, nodes);
          long t = System.nanoTime();
          FanOut.Run r = new FanOut(settings, mode, SimNode.Kind.of(kind), Integer.parseInt(nodes)).run();
          System.out.printf("  done in %.0f s%n", (System.nanoTime() - t) / 1e9);
          runs.add(r);
          try (ObjectOutputStream o = new ObjectOutputStream(Files.newOutputStream(
              runsDir.resolve(mode + "-" + kind + "-" + nodes + ".run")))) {
            o.writeObject(r);
          }
        }
      }
    }
    return runs;
  }

  static List<FanOut.Run> load(Path dir) throws IOException, ClassNotFoundException {
    List<FanOut.Run> runs = new ArrayList<>();
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.toString().endsWith(".run")).sorted().toList()) {
        try (ObjectInputStream in = new ObjectInputStream(Files.newInputStream(p))) {
          runs.add((FanOut.Run) in.readObject());
        }
      }
    }
    return runs;
  }

  private static final List<String> MODES = List.of("ebb", "baseline", "naive");
  private static final List<String> KINDS = List.of("envoy-sotw", "envoy-delta", "envoy-srds-sotw",
      "envoy-srds-delta", "grpc-sotw");
  private static final List<String> WORKLOADS = List.of("one", "many", "endpoint");

  void report(List<FanOut.Run> unsorted) {
    List<FanOut.Run> runs = unsorted.stream().sorted(Comparator.comparingInt(FanOut.Run::nodes)
        .thenComparing(r -> KINDS.indexOf(r.kind())).thenComparing(r -> MODES.indexOf(r.mode()))).toList();
    print("");
    print("## Initial sync and memory");
    print("");
    print("| server | node kind | nodes | initial sync (s) | peak direct memory in the sync (MiB) | of it grpc's pool "
        + "(MiB) | heap per node after sync (KiB) | heap per node after all changes (KiB) | run at |");
    print("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for (FanOut.Run r : runs) {
      print(String.format(Locale.ROOT, "| %s | %s | %,d | %.1f | %.1f | %.1f | %.1f | %.1f | %s%s |", r.mode(),
          r.kind(), r.nodes(), r.syncSeconds(), mib(r.syncPeakDirect()), mib(r.syncPeakPool()),
          r.heapAfterSyncKiB(), r.heapAfterChangesKiB(), r.at(), r.note().isEmpty() ? "" : "; " + r.note()));
    }
    print("");
    print("## Changes");
    print("");
    print("Propagation: from the file edit (rename) to the ACK of the last node that had to get the change. "
        + "\"first\" is the first change of that kind (before warm-up): propagation / edit → first response; p50 / p95 / p99 / max are over the measured "
        + "changes after warm-up. \"edit → first response\" is the median time until the server sent its first "
        + "response (file watch, parse, debounce, build). Bytes are per node per change (all nodes, whether they "
        + "needed the change or not).");
    print("");
    print("| server | node kind | nodes | change | nodes that must get it | warm-up changes | measured | first (ms): propagation / edit → first response | p50 / p95 / p99 / max (ms) "
        + "| edit → first response p50 (ms) | CPU per change (ms) | JIT (server + load generator) in the measured changes (ms) | bytes per node per change: LDS / CDS / EDS / "
        + "RDS / SRDS | responses per change | peak direct memory (MiB) |");
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (String w : WORKLOADS) {
      for (FanOut.Run r : runs) {
        for (FanOut.Phase p : r.phases()) {
          if (p.workload().equals(w)) {
            double[] b = p.bytesPerNode();
            print(String.format(Locale.ROOT, "| %s | %s | %,d | %s | %,d | %d | %d | %.0f / %.0f | %.0f / %.0f / %.0f / %.0f | %.0f | "
                    + "%.0f | %,d | %s | %,.0f | %.1f |%s", r.mode(), r.kind(), r.nodes(), w,
                p.mustGet(), p.warmups(), p.measured(), p.firstMs(), p.firstPublishMs(), pct(p.ms(), 50), pct(p.ms(), 95), pct(p.ms(), 99), pct(p.ms(), 100),
                pct(p.publishMs(), 50), p.cpuMsPerChange(), p.jitMsInMeasured(), bytes(b), p.responsesPerChange(),
                mib(p.peakDirect()), p.note().isEmpty() ? "" : " " + p.note()));
          }
        }
      }
    }
    print("");
    print("## Baseline / Ebb (above 1: Ebb is smaller or faster by that factor)");
    print("");
    print("| node kind | nodes | change | propagation p99 | CPU per change | bytes per change | heap per node (after "
        + "sync) | peak direct memory in the sync |");
    print("|---|---:|---|---:|---:|---:|---:|---:|");
    for (FanOut.Run e : runs) {
      if (!e.mode().equals("ebb")) {
        continue;
      }
      Optional<FanOut.Run> base = runs.stream().filter(b -> b.mode().equals("baseline") && b.kind().equals(e.kind())
          && b.nodes() == e.nodes()).findFirst();
      if (base.isEmpty()) {
        continue;
      }
      FanOut.Run b = base.get();
      for (FanOut.Phase pe : e.phases()) {
        b.phases().stream().filter(pb -> pb.workload().equals(pe.workload())).findFirst().ifPresent(pb ->
            print(String.format(Locale.ROOT, "| %s | %,d | %s | %.1f | %.1f | %.1f | %.2f | %.2f |", e.kind(),
                e.nodes(), pe.workload(), pct(pb.ms(), 99) / pct(pe.ms(), 99),
                pb.cpuMsPerChange() / pe.cpuMsPerChange(),
                Arrays.stream(pb.bytesPerNode()).sum() / Arrays.stream(pe.bytesPerNode()).sum(),
                b.heapAfterSyncKiB() / e.heapAfterSyncKiB(), (double) b.syncPeakDirect() / e.syncPeakDirect())));
      }
    }
  }

  /** LDS / CDS / EDS / RDS / SRDS (runs saved before SRDS have four). */
  static String bytes(double[] b) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      sb.append(i == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%,.0f", i < b.length ? b[i] : 0.0));
    }
    return sb.toString();
  }

  static double mib(long bytes) {
    return bytes / 1024.0 / 1024.0;
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

  private BenchMain() {}
}
