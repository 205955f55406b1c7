package dev.ebb.tls;

import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaMiscPEMGenerator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/** Self-signed certificates for tests, in the PEM forms tools write (PKCS#8, PKCS#1, SEC1). */
public final class TestCertificates {
  public enum KeyForm { PKCS8, PKCS1_RSA, SEC1_EC, PKCS8_EC }

  /** A certificate and its key, as PEM text. */
  public record Pair(String certificatePem, String keyPem, KeyPair keys) {}

  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

  private TestCertificates() {}

  public static Pair selfSigned(String cn) {
    return selfSigned(cn, KeyForm.PKCS8, Instant.now().plus(Duration.ofDays(30)));
  }

  public static Pair selfSigned(String cn, KeyForm form, Instant notAfter) {
    try {
      boolean ec = form == KeyForm.SEC1_EC || form == KeyForm.PKCS8_EC;
      KeyPairGenerator g = KeyPairGenerator.getInstance(ec ? "EC" : "RSA");
      if (ec) {
        g.initialize(new ECGenParameterSpec("secp256r1"));
      } else {
        g.initialize(2048);
      }
      KeyPair keys = g.generateKeyPair();
      X500Name name = new X500Name("CN=" + cn);
      Instant notBefore = notAfter.minus(Duration.ofDays(365));
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(SERIAL.incrementAndGet()),
          Date.from(notBefore), Date.from(notAfter), name, keys.getPublic());
      b.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.dNSName, cn)));
      X509CertificateHolder holder = b.build(new JcaContentSignerBuilder(ec ? "SHA256withECDSA" : "SHA256withRSA")
          .build(keys.getPrivate()));
      String cert = pem("CERTIFICATE", holder.getEncoded());
      String key = switch (form) {
        case PKCS8, PKCS8_EC -> pem("PRIVATE KEY", keys.getPrivate().getEncoded());
        case SEC1_EC -> {
          // as openssl and cert-manager write it: the curve named in the key ([0] parameters)
          var info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
          var inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
          yield pem("EC PRIVATE KEY", new org.bouncycastle.asn1.sec.ECPrivateKey(256, inner.getKey(),
              info.getPrivateKeyAlgorithm().getParameters()).getEncoded());
        }
        case PKCS1_RSA -> {
          // BouncyCastle writes a JCA private key in the "traditional" OpenSSL form: RSA PRIVATE KEY / EC PRIVATE KEY
          StringWriter w = new StringWriter();
          try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(new JcaMiscPEMGenerator(keys.getPrivate()));
          }
          yield w.toString();
        }
      };
      return new Pair(cert, key, keys);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A certificate authority for mutual TLS tests. */
  public record Ca(String certificatePem, KeyPair keys, X500Name name) {}

  public static Ca ca(String cn) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair keys = g.generateKeyPair();
      X500Name name = new X500Name("CN=" + cn);
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(SERIAL.incrementAndGet()),
          Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(30))), name, keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new org.bouncycastle.asn1.x509.BasicConstraints(true));
      b.addExtension(Extension.keyUsage, true, new org.bouncycastle.asn1.x509.KeyUsage(
          org.bouncycastle.asn1.x509.KeyUsage.keyCertSign | org.bouncycastle.asn1.x509.KeyUsage.cRLSign));
      X509CertificateHolder h = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
      return new Ca(pem("CERTIFICATE", h.getEncoded()), keys, name);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A certificate signed by {@code ca} with these SANs (URIs and DNS names), for a server or a client. */
  public static Pair signed(Ca ca, String cn, java.util.List<String> uris, java.util.List<String> dnsNames) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair keys = g.generateKeyPair();
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.name(),
          BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(Duration.ofDays(1))),
          Date.from(now.plus(Duration.ofDays(30))), new X500Name("CN=" + cn), keys.getPublic());
      java.util.List<GeneralName> sans = new java.util.ArrayList<>();
      uris.forEach(u -> sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, u)));
      dnsNames.forEach(d -> sans.add(new GeneralName(GeneralName.dNSName, d)));
      if (!sans.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
      }
      X509CertificateHolder h = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(ca.keys().getPrivate()));
      return new Pair(pem("CERTIFICATE", h.getEncoded()), pem("PRIVATE KEY", keys.getPrivate().getEncoded()), keys);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(String type, byte[] der) throws java.io.IOException {
    StringWriter w = new StringWriter();
    try (PemWriter pw = new PemWriter(w)) {
      pw.writeObject(new PemObject(type, der));
    }
    return w.toString();
  }
}
