package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

/**
 * One real Envoy 1.37 in a container, bootstrapped from {@code envoy/edge.yaml} (the file users get, with the xDS
 * and admin ports of the test) and fed by an Ebb running in the test JVM. The container uses host networking, so
 * Envoy reaches Ebb and the backends on loopback and the test reaches Envoy's listeners and admin API there: it
 * needs a Docker engine on a Linux host. Envoy*IT classes use {@link RequiresDocker}, which skips them where there
 * is none (named, with the reason, on the build output's one SKIPPED line).
 */
final class EnvoyFixture implements AutoCloseable {
  static final DockerImageName IMAGE = DockerImageName.parse("envoyproxy/envoy:v1.37-latest");
  static final HttpClient HTTP = HttpClient.newHttpClient();
  /** The last Envoy's log, printed by {@link RequiresDocker} when a test fails. */
  static final AtomicReference<String> LAST_LOG = new AtomicReference<>("");

  enum Ads { SOTW, DELTA }

  final int adminPort;
  private final GenericContainer<?> container;

  private EnvoyFixture(GenericContainer<?> container, int adminPort) {
    this.container = container;
    this.adminPort = adminPort;
  }

  /** envoy/edge.yaml pointed at this Ebb and admin port; DELTA switches its ADS stream (not LRS) to delta xDS. */
  static String bootstrap(int xdsPort, int adminPort, Ads ads) {
    try {
      String b = Files.readString(Path.of("../envoy/edge.yaml"));
      assertThat(b).contains("port_value: 18000", "port_value: 9901", "  ads_config:\n    api_type: GRPC\n");
      b = b.replace("port_value: 18000", "port_value: " + xdsPort).replace("port_value: 9901", "port_value: " + adminPort);
      if (ads == Ads.DELTA) {
        b = b.replace("  ads_config:\n    api_type: GRPC\n", "  ads_config:\n    api_type: DELTA_GRPC\n");
      }
      EnvoyBootstrapTest.parse(b); // what we hand Envoy parses as its Bootstrap
      return b;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts Envoy with the edge bootstrap as node {@code nodeId} of cluster "edge" and waits until it is LIVE. */
  static EnvoyFixture start(int xdsPort, Ads ads, String nodeId) {
    int admin = WebSocketBackend.freePort();
    GenericContainer<?> c = new GenericContainer<>(IMAGE)
        .withNetworkMode("host")
        .withCopyToContainer(Transferable.of(bootstrap(xdsPort, admin, ads)), "/etc/envoy/envoy.yaml")
        // the command line envoy/edge.yaml documents, with a short drain time: a modified listener (which Ebb
        // must never cause) would cut the tests' WebSockets within seconds instead of minutes
        .withCommand("-c", "/etc/envoy/envoy.yaml", "--service-node", nodeId, "--service-cluster", "edge",
            "--drain-time-s", "5", "--drain-strategy", "immediate");
    c.start();
    EnvoyFixture f = new EnvoyFixture(c, admin);
    try {
      await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> f.admin("/ready").startsWith("200"));
    } catch (RuntimeException e) {
      f.close();
      throw e;
    }
    return f;
  }

  /** GET on Envoy's admin API: "status body". */
  String admin(String path) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
          .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() + " " + r.body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Counters and gauges whose name matches the regex {@code filter} (Envoy's /stats?filter=). */
  Map<String, Long> stats(String filter) {
    String body = admin("/stats?filter=" + java.net.URLEncoder.encode(filter, java.nio.charset.StandardCharsets.UTF_8));
    assertThat(body).startsWith("200 ");
    Map<String, Long> out = new TreeMap<>();
    for (String line : body.substring(4).split("\n")) {
      int colon = line.lastIndexOf(": ");
      if (colon > 0 && line.substring(colon + 2).trim().matches("-?\\d+")) {
        out.put(line.substring(0, colon).trim(), Long.parseLong(line.substring(colon + 2).trim()));
      }
    }
    return out;
  }

  long stat(String name) {
    Long v = stats("^" + java.util.regex.Pattern.quote(name) + "$").get(name);
    assertThat(v).as("Envoy stat " + name).isNotNull();
    return v;
  }

  /**
   * No listener was ever modified (SPEC 2.5: a modified listener drains and then closes its connections), and
   * Envoy rejected no update of any xDS type it subscribes to: every {@code update_rejected} is 0, and there is one
   * for each of {@code types} (e.g. "cds", "lds", "rds", "sds").
   */
  void assertNoListenerModifiedAndNothingRejected(String... types) {
    assertThat(stat("listener_manager.listener_modified")).as("listener_manager.listener_modified").isZero();
    Map<String, Long> rejected = stats("update_rejected");
    System.out.println("Envoy update_rejected: " + rejected);
    assertThat(rejected).as("Envoy's update_rejected stats").allSatisfy((k, v) -> assertThat(v).as(k).isZero());
    for (String type : types) {
      assertThat(rejected.keySet()).as("an update_rejected stat for " + type)
          .anyMatch(k -> k.startsWith(type + ".") || k.contains("." + type + "."));
    }
  }

  String logs() {
    return container.getLogs();
  }

  @Override
  public void close() {
    try {
      LAST_LOG.set(container.getLogs());
    } catch (RuntimeException ignored) {
      // no log to keep
    }
    container.stop();
  }

  /**
   * Skips a class where Testcontainers finds no Docker engine ({@link SkippedSuitesSummary} puts the reason in the
   * build output; surefire and failsafe keep it in their XML only); prints the last Envoy's log when a test fails.
   */
  static final class RequiresDocker implements ExecutionCondition, TestWatcher {
    private static volatile Boolean available;

    static boolean dockerAvailable() {
      if (available == null) {
        boolean a;
        try {
          a = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | Error e) {
          a = false;
        }
        available = a;
      }
      return available;
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      if (dockerAvailable()) {
        return ConditionEvaluationResult.enabled("Docker is available");
      }
      // SkippedSuitesSummary names the skipped classes with this reason on one line of the build output
      return ConditionEvaluationResult.disabled("no Docker engine (Testcontainers found none; Envoy runs in a"
          + " container). It runs in CI: .github/workflows/envoy.yml");
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      List<String> lines = LAST_LOG.get().lines().toList();
      System.out.println("---- last Envoy log (" + context.getDisplayName() + "), last 80 lines ----");
      lines.subList(Math.max(0, lines.size() - 80), lines.size()).forEach(System.out::println);
    }
  }
}
