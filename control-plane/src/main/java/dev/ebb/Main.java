package dev.ebb;

import dev.ebb.api.text.Durations;
import dev.ebb.cli.RouteCli;
import dev.ebb.translate.EnvoyTranslator;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The command line: {@code ebb serve | status | shift | promote | rollback}. */
@Command(name = "ebb", mixinStandardHelpOptions = true, version = "ebb 0.1.0",
    description = "Envoy xDS control plane that shifts long-lived streams without cutting them.",
    subcommands = {Main.Serve.class, Main.Status.class, Main.Shift.class, Main.Promote.class, Main.Rollback.class,
        Main.EnvoyDrainCommand.class, Main.ShutdownManagerCommand.class})
public final class Main implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 2;
  }

  public static void main(String[] args) {
    Logging.init();
    System.exit(new CommandLine(new Main()).execute(args));
  }

  /**
   * Runs a route command against the cluster; a {@link RouteCli.CliException} is a message and exit code 1. A
   * cluster that does not answer fails within seconds (no retries: a person is waiting), with a hint.
   */
  static int withCluster(Function<RouteCli, String> action) {
    io.fabric8.kubernetes.client.Config config = new io.fabric8.kubernetes.client.ConfigBuilder(
        io.fabric8.kubernetes.client.Config.autoConfigure(null))
        .withRequestRetryBackoffLimit(0).withConnectionTimeout(3_000).withRequestTimeout(10_000).build();
    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
      String out = action.apply(new RouteCli(client));
      if (out != null) {
        System.out.println(out);
      }
      return 0;
    } catch (RouteCli.CliException e) {
      System.err.println("ebb: " + e.getMessage());
      return 1;
    } catch (RuntimeException e) {
      System.err.println("ebb: cannot talk to the Kubernetes API at " + config.getMasterUrl() + ": "
          + RouteCli.rootCause(e) + "; is the cluster up (kubectl cluster-info)?");
      return 1;
    }
  }

  /** Where {@code ./ebb status} looks for a running Ebb when it is told {@code --admin} alone, or has no cluster. */
  static final String LOCAL_ADMIN = "http://127.0.0.1:18001";

  /**
   * Whether a Kubernetes API is configured the usual way: {@code $KUBECONFIG}, {@code ~/.kube/config}, or a pod's
   * service account. Without one, fabric8 would try https://kubernetes.default.svc with retries for 20 s.
   */
  static boolean kubernetesConfigured(Map<String, String> env, Path home) {
    return !env.getOrDefault("KUBECONFIG", "").isBlank() || Files.isRegularFile(home.resolve(".kube/config"))
        || !env.getOrDefault("KUBERNETES_SERVICE_HOST", "").isBlank();
  }

  /** Durations as Ebb writes them everywhere: 90s, 30m, 2h. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  @Command(name = "envoy-drain", mixinStandardHelpOptions = true,
      description = "Drain the Envoy of this pod before it stops (an Envoy pod's preStop hook): fail its health "
          + "checks, drain its listeners gracefully, wait until no connection is left or the timeout, then write "
          + "the done file that releases Envoy's own preStop hook.")
  static final class EnvoyDrainCommand implements Callable<Integer> {
    @Option(names = "--admin", defaultValue = "http://127.0.0.1:9901", description = "Envoy's admin URL (default: "
        + "${DEFAULT-VALUE}).")
    java.net.URI admin;

    @Option(names = "--timeout", defaultValue = "15m", converter = DurationConverter.class,
        description = "Longest wait for open connections (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--poll", defaultValue = "2s", converter = DurationConverter.class,
        description = "How often to look at Envoy's connection count (default: ${DEFAULT-VALUE}).")
    Duration poll;

    @Option(names = "--done-file", required = true, description = "Written when the drain is over.")
    Path doneFile;

    @Override
    public Integer call() throws Exception {
      new dev.ebb.envoy.EnvoyDrain(admin, Clock.systemUTC(), System.err::println).run(timeout, poll, doneFile);
      return 0;
    }
  }

  @Command(name = "envoy-shutdown-manager", mixinStandardHelpOptions = true,
      description = "The sidecar of an Envoy pod: GET /shutdown answers once the drain's done file exists (Envoy's "
          + "preStop hook), so Envoy stops only after its drain.")
  static final class ShutdownManagerCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "8090", description = "HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--done-file", required = true, description = "The file envoy-drain writes when it is done.")
    Path doneFile;

    @Override
    public Integer call() throws Exception {
      try (dev.ebb.envoy.ShutdownManager m = new dev.ebb.envoy.ShutdownManager(
          new java.net.InetSocketAddress(port), doneFile, Duration.ofSeconds(1)).start()) {
        System.err.println("ebb envoy-shutdown-manager: GET :" + m.port() + "/shutdown waits for " + doneFile);
        new CountDownLatch(1).await(); // until the pod stops (SIGTERM ends the JVM)
      }
      return 0;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = {"A table of the routes: weights in effect, draining backends with time left, last error.",
          "Read from the cluster's status annotations, or with --admin from a running Ebb's /status (any source, "
              + "e.g. ebb serve --source file:PATH). Without a Kubernetes configuration, --admin is the default."})
  static final class Status implements Callable<Integer> {
    @Option(names = {"-n", "--namespace"}, description = "Namespace (default: the kubeconfig's current one).")
    String namespace;

    @Option(names = {"-A", "--all-namespaces"}, description = "Routes of every namespace.")
    boolean all;

    @Option(names = "--admin", arity = "0..1", paramLabel = "URL", fallbackValue = LOCAL_ADMIN,
        description = "Read a running Ebb's /status at this admin URL instead of the cluster (default URL: "
            + LOCAL_ADMIN + ").")
    String admin;

    @Override
    public Integer call() {
      if (admin == null && !kubernetesConfigured(System.getenv(), Path.of(System.getProperty("user.home")))) {
        return fromAdmin(LOCAL_ADMIN, "no Kubernetes cluster is configured ($KUBECONFIG, ~/.kube/config, in a pod)"
            + " and ");
      }
      if (admin != null) {
        return fromAdmin(admin, "");
      }
      return withCluster(cli -> {
        cli.status(namespace, all, Clock.systemUTC().instant(), System.out);
        return null;
      });
    }

    private static int fromAdmin(String url, String why) {
      try {
        dev.ebb.cli.AdminStatus.print(dev.ebb.cli.AdminStatus.fetch(url, Duration.ofSeconds(3)), System.out);
        return 0;
      } catch (RouteCli.CliException e) {
        System.err.println("ebb: " + why + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "shift", mixinStandardHelpOptions = true,
      description = "Set the canary's share of NEW streams (percent, 0..100, two decimals at most).")
  static final class Shift implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ROUTE", description = "NAMESPACE/NAME or NAME.")
    String route;

    @Parameters(index = "1", paramLabel = "WEIGHT")
    String weight;

    @Override
    public Integer call() {
      return withCluster(cli -> cli.shift(route, weight));
    }
  }

  @Command(name = "promote", mixinStandardHelpOptions = true,
      description = "Make the canary the stable backend; the old stable drains.")
  static final class Promote implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ROUTE")
    String route;

    @Override
    public Integer call() {
      return withCluster(cli -> cli.promote(route));
    }
  }

  @Command(name = "rollback", mixinStandardHelpOptions = true,
      description = "Canary weight to 0: every new stream goes to the stable backend.")
  static final class Rollback implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ROUTE")
    String route;

    @Override
    public Integer call() {
      return withCluster(cli -> cli.rollback(route));
    }
  }

  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = "Serve xDS from a source (default: the bundled example file).")
  static final class Serve implements Callable<Integer> {
    @Option(names = "--source", paramLabel = "file:PATH|PATH|kubernetes",
        description = "Where routes come from: a YAML file (file:PATH, or just PATH) or kubernetes (default: "
            + "examples/ebb.yaml of this installation).")
    String source;

    @Option(names = "--state-file", paramLabel = "PATH",
        description = "File source: where drain starts are kept across restarts (default: beside the YAML, "
            + "<file>.ebb-state.json); use it when the YAML's directory is read-only, e.g. a ConfigMap mount.")
    Path stateFile;

    @Option(names = "--namespace", paramLabel = "NS",
        description = "Kubernetes namespace to watch (repeatable; default: all namespaces).")
    List<String> namespaces = new ArrayList<>();

    @Option(names = "--listeners", paramLabel = "FILE",
        description = "Kubernetes source: YAML file with a listeners: block (default: edge on 0.0.0.0:10000).")
    Path listeners;

    @Option(names = "--lease-namespace", paramLabel = "NS",
        description = "Namespace of the leader-election Lease (default: the first --namespace, else default).")
    String leaseNamespace;

    @Option(names = "--xds-address", defaultValue = "0.0.0.0", description = "xDS bind address (default: ${DEFAULT-VALUE}).")
    String xdsAddress;

    @Option(names = "--xds-port", defaultValue = "18000", description = "ADS port (default: ${DEFAULT-VALUE}).")
    int xdsPort;

    @Option(names = "--admin-address", defaultValue = "127.0.0.1",
        description = "Admin bind address (default: ${DEFAULT-VALUE}).")
    String adminAddress;

    @Option(names = "--admin-port", defaultValue = "18001", description = "Admin port (default: ${DEFAULT-VALUE}).")
    int adminPort;

    @Option(names = "--debounce", defaultValue = "100ms", converter = DurationConverter.class,
        description = "Quiet period before a change is pushed (default: ${DEFAULT-VALUE}); a burst is pushed within 1s.")
    Duration debounce;

    @Option(names = "--load-report-interval", defaultValue = "10s", converter = DurationConverter.class,
        description = "How often nodes send load reports (default: ${DEFAULT-VALUE}).")
    Duration loadReportInterval;

    @Option(names = "--xds-keepalive", defaultValue = "30s", converter = DurationConverter.class,
        description = "Ping idle xDS connections this often to find vanished peers; 0 disables (default: "
            + "${DEFAULT-VALUE}).")
    Duration xdsKeepAlive;

    @Option(names = "--xds-max-connection-age", defaultValue = "0s", converter = DurationConverter.class,
        description = "Close xDS connections after this age so clients spread over replicas after a rollout; "
            + "they reconnect and get the same config (default: ${DEFAULT-VALUE}, never).")
    Duration xdsMaxConnectionAge;

    @Option(names = "--xds-max-connection-age-grace", defaultValue = "30s", converter = DurationConverter.class,
        description = "How long an aged connection's streams may go on before it closes (default: ${DEFAULT-VALUE}).")
    Duration xdsMaxConnectionAgeGrace;

    @Option(names = "--metrics-address", paramLabel = "HOST:PORT",
        description = "Also serve /metrics, /healthz and /readyz (only those) here, e.g. 0.0.0.0:18002 for "
            + "Prometheus and probes; /status and /config_dump stay on the admin address.")
    String metricsAddress;

    @Option(names = "--xds-tls-cert", paramLabel = "PEM",
        description = "Serve xDS over TLS with this certificate chain (re-read when it changes).")
    Path xdsTlsCert;

    @Option(names = "--xds-tls-key", paramLabel = "PEM", description = "The private key of --xds-tls-cert.")
    Path xdsTlsKey;

    @Option(names = "--xds-client-ca", paramLabel = "PEM",
        description = "Require client certificates signed by this CA (mutual TLS; re-read when it changes).")
    Path xdsClientCa;

    @Option(names = "--xds-node-authz", paramLabel = "FILE",
        description = "Mutual TLS: which node clusters each certificate identity may claim (SPEC 11).")
    Path xdsNodeAuthz;

    @Option(names = "--xds-max-streams", defaultValue = "100000",
        description = "xDS and load report streams in total (default: ${DEFAULT-VALUE}).")
    int xdsMaxStreams;

    @Option(names = "--xds-max-streams-per-connection", defaultValue = "100",
        description = "xDS and load report streams per client connection (default: ${DEFAULT-VALUE}).")
    int xdsMaxStreamsPerConnection;

    @Option(names = "--xds-max-message-bytes", defaultValue = "4194304",
        description = "Largest xDS request accepted (default: ${DEFAULT-VALUE}).")
    int xdsMaxMessageBytes;

    @Option(names = "--xds-max-load-report-bytes", defaultValue = "1048576",
        description = "Largest load report accepted (default: ${DEFAULT-VALUE}).")
    int xdsMaxLoadReportBytes;

    @Option(names = "--circuit-breaker-limit", defaultValue = "1000000",
        description = "Envoy max connections, pending requests and requests per cluster (default: ${DEFAULT-VALUE}).")
    int circuitBreakerLimit;

    private Optional<java.net.InetSocketAddress> metricsAddress() {
      if (metricsAddress == null) {
        return Optional.empty();
      }
      int colon = metricsAddress.lastIndexOf(':');
      try {
        return Optional.of(new java.net.InetSocketAddress(metricsAddress.substring(0, colon).replaceAll("^\\[|\\]$", ""),
            Integer.parseInt(metricsAddress.substring(colon + 1))));
      } catch (RuntimeException e) {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
            "--metrics-address " + metricsAddress + " is not HOST:PORT");
      }
    }

    private Optional<dev.ebb.xds.XdsTls.Files> xdsTls() {
      if (xdsTlsCert == null && xdsTlsKey == null) {
        if (xdsClientCa != null || xdsNodeAuthz != null) {
          throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
              "--xds-client-ca and --xds-node-authz need --xds-tls-cert and --xds-tls-key");
        }
        return Optional.empty();
      }
      if (xdsTlsCert == null || xdsTlsKey == null) {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
            "--xds-tls-cert and --xds-tls-key go together");
      }
      return Optional.of(new dev.ebb.xds.XdsTls.Files(xdsTlsCert, xdsTlsKey, Optional.ofNullable(xdsClientCa)));
    }

    /**
     * The YAML file {@code --source} names: {@code file:PATH}, or a bare PATH (what a newcomer types); empty for
     * {@code kubernetes}. No --source: the bundled example.
     */
    static Optional<Path> sourceFile(String source, Path ebbHome) {
      if (source == null) {
        return Optional.of(ebbHome.resolve("examples").resolve("ebb.yaml"));
      }
      if (source.equals("kubernetes")) {
        return Optional.empty();
      }
      return Optional.of(Path.of(source.startsWith("file:") ? source.substring("file:".length()) : source));
    }

    @Override
    public Integer call() throws Exception {
      EbbServer.SourceSpec spec;
      Optional<KubernetesClient> client = Optional.empty();
      Optional<Path> yaml = sourceFile(source, Path.of(System.getenv().getOrDefault("EBB_HOME", ".")));
      if (yaml.isPresent()) {
        Path file = yaml.get();
        if (!Files.isRegularFile(file)) {
          System.err.println("ebb serve: " + file + " is not a readable file"
              + (source != null && !source.startsWith("file:") ? " (--source takes file:PATH, PATH or kubernetes)"
                  : ""));
          return 2;
        }
        if (stateFile != null && !Files.isDirectory(stateFile.toAbsolutePath().getParent())) {
          System.err.println("ebb serve: --state-file " + stateFile + ": directory "
              + stateFile.toAbsolutePath().getParent() + " does not exist");
          return 2;
        }
        spec = new EbbServer.SourceSpec.File(file, Optional.ofNullable(stateFile));
      } else {
        if (stateFile != null) {
          System.err.println("ebb serve: --state-file is for the file source; Kubernetes keeps drain starts in"
              + " the route Services' status annotations");
          return 2;
        }
        if (listeners != null && !Files.isRegularFile(listeners)) {
          System.err.println("ebb serve: --listeners " + listeners + " is not a readable file");
          return 2;
        }
        String identity = InetAddress.getLocalHost().getHostName() + "-" + UUID.randomUUID().toString()
            .substring(0, 8);
        String leaseNs = leaseNamespace != null ? leaseNamespace
            : namespaces.isEmpty() ? "default" : namespaces.get(0);
        spec = new EbbServer.SourceSpec.Kubernetes(namespaces, Optional.ofNullable(listeners), leaseNs,
            Duration.ofSeconds(15), identity);
        client = Optional.of(new KubernetesClientBuilder().build());
      }
      if (circuitBreakerLimit < 1) {
        System.err.println("ebb serve: --circuit-breaker-limit must be at least 1, not " + circuitBreakerLimit);
        return 2;
      }
      if (loadReportInterval.compareTo(Duration.ofMillis(100)) < 0) {
        System.err.println("ebb serve: --load-report-interval must be at least 100ms, not "
            + Durations.format(loadReportInterval));
        return 2;
      }
      EbbServer.Config config = new EbbServer.Config(spec, xdsAddress, xdsPort, adminAddress, adminPort, debounce,
          Duration.ofSeconds(1).compareTo(debounce) > 0 ? Duration.ofSeconds(1) : debounce, Duration.ofSeconds(2),
          new EnvoyTranslator.Settings(circuitBreakerLimit, Duration.ofSeconds(5)), loadReportInterval,
          new dev.ebb.xds.XdsServer.Connections(xdsKeepAlive, xdsMaxConnectionAge, xdsMaxConnectionAgeGrace,
              xdsTls(), Optional.ofNullable(xdsNodeAuthz), new dev.ebb.xds.XdsGuard.Limits(
                  xdsMaxStreamsPerConnection, xdsMaxStreams, xdsMaxMessageBytes, xdsMaxLoadReportBytes)),
          metricsAddress());
      EbbServer server;
      try {
        server = new EbbServer(config, Clock.systemUTC(), dev.ebb.xds.XdsEvents.NONE, client).start();
      } catch (RuntimeException e) {
        System.err.println("ebb serve: " + e.getMessage());
        return 2;
      }
      System.err.printf("ebb: serving %s; xDS on %s:%d, admin on http://%s:%d/status%n",
          source == null ? "the bundled example" : source, xdsAddress, server.xdsPort(), adminAddress,
          server.adminPort());
      CountDownLatch stop = new CountDownLatch(1);
      Optional<KubernetesClient> toClose = client;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.close();
        toClose.ifPresent(KubernetesClient::close);
        stop.countDown();
      }, "ebb-shutdown"));
      stop.await();
      return 0;
    }
  }
}
