package dev.ebb.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ebb.api.model.TlsSecret;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CertificatesTest {
  static final Instant NOW = Instant.now();

  @ParameterizedTest
  @EnumSource(TestCertificates.KeyForm.class)
  void everyKeyFormToolsWriteIsReadAndMatched(TestCertificates.KeyForm form) throws Exception {
    TestCertificates.Pair p = TestCertificates.selfSigned("chat.example.com", form, NOW.plus(Duration.ofDays(3)));

    TlsSecret s = Certificates.check("edge-tls", p.certificatePem(), p.keyPem(), NOW);

    assertThat(s.name()).isEqualTo("edge-tls");
    assertThat(s.summary()).startsWith("CN=chat.example.com, expires ").contains("sha256 ");
    assertThat(s.toString()).doesNotContain("PRIVATE KEY").doesNotContain(p.keyPem().substring(40, 80));
  }

  @Test
  void aKeyOfAnotherCertificateIsRefusedAsTheKeysProblem() {
    TestCertificates.Pair a = TestCertificates.selfSigned("a.example.com");
    TestCertificates.Pair b = TestCertificates.selfSigned("b.example.com");

    assertThatThrownBy(() -> Certificates.check("x", a.certificatePem(), b.keyPem(), NOW))
        .isInstanceOfSatisfying(Certificates.BadCertificate.class, e -> assertThat(e.keyProblem()).isTrue())
        .hasMessage("the private key does not belong to the certificate CN=a.example.com");
  }

  @Test
  void anRsaKeyForAnEcCertificateIsRefused() {
    TestCertificates.Pair ec = TestCertificates.selfSigned("a.example.com", TestCertificates.KeyForm.SEC1_EC,
        NOW.plus(Duration.ofDays(1)));
    TestCertificates.Pair rsa = TestCertificates.selfSigned("a.example.com");

    assertThatThrownBy(() -> Certificates.check("x", ec.certificatePem(), rsa.keyPem(), NOW))
        .hasMessageStartingWith("the private key does not belong to the certificate");
  }

  @Test
  void brokenInputsSayWhatIsWrongWithWhichFile() {
    TestCertificates.Pair p = TestCertificates.selfSigned("a.example.com");
    String corruptKey = p.keyPem().substring(0, 30) + "A".repeat(30) + p.keyPem().substring(60);

    assertThatThrownBy(() -> Certificates.check("x", "hello", p.keyPem(), NOW))
        .isInstanceOfSatisfying(Certificates.BadCertificate.class, e -> assertThat(e.keyProblem()).isFalse())
        .hasMessage("holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    assertThatThrownBy(() -> Certificates.check("x", p.certificatePem(), p.certificatePem(), NOW))
        .hasMessage("holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
    assertThatThrownBy(() -> Certificates.check("x", p.certificatePem(), corruptKey, NOW))
        .isInstanceOfSatisfying(Certificates.BadCertificate.class, e -> assertThat(e.keyProblem()).isTrue())
        .hasMessageStartingWith("is not a readable PRIVATE KEY");
    assertThatThrownBy(() -> Certificates.check("x",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", p.keyPem(), NOW))
        .hasMessageStartingWith("is not a readable PEM certificate");
    assertThatThrownBy(() -> Certificates.check("x", p.certificatePem(),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", NOW))
        .hasMessage("is an encrypted private key; Envoy needs it unencrypted");
  }

  @Test
  void anExpiredCertificateIsStillUsableButSaysSo() throws Exception {
    TestCertificates.Pair p = TestCertificates.selfSigned("old.example.com", TestCertificates.KeyForm.PKCS8,
        NOW.minus(Duration.ofDays(1)));

    TlsSecret s = Certificates.check("x", p.certificatePem(), p.keyPem(), NOW);

    assertThat(s.summary()).contains("EXPIRED since");
    assertThat(Certificates.expired(p.certificatePem(), NOW)).isTrue();
  }
}
