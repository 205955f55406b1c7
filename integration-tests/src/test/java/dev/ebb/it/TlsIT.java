package dev.ebb.it;

import static dev.ebb.it.AdsClient.CDS;
import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static dev.ebb.it.AdsClient.SDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ebb.tls.TestCertificates;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SPEC 10 with the file source and an Envoy-like ADS client (SotW and delta): certificates reach Envoy as SDS
 * Secrets, a rotation changes only the Secret, routes never change a TLS listener, and a bad certificate keeps
 * the last good one.
 */
class TlsIT {
  @TempDir
  Path dir;

  static String yaml(String extraRoute) {
    return """
        listeners:
          - name: edge
            port: 10000
          - name: edge-tls
            port: 10443
            tls: {certFile: tls/cert.pem, keyFile: tls/key.pem}
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            listener: edge-tls
            stable: v1
            canary: v2
            canaryWeight: 20
          - name: web
            hosts: ["web.example.com"]
            protocol: http
            stable: v1
        %s
        backends:
          - name: v1
            endpoints: ["127.0.0.1:9001"]
          - name: v2
            endpoints: ["127.0.0.1:9002"]
        """.formatted(extraRoute);
  }

  static final String MORE_ROUTE = """
        - name: more
          hosts: ["more.example.com"]
          listener: edge-tls
          stable: v2
      """;

  /** Replaces a file the way cert-manager's or an editor's writes do: a new file renamed over the old. */
  void put(String name, String text) {
    try {
      Path target = dir.resolve("tls").resolve(name);
      Files.createDirectories(target.getParent());
      Path tmp = Files.createTempFile(target.getParent(), ".tmp", ".pem");
      Files.writeString(tmp, text);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void install(TestCertificates.Pair p) {
    put("cert.pem", p.certificatePem());
    put("key.pem", p.keyPem());
  }

  static String servedCert(AdsClient client) {
    Secret s = client.<Secret>resources(SDS).get("edge-tls");
    return s == null ? "" : s.getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8();
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void rotationSendsANewSecretAndNotOneListenerByteChanges(AdsClient.Variant variant) {
    TestCertificates.Pair first = TestCertificates.selfSigned("chat.example.com");
    install(first);
    try (EbbFixture ebb = new EbbFixture(dir, yaml("")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> servedCert(client).equals(first.certificatePem())
          && client.count(RDS) >= 1);
      Listener tls = client.<Listener>resources(LDS).get("edge-tls");
      assertThat(AdsClient.secretNames(tls)).containsExactly("edge-tls");
      assertThat(tls.toByteString().toStringUtf8()).doesNotContain("PRIVATE KEY");
      assertThat(AdsClient.secretNames(client.<Listener>resources(LDS).get("edge"))).isEmpty();
      int lds = client.count(LDS);
      int cds = client.count(CDS);
      int sds = client.count(SDS);
      byte[] tlsBytes = client.rawBytes(LDS).get("edge-tls");
      byte[] plainBytes = client.rawBytes(LDS).get("edge");

      TestCertificates.Pair second = TestCertificates.selfSigned("chat.example.com");
      install(second);
      // SPEC 10: within 5 s of the files changing
      await().atMost(Duration.ofSeconds(5)).until(() -> servedCert(client).equals(second.certificatePem()));
      assertThat(client.<Secret>resources(SDS).get("edge-tls").getTlsCertificate().getPrivateKey().getInlineBytes()
          .toStringUtf8()).isEqualTo(second.keyPem());
      assertThat(client.count(SDS)).isGreaterThan(sds);

      // adding a route on the TLS listener changes its routes, not the listener
      int rds = client.count(RDS);
      ebb.writeAndAwaitPublish(yaml(MORE_ROUTE));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) > rds);

      assertThat(client.count(LDS)).as("listener pushes").isEqualTo(lds);
      assertThat(client.count(CDS)).isEqualTo(cds);
      assertThat(client.rawBytes(LDS).get("edge-tls")).isEqualTo(tlsBytes);
      assertThat(client.rawBytes(LDS).get("edge")).isEqualTo(plainBytes);
      assertThat(ebb.nacks).isEmpty();
      assertThat(client.error()).isNull();
      assertThat(ebb.rules.checked()).as("resources checked against Envoy's rules").isGreaterThan(10);
    }
  }

  @ParameterizedTest
  @EnumSource(AdsClient.Variant.class)
  void aCorruptKeyKeepsTheLastGoodCertificateAndIsNamedInStatus(AdsClient.Variant variant) throws Exception {
    TestCertificates.Pair first = TestCertificates.selfSigned("chat.example.com");
    install(first);
    try (EbbFixture ebb = new EbbFixture(dir, yaml("")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), variant)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> servedCert(client).equals(first.certificatePem()));
      int lds = client.count(LDS);
      int sds = client.count(SDS);

      put("key.pem", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains(
          "listener edge-tls: tls.keyFile: " + dir.resolve("tls/key.pem") + ": is not a readable PRIVATE KEY"));
      assertThat(ebb.admin("/status")).contains("keeping the last good certificate (CN=chat.example.com");
      // a certificate whose key has not arrived yet (a rotation half done) is not applied either
      put("key.pem", first.keyPem());
      put("cert.pem", TestCertificates.selfSigned("chat.example.com").certificatePem());
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains(
          "listener edge-tls: tls.keyFile: " + dir.resolve("tls/key.pem") + ": the private key does not belong"));

      assertThat(servedCert(client)).isEqualTo(first.certificatePem());
      assertThat(client.count(SDS)).isEqualTo(sds);
      assertThat(client.count(LDS)).isEqualTo(lds);
      assertThat(client.<Listener>resources(LDS)).containsKeys("edge", "edge-tls");
      assertThat(ebb.admin("/readyz")).startsWith("200");

      // fixed: the error clears and the pair is served
      TestCertificates.Pair fixed = TestCertificates.selfSigned("chat.example.com");
      install(fixed);
      await().atMost(Duration.ofSeconds(5)).until(() -> servedCert(client).equals(fixed.certificatePem()));
      await().atMost(Duration.ofSeconds(5)).until(() -> !ebb.admin("/status").contains("tls.keyFile"));
      assertThat(client.count(LDS)).isEqualTo(lds);
    }
  }

  @Test
  void aTlsListenerWithoutAValidCertificateIsNotServedWhileThePlaintextOneIs() {
    try (EbbFixture ebb = new EbbFixture(dir, yaml("")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.<Listener>resources(LDS).containsKey("edge"));
      assertThat(client.<Listener>resources(LDS)).doesNotContainKey("edge-tls");
      assertThat(ebb.admin("/status")).contains("listener edge-tls: tls.certFile: " + dir.resolve("tls/cert.pem")
          + ": no such file; the listener is not served until it has a valid certificate");

      TestCertificates.Pair p = TestCertificates.selfSigned("chat.example.com", TestCertificates.KeyForm.SEC1_EC,
          java.time.Instant.now().plus(Duration.ofDays(90)));
      install(p);
      await().atMost(Duration.ofSeconds(5)).until(() -> client.<Listener>resources(LDS).containsKey("edge-tls")
          && servedCert(client).equals(p.certificatePem()));
      assertThat(ebb.admin("/status")).doesNotContain("tls.certFile")
          .contains("\"tlsSecret\" : \"edge-tls\"").contains("\"certificate\" : \"CN=chat.example.com, expires ")
          .doesNotContain("PRIVATE KEY");
      assertThat(client.received(SDS)).allSatisfy(r -> assertThat(r.names()).containsExactly("edge-tls"));
    }
  }

  @Test
  void configDumpShowsTheCertificateButNeverTheKey() {
    TestCertificates.Pair p = TestCertificates.selfSigned("chat.example.com");
    install(p);
    try (EbbFixture ebb = new EbbFixture(dir, yaml("")).start()) {
      String dump = ebb.admin("/config_dump");
      assertThat(dump).startsWith("200").contains("\"SDS\":[{\"name\":\"edge-tls\"").contains("[redacted]");
      String keyBody = p.keyPem().split("\n")[1];
      assertThat(dump).doesNotContain(keyBody);
    }
  }
}
