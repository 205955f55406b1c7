package dev.ebb;

import dev.ebb.translate.EnvoyTranslator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The command line: {@code ebb serve}. */
@Command(name = "ebb", mixinStandardHelpOptions = true, version = "ebb 0.1.0",
    description = "Envoy xDS control plane that shifts long-lived streams without cutting them.",
    subcommands = {Main.Serve.class})
public final class Main implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 2;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = "Serve xDS from a source (default: the bundled example file).")
  static final class Serve implements Callable<Integer> {
    @Option(names = "--source", paramLabel = "file:PATH",
        description = "Where routes come from: file:PATH (default: examples/ebb.yaml of this installation).")
    String source;

    @Option(names = "--xds-address", defaultValue = "0.0.0.0", description = "xDS bind address (default: ${DEFAULT-VALUE}).")
    String xdsAddress;

    @Option(names = "--xds-port", defaultValue = "18000", description = "ADS port (default: ${DEFAULT-VALUE}).")
    int xdsPort;

    @Option(names = "--admin-address", defaultValue = "127.0.0.1",
        description = "Admin bind address (default: ${DEFAULT-VALUE}).")
    String adminAddress;

    @Option(names = "--admin-port", defaultValue = "18001", description = "Admin port (default: ${DEFAULT-VALUE}).")
    int adminPort;

    @Option(names = "--debounce", defaultValue = "100ms",
        description = "Quiet period before a change is pushed (default: ${DEFAULT-VALUE}); a burst is pushed within 1s.")
    String debounce;

    @Option(names = "--circuit-breaker-limit", defaultValue = "1000000",
        description = "Envoy max connections, pending requests and requests per cluster (default: ${DEFAULT-VALUE}).")
    int circuitBreakerLimit;

    @Override
    public Integer call() throws Exception {
      Path file;
      if (source == null) {
        String home = System.getenv().getOrDefault("EBB_HOME", ".");
        file = Path.of(home, "examples", "ebb.yaml");
      } else if (source.startsWith("file:")) {
        file = Path.of(source.substring("file:".length()));
      } else if (source.equals("kubernetes")) {
        System.err.println("ebb serve: --source kubernetes is not available in this build yet");
        return 2;
      } else {
        System.err.println("ebb serve: --source must be file:PATH, not \"" + source + "\"");
        return 2;
      }
      if (!Files.isRegularFile(file)) {
        System.err.println("ebb serve: " + file + " is not a readable file");
        return 2;
      }
      if (circuitBreakerLimit < 1) {
        System.err.println("ebb serve: --circuit-breaker-limit must be at least 1, not " + circuitBreakerLimit);
        return 2;
      }
      Duration quiet;
      try {
        quiet = dev.ebb.api.text.Durations.parse(debounce);
      } catch (IllegalArgumentException e) {
        System.err.println("ebb serve: --debounce: " + e.getMessage());
        return 2;
      }
      EbbServer.Config config = new EbbServer.Config(file, xdsAddress, xdsPort, adminAddress, adminPort, quiet,
          Duration.ofSeconds(1).compareTo(quiet) > 0 ? Duration.ofSeconds(1) : quiet, Duration.ofSeconds(2),
          new EnvoyTranslator.Settings(circuitBreakerLimit, Duration.ofSeconds(5)));
      EbbServer server = new EbbServer(config, Clock.systemUTC()).start();
      System.err.printf("ebb: serving %s; xDS on %s:%d, admin on http://%s:%d/status%n", file, xdsAddress,
          server.xdsPort(), adminAddress, server.adminPort());
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.close();
        stop.countDown();
      }, "ebb-shutdown"));
      stop.await();
      return 0;
    }
  }
}
