package dev.ebb.it;

import static dev.ebb.it.AdsClient.LDS;
import static dev.ebb.it.AdsClient.RDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ebb.tls.TestCertificates;
import dev.ebb.xds.XdsGuard;
import dev.ebb.xds.XdsServer;
import dev.ebb.xds.XdsTls;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC 11: xDS over mutual TLS with node authorization, certificate rotation without dropping streams, and
 * stream limits that refuse one client and leave the others alone. Real TLS on loopback, raw ADS clients.
 */
class XdsTlsIT {
  static final String EDGE_ID = "spiffe://ebb.test/ns/edge/sa/envoy";
  static final String SIDECAR_ID = "spiffe://ebb.test/ns/shop/sa/checkout";

  @TempDir
  Path dir;

  final TestCertificates.Ca ca = TestCertificates.ca("ebb test CA");

  Path write(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Path tmp = Files.createTempFile(dir, ".tmp", ".pem");
    Files.writeString(tmp, text);
    Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return p;
  }

  XdsServer.Connections mutualTls(XdsGuard.Limits limits) throws Exception {
    TestCertificates.Pair server = TestCertificates.signed(ca, "ebb", List.of(), List.of("localhost"));
    Path cert = write("server.pem", server.certificatePem());
    Path key = write("server-key.pem", server.keyPem());
    Path caFile = write("ca.pem", ca.certificatePem());
    Path authz = dir.resolve("authz.yaml");
    Files.writeString(authz, """
        - identity: spiffe://ebb.test/ns/edge/sa/envoy
          nodeClusters: [edge]
        - identity: spiffe://ebb.test/ns/shop/sa/*
          nodeClusters: [sidecar]
        """);
    return new XdsServer.Connections(Duration.ofSeconds(30), Duration.ZERO, Duration.ofSeconds(30),
        Optional.of(new XdsTls.Files(cert, key, Optional.of(caFile))), Optional.of(authz), limits);
  }

  /** A channel to Ebb's xDS port that trusts the test CA and presents {@code client} (null: no certificate). */
  ManagedChannel channel(int port, TestCertificates.Ca trusted, TestCertificates.Pair client) throws Exception {
    TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder()
        .trustManager(new ByteArrayInputStream(trusted.certificatePem().getBytes(StandardCharsets.US_ASCII)));
    if (client != null) {
      b.keyManager(new ByteArrayInputStream(client.certificatePem().getBytes(StandardCharsets.US_ASCII)),
          new ByteArrayInputStream(client.keyPem().getBytes(StandardCharsets.US_ASCII)));
    }
    ChannelCredentials creds = b.build();
    return Grpc.newChannelBuilderForAddress("localhost", port, creds).build();
  }

  static Status.Code code(AdsClient c) {
    return c.error() == null ? Status.Code.OK : Status.fromThrowable(c.error()).getCode();
  }

  @Test
  void onlyAClientWithACertificateThatMayClaimItsClusterGetsConfig() throws Exception {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002))
        .withConnections(mutualTls(XdsGuard.Limits.DEFAULT)).start()) {
      int port = ebb.xdsPort();
      TestCertificates.Pair edge = TestCertificates.signed(ca, "envoy", List.of(EDGE_ID), List.of());
      TestCertificates.Pair shop = TestCertificates.signed(ca, "checkout", List.of(SIDECAR_ID), List.of());
      TestCertificates.Ca other = TestCertificates.ca("someone else");
      TestCertificates.Pair stranger = TestCertificates.signed(other, "envoy", List.of(EDGE_ID), List.of());
      try (AdsClient good = new AdsClient(channel(port, ca, edge), AdsClient.Variant.SOTW, "envoy-1", "envoy", "edge")
              .start();
          AdsClient sidecar = new AdsClient(channel(port, ca, shop), AdsClient.Variant.DELTA, "checkout-1", "envoy",
              "sidecar").start();
          AdsClient claimsEdge = new AdsClient(channel(port, ca, shop), AdsClient.Variant.SOTW, "checkout-2",
              "envoy", "edge").start();
          AdsClient noCert = new AdsClient(channel(port, ca, null), AdsClient.Variant.SOTW, "anon", "envoy", "edge")
              .start();
          AdsClient unknownCa = new AdsClient(channel(port, ca, stranger), AdsClient.Variant.SOTW, "stranger",
              "envoy", "edge").start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> good.count(RDS) >= 1 && sidecar.count(LDS) >= 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> claimsEdge.error() != null && noCert.error() != null
            && unknownCa.error() != null);
        assertThat(code(claimsEdge)).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(Status.fromThrowable(claimsEdge.error()).getDescription())
            .contains(SIDECAR_ID).contains("may not claim node cluster \"edge\"");
        assertThat(claimsEdge.count(LDS)).isZero();
        assertThat(code(noCert)).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(code(unknownCa)).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(noCert.count(LDS) + unknownCa.count(LDS)).isZero();
        assertThat(code(good)).isEqualTo(Status.Code.OK);
        assertThat(ebb.admin("/metrics")).contains("ebb_xds_authz_denied_total 1.0");
      }
    }
  }

  @Test
  void aRotatedServerCertificateServesNewConnectionsWhileAnOpenStreamKeepsGettingPushes() throws Exception {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002))
        .withConnections(mutualTls(XdsGuard.Limits.DEFAULT)).start()) {
      int port = ebb.xdsPort();
      TestCertificates.Pair edge = TestCertificates.signed(ca, "envoy", List.of(EDGE_ID), List.of());
      try (AdsClient open = new AdsClient(channel(port, ca, edge), AdsClient.Variant.SOTW, "envoy-1", "envoy", "edge")
          .start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> open.count(RDS) >= 1);
        BigInteger before = servedSerial(port, edge);

        TestCertificates.Pair next = TestCertificates.signed(ca, "ebb", List.of(), List.of("localhost"));
        write("server-key.pem", next.keyPem());
        write("server.pem", next.certificatePem());
        BigInteger expected = parse(next.certificatePem()).getSerialNumber();
        await().atMost(Duration.ofSeconds(10)).until(() -> servedSerial(port, edge).equals(expected));
        assertThat(expected).isNotEqualTo(before);

        int rds = open.count(RDS);
        ebb.write(EbbFixture.chat("websocket", "v1", "v2", "60", 9001, 9002));
        await().atMost(Duration.ofSeconds(10)).until(() -> open.count(RDS) > rds);
        assertThat(XdsPushIT.weightOf(open.<RouteConfiguration>resources(RDS).get("edge"), "v2")).isEqualTo("6000");
        assertThat(open.error()).isNull();
      }
    }
  }

  @Test
  void aClientAtTheStreamLimitIsRefusedAloneAndCounted() throws Exception {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002))
        .withConnections(mutualTls(new XdsGuard.Limits(2, 100, 4 * 1024 * 1024, 1024 * 1024))).start()) {
      int port = ebb.xdsPort();
      TestCertificates.Pair edge = TestCertificates.signed(ca, "envoy", List.of(EDGE_ID), List.of());
      ManagedChannel greedy = channel(port, ca, edge);
      try (AdsClient a = new AdsClient(greedy, AdsClient.Variant.SOTW, "greedy-1", "envoy", "edge").start();
          AdsClient b = new AdsClient(greedy, AdsClient.Variant.SOTW, "greedy-2", "envoy", "edge").start();
          AdsClient c = new AdsClient(greedy, AdsClient.Variant.SOTW, "greedy-3", "envoy", "edge").start();
          AdsClient other = new AdsClient(channel(port, ca, edge), AdsClient.Variant.SOTW, "polite", "envoy", "edge")
              .start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> other.count(RDS) >= 1
            && (a.error() != null || b.error() != null || c.error() != null));
        List<AdsClient> refused = List.of(a, b, c).stream().filter(x -> x.error() != null).toList();
        assertThat(refused).hasSize(1);
        assertThat(code(refused.get(0))).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(((StatusRuntimeException) refused.get(0).error()).getStatus().getDescription())
            .contains("--xds-max-streams-per-connection");
        await().atMost(Duration.ofSeconds(10)).until(() -> other.count(RDS) >= 1);
        assertThat(other.error()).isNull();
        assertThat(ebb.admin("/metrics")).contains("ebb_xds_limit_hits_total{limit=\"streams-per-connection\"} 1.0");
      }
    }
  }

  /** The serial number of the certificate the xDS port presents to a new TLS connection. */
  BigInteger servedSerial(int port, TestCertificates.Pair client) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", parse(ca.certificatePem()));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("me", client.keys().getPrivate(), new char[0],
        new java.security.cert.Certificate[] {parse(client.certificatePem())});
    javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
        javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      javax.net.ssl.SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      s.setSSLParameters(p);
      s.startHandshake();
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  static X509Certificate parse(String pem) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }
}
