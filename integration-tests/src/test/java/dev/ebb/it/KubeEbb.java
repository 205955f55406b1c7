package dev.ebb.it;

import static org.awaitility.Awaitility.await;

import dev.ebb.EbbServer;
import dev.ebb.translate.EnvoyTranslator;
import dev.ebb.xds.XdsEvents;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Ebb with the Kubernetes source against the mock API server, on free ports. */
final class KubeEbb implements AutoCloseable {
  final KubernetesClient client;
  final EbbServer server;
  /** Envoy's proto rules on every resource this Ebb sends; checked when it closes. */
  final EnvoyRulesCheck rules = new EnvoyRulesCheck();

  KubeEbb(MockApiServer api, String identity, int xdsPort) {
    this(api, identity, xdsPort, Optional.empty());
  }

  /** @param listeners a {@code --listeners} file */
  KubeEbb(MockApiServer api, String identity, int xdsPort, Optional<java.nio.file.Path> listeners) {
    client = api.newClient();
    EbbServer.Config c = new EbbServer.Config(new EbbServer.SourceSpec.Kubernetes(List.of(MockApiServer.NS),
        listeners, MockApiServer.NS, Duration.ofSeconds(3), identity), "127.0.0.1", xdsPort, "127.0.0.1", 0,
        Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(1), EnvoyTranslator.Settings.DEFAULT,
        EbbFixture.LOAD_REPORT_INTERVAL);
    server = new EbbServer(c, Clock.systemUTC(), rules, Optional.of(client)).start();
  }

  KubeEbb awaitReady() {
    await().atMost(Duration.ofSeconds(20)).until(() -> server.notReadyReason().isEmpty());
    return this;
  }

  int xdsPort() {
    return server.xdsPort();
  }

  String admin(String path) {
    return EbbFixture.admin(server.adminPort(), path);
  }

  @Override
  public void close() {
    server.close();
    client.close();
    rules.assertNone();
  }
}
