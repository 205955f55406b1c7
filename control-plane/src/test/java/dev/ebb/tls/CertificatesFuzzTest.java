package dev.ebb.tls;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ebb.api.model.TlsSecret;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;

/**
 * Fuzzes the certificate check that stands between a PEM pair from outside (files, Kubernetes Secrets) and Envoy
 * (SPEC 10, 11): {@link Certificates#check} must either accept the pair or refuse it with
 * {@link Certificates.BadCertificate}; any other exception (a RuntimeException out of the JDK's parsers, say) is a
 * bug, because the callers only catch BadCertificate. {@link Certificates#expired} must never throw.
 *
 * <p>Input: the first byte picks the form. Its low two bits 0, 1, 2: DER inside valid PEM armor, so mutations
 * reach the ASN.1 readers: bytes 1-2 (big-endian) are the length of the certificate's DER, which follows, and the
 * rest is the key's DER, armored as {@code PRIVATE KEY}, {@code RSA PRIVATE KEY} or {@code EC PRIVATE KEY}; bit 2
 * set puts the certificate twice in the chain. Low bits 3: raw PEM text (ISO-8859-1), chain and key separated by
 * the first NUL byte. Replayed from {@code CertificatesFuzzTestInputs/check/} (real RSA and ECDSA pairs in every
 * key form, a CA-signed chain, broken armor) in every build; see docs/FUZZING.md.
 */
class CertificatesFuzzTest {
  static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
  static final String[] KEY_TYPES = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"};

  /** A chain and a key as the fuzz input describes them. */
  record Pair(String chainPem, String keyPem) {}

  @FuzzTest(maxDuration = "10m")
  void check(byte[] data) {
    Pair pair = decode(data);
    try {
      TlsSecret s = Certificates.check("fuzz", pair.chainPem(), pair.keyPem(), NOW);
      assertThat(s.name().equals("fuzz") && s.certificateChain().equals(pair.chainPem())
          && s.privateKey().equals(pair.keyPem()), "the secret carries the pair as given", pair);
      assertThat(s.summary().contains(", sha256 "), "the summary names the fingerprint: " + s.summary(), pair);
      assertThat(pair.keyPem().isEmpty() || !s.toString().contains(pair.keyPem()), "toString shows no key", pair);
    } catch (Certificates.BadCertificate e) {
      assertThat(e.getMessage() != null && !e.getMessage().isBlank(), "a refusal says why", pair);
    }
    Certificates.expired(pair.chainPem(), NOW);
  }

  static Pair decode(byte[] data) {
    if (data.length == 0) {
      return new Pair("", "");
    }
    int mode = data[0] & 0xff;
    if ((mode & 3) == 3) {
      String text = new String(data, 1, data.length - 1, StandardCharsets.ISO_8859_1);
      int nul = text.indexOf('\0');
      return nul < 0 ? new Pair(text, text) : new Pair(text.substring(0, nul), text.substring(nul + 1));
    }
    int length = data.length >= 3 ? ((data[1] & 0xff) << 8) | (data[2] & 0xff) : 0;
    int start = Math.min(3, data.length);
    int end = Math.min(data.length, start + length);
    byte[] cert = Arrays.copyOfRange(data, start, end);
    byte[] key = Arrays.copyOfRange(data, end, data.length);
    String certPem = pem("CERTIFICATE", cert);
    return new Pair((mode & 4) != 0 ? certPem + certPem : certPem, pem(KEY_TYPES[mode & 3], key));
  }

  /** PEM as openssl writes it: base64 in lines of 64 characters between the armor lines. */
  static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static void assertThat(boolean ok, String what, Pair pair) {
    if (!ok) {
      throw new AssertionError(what + "\n--- chain:\n" + pair.chainPem() + "--- key:\n" + pair.keyPem());
    }
  }
}
