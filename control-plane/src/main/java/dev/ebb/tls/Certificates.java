package dev.ebb.tls;

import dev.ebb.api.model.TlsSecret;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a PEM certificate chain and private key the way Envoy would load them, before Envoy ever sees them:
 * at least one certificate, an unencrypted RSA or ECDSA key (PKCS#8, PKCS#1 or SEC1, the forms cert-manager and
 * openssl write), and a key that belongs to the first certificate. A pair that fails here is never sent, so a
 * half-written rotation (certificate replaced, key not yet) keeps the last good certificate in force.
 */
public final class Certificates {
  private static final Pattern KEY_BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----(.*?)-----END \\1-----", Pattern.DOTALL);
  private static final byte[] OID_RSA = {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
  private static final byte[] OID_EC = {0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

  /** Why a pair was refused; the message says what is wrong and with which of the two files. */
  public static final class BadCertificate extends Exception {
    private final boolean keyProblem;

    BadCertificate(boolean keyProblem, String message) {
      super(message);
      this.keyProblem = keyProblem;
    }

    /** True when the private key is at fault (unreadable, encrypted, not matching); false for the chain. */
    public boolean keyProblem() {
      return keyProblem;
    }
  }

  private Certificates() {}

  /** The checked pair as an SDS secret named {@code name}; {@code now} decides whether it says "expired". */
  public static TlsSecret check(String name, String chainPem, String keyPem, Instant now) throws BadCertificate {
    List<X509Certificate> chain = chain(chainPem);
    PrivateKey key = privateKey(keyPem);
    X509Certificate leaf = chain.get(0);
    if (!matches(key, leaf.getPublicKey())) {
      throw new BadCertificate(true, "the private key does not belong to the certificate "
          + leaf.getSubjectX500Principal().getName());
    }
    return new TlsSecret(name, chainPem, keyPem, summary(leaf, now));
  }

  /** The certificates of a PEM chain, leaf first. */
  public static List<X509Certificate> certificates(String pem) throws BadCertificate {
    return chain(pem);
  }

  /** A checked pair: the chain, leaf first, and the key that belongs to its leaf. */
  public record Identity(List<X509Certificate> chain, PrivateKey key) {}

  public static Identity identity(String chainPem, String keyPem) throws BadCertificate {
    List<X509Certificate> chain = chain(chainPem);
    PrivateKey key = privateKey(keyPem);
    if (!matches(key, chain.get(0).getPublicKey())) {
      throw new BadCertificate(true, "the private key does not belong to the certificate "
          + chain.get(0).getSubjectX500Principal().getName());
    }
    return new Identity(chain, key);
  }

  /** True when the certificate's validity ended before {@code now}. */
  public static boolean expired(String chainPem, Instant now) {
    try {
      return chain(chainPem).get(0).getNotAfter().toInstant().isBefore(now);
    } catch (BadCertificate e) {
      return false;
    }
  }

  static String summary(X509Certificate leaf, Instant now) {
    Instant notAfter = leaf.getNotAfter().toInstant();
    String fingerprint;
    try {
      fingerprint = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(leaf.getEncoded()))
          .substring(0, 16);
    } catch (GeneralSecurityException e) {
      fingerprint = "?";
    }
    return leaf.getSubjectX500Principal().getName() + ", " + (notAfter.isBefore(now) ? "EXPIRED since " : "expires ")
        + notAfter + ", sha256 " + fingerprint;
  }

  static List<X509Certificate> chain(String pem) throws BadCertificate {
    if (!pem.contains("-----BEGIN CERTIFICATE-----")) {
      throw new BadCertificate(false, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    List<X509Certificate> out = new ArrayList<>();
    try {
      CertificateFactory f = CertificateFactory.getInstance("X.509");
      for (var c : f.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        out.add((X509Certificate) c);
      }
    } catch (CertificateException | RuntimeException e) {
      throw new BadCertificate(false, "is not a readable PEM certificate (" + e.getMessage() + ")");
    }
    if (out.isEmpty()) {
      throw new BadCertificate(false, "holds no PEM certificate");
    }
    return out;
  }

  static PrivateKey privateKey(String pem) throws BadCertificate {
    Matcher m = KEY_BLOCK.matcher(pem);
    if (!m.find()) {
      throw new BadCertificate(true, "holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
    }
    String type = m.group(1);
    String body = m.group(2);
    if (type.equals("ENCRYPTED PRIVATE KEY") || body.contains("ENCRYPTED")) {
      throw new BadCertificate(true, "is an encrypted private key; Envoy needs it unencrypted");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(body.trim());
    } catch (IllegalArgumentException e) {
      throw new BadCertificate(true, "is not valid PEM (" + e.getMessage() + ")");
    }
    try {
      return switch (type) {
        case "PRIVATE KEY" -> pkcs8(der);
        case "RSA PRIVATE KEY" -> KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(
            pkcs8Wrap(seq(oid(OID_RSA), new byte[] {0x05, 0x00}), der)));
        case "EC PRIVATE KEY" -> KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(
            pkcs8Wrap(seq(oid(OID_EC), sec1Curve(der)), der)));
        default -> throw new BadCertificate(true, "holds a " + type + ", not an RSA or ECDSA private key");
      };
    } catch (GeneralSecurityException | IllegalArgumentException | IndexOutOfBoundsException e) {
      throw new BadCertificate(true, "is not a readable " + type + " (" + e.getMessage() + ")");
    }
  }

  private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
    GeneralSecurityException last = null;
    for (String alg : List.of("RSA", "EC")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        last = e;
      }
    }
    throw last;
  }

  private static boolean matches(PrivateKey key, PublicKey pub) {
    String alg = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      default -> null;
    };
    if (alg == null || !key.getAlgorithm().equals(pub.getAlgorithm())) {
      return false;
    }
    try {
      byte[] data = new byte[32];
      new SecureRandom().nextBytes(data);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(data);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(data);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  // ---- just enough DER to turn PKCS#1 and SEC1 keys into PKCS#8, which the JDK reads ----

  /** The curve OID in a SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING, [0] OID, [1] BIT STRING }. */
  private static byte[] sec1Curve(byte[] der) {
    int[] pos = {0};
    expect(der, pos, 0x30);
    int end = length(der, pos) + pos[0];
    while (pos[0] < end) {
      int tag = der[pos[0]++] & 0xff;
      int len = length(der, pos);
      if (tag == 0xa0) {
        byte[] oid = new byte[len];
        System.arraycopy(der, pos[0], oid, 0, len);
        return oid; // already a DER OBJECT IDENTIFIER
      }
      pos[0] += len;
    }
    throw new IllegalArgumentException("the EC key does not name its curve");
  }

  private static void expect(byte[] der, int[] pos, int tag) {
    if ((der[pos[0]++] & 0xff) != tag) {
      throw new IllegalArgumentException("unexpected DER structure");
    }
  }

  private static int length(byte[] der, int[] pos) {
    int b = der[pos[0]++] & 0xff;
    if (b < 0x80) {
      return b;
    }
    int n = b & 0x7f;
    if (n > 3) {
      throw new IllegalArgumentException("DER length too long");
    }
    int len = 0;
    for (int i = 0; i < n; i++) {
      len = (len << 8) | (der[pos[0]++] & 0xff);
    }
    return len;
  }

  private static byte[] pkcs8Wrap(byte[] algorithm, byte[] key) {
    return seq(new byte[] {0x02, 0x01, 0x00}, algorithm, tlv(0x04, key));
  }

  private static byte[] oid(byte[] body) {
    return tlv(0x06, body);
  }

  private static byte[] seq(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return tlv(0x30, out.toByteArray());
  }

  private static byte[] tlv(int tag, byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    int len = body.length;
    if (len < 0x80) {
      out.write(len);
    } else if (len < 0x100) {
      out.write(0x81);
      out.write(len);
    } else if (len < 0x10000) {
      out.write(0x82);
      out.write(len >> 8);
      out.write(len);
    } else {
      out.write(0x83);
      out.write(len >> 16);
      out.write(len >> 8);
      out.write(len);
    }
    out.writeBytes(body);
    return out.toByteArray();
  }
}
