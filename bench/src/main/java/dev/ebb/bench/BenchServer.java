package dev.ebb.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.ebb.EbbServer;
import dev.ebb.publish.TypeUrl;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.xds.StreamState;
import dev.ebb.xds.XdsEvents;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The server under test, in its own JVM so that its heap, direct memory and CPU are its own. Modes: "ebb" (Ebb
 * as shipped: file source, debounce, its own ADS server), "baseline" and "naive" (java-control-plane, see
 * {@link Baseline}). Commands on stdin, one answer line each:
 *
 * <ul>
 *   <li>{@code heap}: used heap after GC, bytes;
 *   <li>{@code cpu}: process CPU time, ns;
 *   <li>{@code direct}: "peak pool current" since the last {@code direct}: direct memory (the JDK's "direct"
 *       buffer pool, plus what grpc's shaded Netty allocates without a Cleaner if it does), sampled every 5 ms; grpc's pooled
 *       allocator's direct arenas; the current direct memory;
 *   <li>{@code mark}: System.nanoTime of the first xDS response since the last {@code mark} (0: none);
 *   <li>{@code warming}: 1 while Ebb's background warm-up runs, else 0;
 *   <li>{@code quit}.
 * </ul>
 */
public final class BenchServer {
  private static final AtomicLong FIRST_RESPONSE = new AtomicLong();

  /** What starts each answer on standard output. */
  static final String ANSWER = "= ";

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Path file = Path.of(args[1]);
    int port = Integer.parseInt(args[2]);
    Duration debounce = Duration.ofMillis(Long.parseLong(args[3]));
    Duration maxDelay = Duration.ofSeconds(1);
    DirectSampler direct = new DirectSampler();
    AutoCloseable server = switch (mode) {
      case "ebb" -> ebb(file, port, debounce, maxDelay);
      case "baseline" -> Baseline.careful(file, port, debounce, maxDelay, Baseline.callbacks(BenchServer::responded));
      case "naive" -> Baseline.naive(file, port, Baseline.callbacks(BenchServer::responded));
      default -> throw new IllegalArgumentException("unknown mode " + mode);
    };
    direct.start();
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
          answer(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        case "cpu" -> answer(os.getProcessCpuTime());
        case "jit" -> answer(ManagementFactory.getCompilationMXBean().getTotalCompilationTime());
        case "direct" -> answer(direct.peakAndReset());
        case "mark" -> answer(FIRST_RESPONSE.getAndSet(0));
        case "warming" -> answer(server instanceof EbbServer e && e.warmingUp() ? "1" : "0");
        case "quit" -> {
          server.close();
          System.exit(0);
        }
        default -> answer("?");
      }
      System.out.flush();
    }
    server.close();
  }

  /**
   * An answer to the load generator, marked: the JVM and JFR may write lines of their own to standard output at any
   * time (unified logging's warnings go there), and an unmarked answer read in their place shifted every later one.
   */
  private static void answer(Object value) {
    System.out.println(ANSWER + value);
  }

  static AutoCloseable ebb(Path file, int port, Duration debounce, Duration maxDelay) {
    EbbServer.Config c = new EbbServer.Config(new EbbServer.SourceSpec.File(file), "127.0.0.1", port, "127.0.0.1", 0,
        debounce, maxDelay, Duration.ofSeconds(2), EnvoyTranslator.Settings.DEFAULT,
        EbbServer.Config.DEFAULT_LOAD_REPORT_INTERVAL);
    return new EbbServer(c, Clock.systemUTC(), new Marks(FIRST_RESPONSE), Optional.empty()).start();
  }

  private static void responded() {
    if (FIRST_RESPONSE.get() == 0) {
      FIRST_RESPONSE.compareAndSet(0, System.nanoTime());
    }
  }

  /**
   * Notes the first response after a mark. Its idle twin (the server's warm-up streams report to it) does the same
   * work on a counter nobody reads: a listener class the warm-up never saw would cost the server a recompilation
   * at the first change that Ebb in production (no such listener) does not have.
   */
  private record Marks(AtomicLong first) implements XdsEvents {
    @Override
    public void pushed(StreamState stream, TypeUrl type, String version, int resources, int bytes) {
      // no branch: with `if (first.get() == 0)` the twin's one true case came before the JIT profiled it, and the
      // code compiled without that side deoptimized at the bench's first mark (seen in a profile)
      first.compareAndSet(0, System.nanoTime());
    }

    @Override
    public XdsEvents idle() {
      return new Marks(new AtomicLong());
    }
  }

  /** Samples the server's direct memory every 5 ms and keeps the peak. */
  static final class DirectSampler {
    private final BufferPoolMXBean jdk = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
    private final LongSupplier pool = grpcPool();
    private volatile long peak;
    private volatile long poolPeak;

    /**
     * The JDK's count covers every direct ByteBuffer made with a Cleaner, which is how Netty allocates on Java 17
     * unless it is allowed to reflect into java.nio (then its own counter has what the JDK's misses).
     */
    long now() {
      long jdkUsed = jdk.getMemoryUsed();
      if (io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent.useDirectBufferNoCleaner()) {
        return jdkUsed + Math.max(0, io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent
            .usedDirectMemory());
      }
      return jdkUsed;
    }

    void start() {
      Thread t = new Thread(() -> {
        while (true) {
          long d = now();
          long p = pool.getAsLong();
          synchronized (this) {
            peak = Math.max(peak, d);
            poolPeak = Math.max(poolPeak, p);
          }
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "direct-sampler");
      t.setDaemon(true);
      t.start();
    }

    synchronized String peakAndReset() {
      long d = now();
      String answer = Math.max(peak, d) + " " + Math.max(poolPeak, pool.getAsLong()) + " " + d;
      peak = d;
      poolPeak = pool.getAsLong();
      return answer;
    }

    /** The direct arenas of the allocator grpc-netty-shaded's server uses (Utils is package-private). */
    private static LongSupplier grpcPool() {
      try {
        Class<?> utils = Class.forName("io.grpc.netty.shaded.io.grpc.netty.Utils");
        Method m = utils.getDeclaredMethod("getByteBufAllocator", boolean.class);
        m.setAccessible(true);
        Object alloc = m.invoke(null, false);
        if (alloc instanceof io.grpc.netty.shaded.io.netty.buffer.ByteBufAllocatorMetricProvider p) {
          return () -> p.metric().usedDirectMemory();
        }
      } catch (ReflectiveOperationException | RuntimeException e) {
        System.err.println("grpc's allocator metric not available: " + e);
      }
      return () -> -1;
    }
  }

  private BenchServer() {}
}
