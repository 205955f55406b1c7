package dev.ebb.bench;

import dev.ebb.EbbServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * The first changes after a start, pipeline only: Ebb as shipped (file source, debounce, warm-up) in this JVM, no
 * proxies, a file of ROUTES routes; waits for the background warm-up to end, then makes CHANGES one-route edits
 * (renamed into place, 150 ms apart) and prints each edit's time until the pipeline published it.
 *
 * <pre>java -cp bench/target/ebb-bench.jar dev.ebb.bench.FirstChanges [ROUTES=1000] [CHANGES=30]</pre>
 *
 * The edited files are written before the server starts, so that nothing else in this JVM compiles meanwhile.
 */
public final class FirstChanges {
  public static void main(String[] args) throws Exception {
    int routes = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int changes = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    if (routes < 2 || changes < 2) {
      throw new IllegalArgumentException("ROUTES and CHANGES must be at least 2");
    }
    Path dir = Files.createTempDirectory("ebb-first-changes");
    Path file = dir.resolve("ebb.yaml");
    Files.writeString(file, ModelGen.yaml(routes, 0, 0, 0, false));
    String[] texts = new String[changes + 1];
    for (int c = 1; c <= changes; c++) {
      texts[c] = ModelGen.yaml(routes, 0, 100 * (10 + c % 80), 0, false);
    }
    long start = System.nanoTime();
    EbbServer server = (EbbServer) BenchServer.ebb(file, FanOut.freePort(), Duration.ofMillis(5),
        Duration.ofSeconds(1));
    long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
    while (server.pipeline().generation() < 1) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no config published within a minute of the start");
      }
      Thread.sleep(1);
    }
    System.out.printf(Locale.ROOT, "ready and first config published after %.1f s%n", (System.nanoTime() - start) / 1e9);
    long warm = System.nanoTime();
    while (server.warmingUp() && System.nanoTime() - warm < Duration.ofMinutes(3).toNanos()) {
      Thread.sleep(100);
    }
    System.out.printf(Locale.ROOT, "background warm-up ended after %.1f s more%n", (System.nanoTime() - warm) / 1e9);
    Thread.sleep(2000);
    double[] ms = new double[changes + 1];
    Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
    for (int c = 1; c <= changes; c++) {
      long generation = server.pipeline().generation();
      Files.writeString(tmp, texts[c]);
      long t0 = System.nanoTime();
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (server.pipeline().generation() == generation) {
        if (System.nanoTime() > until) {
          throw new IllegalStateException("change " + c + " not published within 10 s");
        }
        Thread.sleep(0, 200_000);
      }
      ms[c] = (System.nanoTime() - t0) / 1e6;
      System.out.printf(Locale.ROOT, "change %d: %.1f ms%n", c, ms[c]);
      Thread.sleep(150);
    }
    double[] rest = Arrays.copyOfRange(ms, 2, changes + 1);
    Arrays.sort(rest);
    System.out.printf(Locale.ROOT, "first %.1f ms; changes 2-%d: median %.1f, max %.1f ms%n", ms[1], changes,
        rest[rest.length / 2], rest[rest.length - 1]);
    server.close();
    System.exit(0);
  }
}
