package dev.ebb.it;

import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static dev.ebb.it.AdsClient.SDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ebb.tls.TestCertificates;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SPEC 10 with the Kubernetes source: a listener's certificate from a watched kubernetes.io/tls Secret. */
class KubernetesTlsIT {
  static final String SECRET = "default/chat-tls";
  MockApiServer api;

  @TempDir
  Path dir;

  @BeforeEach
  void start() {
    api = new MockApiServer().start();
  }

  @AfterEach
  void stop() {
    api.close();
  }

  /** The {@code --listeners} file: plaintext "edge" and "edge-tls" with the Secret default/chat-tls. */
  Path listenersFile() throws java.io.IOException {
    Path listeners = dir.resolve("listeners.yaml");
    Files.writeString(listeners, """
        listeners:
          - name: edge
            port: 10000
          - name: edge-tls
            port: 10443
            tls: {secret: default/chat-tls}
        """);
    return listeners;
  }

  static String served(AdsClient c) {
    Secret s = c.<Secret>resources(SDS).get(SECRET);
    return s == null ? "" : s.getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8();
  }

  @Test
  void aSecretRotationChangesOnlyTheSecretAndABadOneIsAWarningEventOnTheRoutesOfThatListener() throws Exception {
    Path listeners = listenersFile();
    TestCertificates.Pair first = TestCertificates.selfSigned("chat.example.com");
    api.apply(MockApiServer.tlsSecret("chat-tls", first.certificatePem(), first.keyPem()));
    KubernetesIT.createChat(api, "20");
    api.annotate("chat", "ebb.dev/listener", "edge-tls");
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0, Optional.of(listeners)).awaitReady();
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.DELTA)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> served(envoy).equals(first.certificatePem())
          && envoy.count(RDS) >= 1);
      assertThat(AdsClient.secretNames(envoy.<Listener>resources(LDS).get("edge-tls"))).containsExactly(SECRET);
      int lds = envoy.count(LDS);
      byte[] listenerBytes = envoy.rawBytes(LDS).get("edge-tls");

      TestCertificates.Pair second = TestCertificates.selfSigned("chat.example.com", TestCertificates.KeyForm.PKCS1_RSA,
          java.time.Instant.now().plus(Duration.ofDays(60)));
      api.apply(MockApiServer.tlsSecret("chat-tls", second.certificatePem(), second.keyPem()));
      await().atMost(Duration.ofSeconds(5)).until(() -> served(envoy).equals(second.certificatePem()));

      // a certificate of another key: refused, the last good one stays, the route's Service says why
      TestCertificates.Pair other = TestCertificates.selfSigned("chat.example.com");
      api.apply(MockApiServer.tlsSecret("chat-tls", other.certificatePem(), first.keyPem()));
      await().atMost(Duration.ofSeconds(10)).until(() -> api.events("chat").stream()
          .anyMatch(e -> e.getType().equals("Warning") && e.getReason().equals("InvalidCertificate")
              && e.getMessage().startsWith("listener edge-tls: tls.secret: default/chat-tls: tls.key the private"
                  + " key does not belong to the certificate CN=chat.example.com; keeping the last good certificate")));
      assertThat(ebb.admin("/status")).contains("listener edge-tls: tls.secret: default/chat-tls");
      assertThat(served(envoy)).isEqualTo(second.certificatePem());

      assertThat(envoy.count(LDS)).isEqualTo(lds);
      assertThat(envoy.rawBytes(LDS).get("edge-tls")).isEqualTo(listenerBytes);
      assertThat(envoy.error()).isNull();
    }
  }

  @Test
  void aMissingSecretLeavesOnlyItsListenerOut() throws Exception {
    Path listeners = listenersFile();
    KubernetesIT.createChat(api, "20");
    try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0, Optional.of(listeners)).awaitReady();
        AdsClient envoy = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.count(RDS) >= 1);
      assertThat(envoy.<Listener>resources(LDS)).containsOnlyKeys("edge");
      assertThat(ebb.admin("/status")).contains("listener edge-tls: tls.secret: default/chat-tls: Secret "
          + "default/chat-tls does not exist (or Ebb may not read it); the listener is not served until it has a"
          + " valid certificate");

      TestCertificates.Pair p = TestCertificates.selfSigned("chat.example.com");
      api.apply(MockApiServer.tlsSecret("chat-tls", p.certificatePem(), p.keyPem()));
      await().atMost(Duration.ofSeconds(10)).until(() -> envoy.<Listener>resources(LDS).containsKey("edge-tls")
          && served(envoy).equals(p.certificatePem()));
      assertThat(envoy.<Listener>resources(LDS).keySet()).containsExactly("edge", "edge-tls");
      assertThat(Map.copyOf(envoy.resources(SDS))).containsOnlyKeys(SECRET);
    }
  }
}
