package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.StringWriter;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.java_websocket.client.WebSocketClient;
import org.java_websocket.handshake.ServerHandshake;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC 10 with a real Envoy: a TLS listener from Ebb's file config ({@code tls: {certFile, keyFile}}), its
 * certificate delivered by SDS over ADS, beside a plaintext listener. Rotating the certificate files gives new
 * connections the new certificate while established WebSockets (on the old one) stay open and keep answering,
 * and Envoy never modifies the listener nor rejects an update. Needs Docker (see {@link EnvoyFixture}); skipped,
 * named with the reason on the build output's SKIPPED line, where there is none.
 */
@ExtendWith(EnvoyFixture.RequiresDocker.class)
class EnvoyTlsIT {
  static final String HOST = "chat.example.com";

  @TempDir
  Path dir;

  /** A self-signed certificate for chat.example.com, localhost and 127.0.0.1, and its key, as PEM. */
  record Cert(X509Certificate certificate, String certPem, String keyPem) {}

  static Cert selfSigned(long serial) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    KeyPair kp = g.generateKeyPair();
    X500Name name = new X500Name("CN=" + HOST + ", O=Ebb test " + serial);
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(serial),
        Date.from(now.minusSeconds(3600)), Date.from(now.plus(Duration.ofDays(2))), name, kp.getPublic());
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
        new GeneralName(GeneralName.dNSName, HOST), new GeneralName(GeneralName.dNSName, "localhost"),
        new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    X509Certificate cert = new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
    StringWriter certPem = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(certPem)) {
      w.writeObject(cert);
    }
    StringWriter keyPem = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(keyPem)) {
      w.writeObject(new JcaPKCS8Generator(kp.getPrivate(), null));
    }
    return new Cert(cert, certPem.toString(), keyPem.toString());
  }

  /** Writes a file the way certificate tools and editors do: a new file renamed over the old one. */
  static void replace(Path file, String content) throws Exception {
    Path tmp = Files.createTempFile(file.getParent(), ".pem", ".tmp");
    Files.writeString(tmp, content, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** A fresh context (no session to resume: every handshake shows the certificate served now) trusting these. */
  static SSLContext trusting(Cert... certs) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    for (int i = 0; i < certs.length; i++) {
      ks.setCertificateEntry("cert" + i, certs[i].certificate());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** The certificate a new TLS connection to the port is served (SNI chat.example.com). */
  static X509Certificate served(int port, Cert... trusted) throws Exception {
    try (SSLSocket s = (SSLSocket) trusting(trusted).getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      SSLParameters p = s.getSSLParameters();
      p.setServerNames(List.of(new SNIHostName(HOST)));
      s.setSSLParameters(p);
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  /** A WebSocket over TLS through Envoy. */
  static final class Wss extends EnvoyWebSocketIT.Ws {
    Wss(int port, SSLContext ctx) {
      super(URI.create("wss://127.0.0.1:" + port + "/chat"), HOST);
      setSocketFactory(ctx.getSocketFactory());
    }

    @Override
    protected void onSetSSLParameters(SSLParameters p) {
      super.onSetSSLParameters(p); // hostname verification
      p.setServerNames(List.of(new SNIHostName(HOST)));
    }

    X509Certificate servedCertificate() throws Exception {
      return (X509Certificate) getSSLSession().getPeerCertificates()[0];
    }
  }

  static String yaml(int plainPort, int tlsPort, Path cert, Path key, int v1) {
    return """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: %d
          - name: edge-tls
            address: 127.0.0.1
            port: %d
            tls: { certFile: "%s", keyFile: "%s" }
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            listener: edge-tls
            stable: v1
          - name: chat-plain
            hosts: ["chat.example.com"]
            listener: edge
            stable: v1
        backends:
          - name: v1
            endpoints: ["127.0.0.1:%d"]
        """.formatted(plainPort, tlsPort, cert, key, v1);
  }

  @Test
  void aCertificateRotationReachesNewConnectionsAndLeavesTheListenerAndEstablishedWebSocketsAlone()
      throws Exception {
    int plainPort = WebSocketBackend.freePort();
    int tlsPort = WebSocketBackend.freePort();
    Cert a = selfSigned(1);
    Cert b = selfSigned(2);
    Path certFile = dir.resolve("tls.crt");
    Path keyFile = dir.resolve("tls.key");
    replace(certFile, a.certPem());
    replace(keyFile, a.keyPem());
    Path ebbDir = Files.createDirectories(dir.resolve("ebb"));
    try (WebSocketBackend v1 = new WebSocketBackend("v1", WebSocketBackend.freePort())) {
      v1.start();
      try (EbbFixture ebb = new EbbFixture(ebbDir, yaml(plainPort, tlsPort, certFile, keyFile, v1.getPort())).start();
          EnvoyFixture envoy = EnvoyFixture.start(ebb.xdsPort(), EnvoyFixture.Ads.SOTW, "envoy-tls-it")) {
        // the TLS listener serves certificate A; the plaintext one works beside it
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
            .until(() -> served(tlsPort, a, b).equals(a.certificate()));
        EnvoyWebSocketIT.Ws plain = EnvoyWebSocketIT.Ws.open(plainPort);
        assertThat(plain.ask("plain")).isEqualTo("v1");
        List<Wss> established = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          Wss ws = new Wss(tlsPort, trusting(a));
          assertThat(ws.connectBlocking(5, TimeUnit.SECONDS)).as("wss through Envoy with certificate A").isTrue();
          assertThat(ws.servedCertificate()).isEqualTo(a.certificate());
          assertThat(ws.ask("tls" + i)).isEqualTo("v1");
          established.add(ws);
        }
        long modifiedBefore = envoy.stat("listener_manager.listener_modified");

        // rotate: only the Secret changes (SPEC 10: within 5 s of the files changing)
        replace(keyFile, b.keyPem());
        replace(certFile, b.certPem());
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
            .until(() -> served(tlsPort, a, b).equals(b.certificate()));
        Wss fresh = new Wss(tlsPort, trusting(b));
        assertThat(fresh.connectBlocking(5, TimeUnit.SECONDS)).as("wss with certificate B").isTrue();
        assertThat(fresh.ask("fresh")).isEqualTo("v1");

        // established connections (still on A) are untouched, and so is the listener
        for (Wss ws : established) {
          assertThat(ws.isOpen()).as("a WebSocket established before the rotation").isTrue();
          assertThat(ws.servedCertificate()).isEqualTo(a.certificate());
          assertThat(ws.ask("after-rotation")).isEqualTo("v1");
        }
        assertThat(plain.ask("plain-after")).isEqualTo("v1");
        assertThat(modifiedBefore).isZero();
        envoy.assertNoListenerModifiedAndNothingRejected("cds", "lds", "rds", "sds");
        assertThat(ebb.nacks).as("NACKs Ebb received").isEmpty();
        for (Wss ws : established) {
          ws.closeBlocking();
        }
        fresh.closeBlocking();
        plain.closeBlocking();
      }
    }
  }
}
