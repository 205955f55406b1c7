package dev.ebb.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.ListenerTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsResolverTest {
  static final Instant NOW = Instant.now();
  static final ListenerSpec PLAIN = new ListenerSpec("edge", "0.0.0.0", 10000, List.of());
  static final ListenerSpec TLS = new ListenerSpec("edge-tls", "0.0.0.0", 10443, List.of(),
      Optional.of(new ListenerTls.Files("cert.pem", "key.pem")), 0, true);

  @TempDir
  Path dir;

  void write(TestCertificates.Pair p) throws Exception {
    Files.writeString(dir.resolve("cert.pem"), p.certificatePem());
    Files.writeString(dir.resolve("key.pem"), p.keyPem());
  }

  @Test
  void aGoodPairBecomesTheListenersSecretAndARotationReplacesIt() throws Exception {
    TlsResolver r = new TlsResolver(dir, TlsResolver.KubeSecrets.NONE);
    TestCertificates.Pair first = TestCertificates.selfSigned("chat.example.com");
    write(first);

    TlsResolver.Result a = r.resolve(List.of(PLAIN, TLS), NOW);
    assertThat(a.errors()).isEmpty();
    assertThat(a.listeners()).containsExactly(PLAIN, TLS);
    assertThat(a.secrets()).singleElement().satisfies(s -> {
      assertThat(s.name()).isEqualTo("edge-tls");
      assertThat(s.certificateChain()).isEqualTo(first.certificatePem());
    });

    TestCertificates.Pair second = TestCertificates.selfSigned("chat.example.com");
    write(second);
    assertThat(r.resolve(List.of(PLAIN, TLS), NOW).secrets().get(0).certificateChain())
        .isEqualTo(second.certificatePem());
  }

  @Test
  void aHalfWrittenRotationKeepsTheLastGoodCertificateAndNamesTheKeyFile() throws Exception {
    TlsResolver r = new TlsResolver(dir, TlsResolver.KubeSecrets.NONE);
    TestCertificates.Pair first = TestCertificates.selfSigned("chat.example.com");
    write(first);
    r.resolve(List.of(TLS), NOW);
    // the new certificate is in place, its key not yet
    Files.writeString(dir.resolve("cert.pem"), TestCertificates.selfSigned("chat.example.com").certificatePem());

    TlsResolver.Result b = r.resolve(List.of(TLS), NOW);

    assertThat(b.listeners()).containsExactly(TLS);
    assertThat(b.secrets().get(0).certificateChain()).isEqualTo(first.certificatePem());
    assertThat(b.errors()).extracting(ConfigError::message).singleElement().asString()
        .startsWith("listener edge-tls: tls.keyFile: " + dir.resolve("key.pem") + ": the private key does not belong"
            + " to the certificate CN=chat.example.com; keeping the last good certificate (CN=chat.example.com, ");
    assertThat(b.errors().get(0).field()).isEqualTo("tls.keyFile");
    assertThat(b.errors().get(0).value()).isEqualTo(dir.resolve("key.pem").toString());
  }

  @Test
  void aListenerThatNeverHadAGoodCertificateIsNotServedAndOthersAre() {
    TlsResolver r = new TlsResolver(dir, TlsResolver.KubeSecrets.NONE);

    TlsResolver.Result a = r.resolve(List.of(PLAIN, TLS), NOW);

    assertThat(a.listeners()).containsExactly(PLAIN);
    assertThat(a.secrets()).isEmpty();
    assertThat(a.errors()).extracting(ConfigError::message).containsExactly("listener edge-tls: tls.certFile: "
        + dir.resolve("cert.pem") + ": no such file; the listener is not served until it has a valid certificate");
  }

  @Test
  void kubernetesSecretsNeedTheKubernetesSource() {
    ListenerSpec kube = new ListenerSpec("k", "0.0.0.0", 11443, List.of(),
        Optional.of(new ListenerTls.KubeSecret("ingress", "chat")), 0, true);

    TlsResolver.Result a = new TlsResolver(dir, TlsResolver.KubeSecrets.NONE).resolve(List.of(kube), NOW);

    assertThat(a.listeners()).isEmpty();
    assertThat(a.errors()).extracting(ConfigError::message).containsExactly("listener k: tls.secret: ingress/chat: "
        + "Kubernetes Secrets need --source kubernetes; use certFile and keyFile; the listener is not served until"
        + " it has a valid certificate");
  }

  @Test
  void twoListenersOnOneKubernetesSecretShareOneSecretResource() {
    TestCertificates.Pair p = TestCertificates.selfSigned("chat.example.com");
    ListenerSpec a = new ListenerSpec("a", "0.0.0.0", 11443, List.of(),
        Optional.of(new ListenerTls.KubeSecret("ingress", "chat")), 0, true);
    ListenerSpec b = new ListenerSpec("b", "0.0.0.0", 12443, List.of(),
        Optional.of(new ListenerTls.KubeSecret("ingress", "chat")), 0, true);
    int[] lookups = {0};
    TlsResolver r = new TlsResolver(dir, ref -> {
      lookups[0]++;
      return TlsResolver.Lookup.of(p.certificatePem(), p.keyPem());
    });

    TlsResolver.Result res = r.resolve(List.of(a, b), NOW);

    assertThat(res.listeners()).containsExactly(a, b);
    assertThat(res.secrets()).extracting(s -> s.name()).containsExactly("ingress/chat");
    assertThat(lookups[0]).isEqualTo(1);
  }
}
