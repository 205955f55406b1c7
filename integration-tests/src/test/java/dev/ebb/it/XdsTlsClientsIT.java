package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ebb.tls.TestCertificates;
import dev.ebb.xds.XdsGuard;
import dev.ebb.xds.XdsServer;
import dev.ebb.xds.XdsTls;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC 11 with real proxyless gRPC clients: what each family can do against Ebb's xDS port over TLS and mutual
 * TLS, in the versions on this machine (docs/SECURITY.md, "Proxyless gRPC clients").
 *
 * <ul>
 *   <li>grpc-java 1.85.1: its bootstrap {@code "tls"} channel creds ignore their config
 *       ({@code TlsXdsCredentialsProvider.newChannelCredentials} returns {@code TlsChannelCredentials.create()}),
 *       so the xDS channel trusts what the JVM trusts ({@code -Djavax.net.ssl.trustStore}) and presents no client
 *       certificate. It runs in a JVM of its own, so that the trust store is the one a user would set.
 *   <li>gRPC C-core 1.51 (Debian python3-grpcio) registers no {@code "tls"} channel creds (gRFC A65 came later).
 *   <li>{@code @grpc/grpc-js-xds} 1.14.1 accepts only {@code insecure} and {@code google_default}.
 * </ul>
 *
 * <p>C-core and grpc-js do reach a TLS Ebb through {@code google_default}: TLS with the roots in
 * {@code GRPC_DEFAULT_SSL_ROOTS_FILE_PATH}, plus Google call credentials (a JWT Ebb ignores) that need some
 * service account key; those paths are tested too. grpc-java does mutual TLS and node authorization with a
 * credentials provider of the application's own ({@link A65XdsCredentialsProvider}). Every client runs in a
 * process of its own, with the bootstrap in {@code GRPC_XDS_BOOTSTRAP}, as users run them.
 */
class XdsTlsClientsIT {
  @TempDir
  Path dir;

  final TestCertificates.Ca ca = TestCertificates.ca("ebb xds CA");
  static final String CLIENT_ID = "spiffe://ebb.test/ns/shop/sa/checkout";

  Path write(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  /** Ebb's xDS port over TLS with a certificate for "localhost"; mutual: client CA and node authorization. */
  XdsServer.Connections tls(boolean mutual) throws Exception {
    TestCertificates.Pair server = TestCertificates.signed(ca, "ebb", List.of(), List.of("localhost"));
    Path cert = write("server.pem", server.certificatePem());
    Path key = write("server-key.pem", server.keyPem());
    Path caFile = write("ca.pem", ca.certificatePem());
    Optional<Path> authz = Optional.empty();
    if (mutual) {
      authz = Optional.of(write("authz.yaml", """
          - identity: spiffe://ebb.test/ns/shop/sa/*
            nodeClusters: [grpc-clients]
          """));
    }
    return new XdsServer.Connections(Duration.ofSeconds(30), Duration.ZERO, Duration.ofSeconds(30),
        Optional.of(new XdsTls.Files(cert, key, mutual ? Optional.of(caFile) : Optional.empty())), authz,
        XdsGuard.Limits.DEFAULT);
  }

  /** A bootstrap naming Ebb by the host name in its certificate, with these channel creds. */
  static String bootstrap(int xdsPort, String nodeId, String channelCreds) {
    return """
        {"xds_servers": [{"server_uri": "localhost:%d", "channel_creds": %s, "server_features": ["xds_v3"]}],
         "node": {"id": "%s", "cluster": "grpc-clients", "locality": {"zone": "test"}}}
        """.formatted(xdsPort, channelCreds, nodeId);
  }

  /** A PKCS#12 store; with {@code key}, a key entry for that pair, else a trusted entry for the CA. */
  Path store(String name, TestCertificates.Pair key) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    if (key == null) {
      ks.setCertificateEntry("ebb-ca", parse(ca.certificatePem()));
    } else {
      ks.setKeyEntry("me", key.keys().getPrivate(), "changeit".toCharArray(),
          new Certificate[] {parse(key.certificatePem()), parse(ca.certificatePem())});
    }
    Path p = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(p)) {
      ks.store(out, "changeit".toCharArray());
    }
    return p;
  }

  static Certificate parse(String pem) throws Exception {
    return CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }

  /** grpc-java in a JVM of its own, with these system properties and this bootstrap (GRPC_XDS_BOOTSTRAP). */
  XdsClientDriver.Subprocess grpcJava(int xdsPort, String nodeId, String channelCreds, List<String> jvmFlags) {
    return grpcJava(xdsPort, nodeId, channelCreds, jvmFlags, "");
  }

  /** @param classPathPrefix prepended to the class path ("" for none), e.g. a directory with a services file */
  XdsClientDriver.Subprocess grpcJava(int xdsPort, String nodeId, String channelCreds, List<String> jvmFlags,
      String classPathPrefix) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmFlags);
    cmd.add("-cp");
    cmd.add(classPathPrefix + System.getProperty("java.class.path"));
    cmd.add(GrpcJavaDriverMain.class.getName());
    return new XdsClientDriver.Subprocess(cmd, dir, bootstrap(xdsPort, nodeId, channelCreds), nodeId, Map.of(),
        true);
  }

  static List<String> trustStoreFlags(Path store) {
    return List.of("-Djavax.net.ssl.trustStore=" + store, "-Djavax.net.ssl.trustStorePassword=changeit",
        "-Djavax.net.ssl.trustStoreType=PKCS12");
  }

  static boolean connected(EbbFixture ebb, String nodeId) {
    return ebb.admin("/status").contains("\"id\" : \"" + nodeId + "\"");
  }

  /** The client follows Ebb's weights (20 % canary, then a full shift) and its streams stay where they began. */
  static void followsWeights(EbbFixture ebb, XdsClientDriver client, EchoBackend v1, EchoBackend v2) {
    await().atMost(Duration.ofSeconds(30)).until(() -> client.split(40).keySet().equals(java.util.Set.of("v1", "v2")));
    Map<String, Integer> counts = client.split(1000);
    assertThat(counts).as("%s: calls per backend", client.client()).containsOnlyKeys("v1", "v2");
    assertThat(counts.get("v2") / 10.0).as("%s: percent of new calls on the canary, %s", client.client(), counts)
        .isBetween(16.0, 24.0);
    List<String> streams = client.open(6);
    assertThat(streams).doesNotContainNull();
    ebb.writeAndAwaitPublish(EbbFixture.chat("grpc", "v1", "v2", "100", v1.port(), v2.port()));
    await().atMost(Duration.ofSeconds(20)).until(() -> client.split(20).equals(Map.of("v2", 20)));
    assertThat(client.ping()).as("%s: streams after the shift", client.client()).isEqualTo(streams);
    assertThat(ebb.nacks).as("%s rejected config Ebb sent it", client.client()).isEmpty();
    client.closeStreams();
  }

  @Test
  void grpcJavaOverServerSideTlsTrustsTheJvmTrustStoreAndFollowsWeights() throws Exception {
    try (EchoBackend v1 = new EchoBackend("v1"); EchoBackend v2 = new EchoBackend("v2");
        EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", v1.port(), v2.port()))
            .withConnections(tls(false)).start();
        XdsClientDriver.Subprocess client = grpcJava(ebb.xdsPort(), "java-tls", "[{\"type\": \"tls\"}]",
            trustStoreFlags(store("trust.p12", null)))) {
      followsWeights(ebb, client, v1, v2);
      assertThat(connected(ebb, "java-tls")).isTrue();
    }
  }

  @Test
  void grpcJavaThatDoesNotTrustEbbsCaGetsNothingEvenWithCaCertificateFileInItsBootstrap() throws Exception {
    try (EchoBackend v1 = new EchoBackend("v1"); EchoBackend v2 = new EchoBackend("v2");
        EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", v1.port(), v2.port()))
            .withConnections(tls(false)).start();
        // the config names the right CA; grpc-java 1.85.1 ignores it and uses the JVM's default trust store
        XdsClientDriver.Subprocess client = grpcJava(ebb.xdsPort(), "java-untrusting", """
            [{"type": "tls", "config": {"ca_certificate_file": "%s"}}]""".formatted(dir.resolve("ca.pem")),
            List.of("-Djava.util.logging.config.file=" + write("logging.properties", """
                handlers = java.util.logging.ConsoleHandler
                java.util.logging.ConsoleHandler.level = ALL
                io.grpc.level = FINE
                """)))) {
      String error = client.lastError(3);
      System.out.println("XdsTlsClientsIT: grpc-java without Ebb's CA in its trust store: " + error);
      assertThat(client.split(3)).isEqualTo(Map.of("error", 3));
      assertThat(error).startsWith("UNAVAILABLE");
      assertThat(connected(ebb, "java-untrusting")).isFalse();
      assertThat(v1.openStreams.get() + v2.openStreams.get()).isZero();
      String log = Files.readString(dir.resolve("java-untrusting-stderr.log"));
      System.out.println("XdsTlsClientsIT: grpc-java log: " + log.lines()
          .filter(l -> l.contains("certification path")).findFirst().orElse("(no certificate error logged)"));
      assertThat(log).contains("unable to find valid certification path");
    }
  }

  @Test
  void grpcJavaCannotPresentAClientCertificateSoMutualTlsRefusesIt() throws Exception {
    TestCertificates.Pair me = TestCertificates.signed(ca, "checkout", List.of(CLIENT_ID), List.of());
    Path cert = write("client.pem", me.certificatePem());
    Path key = write("client-key.pem", me.keyPem());
    List<String> flags = new ArrayList<>(trustStoreFlags(store("trust.p12", null)));
    // what a user would try next: the JVM's key store, and the A65 fields in the bootstrap; neither is read
    flags.addAll(List.of("-Djavax.net.ssl.keyStore=" + store("client.p12", me),
        "-Djavax.net.ssl.keyStorePassword=changeit", "-Djavax.net.ssl.keyStoreType=PKCS12"));
    try (EchoBackend v1 = new EchoBackend("v1"); EchoBackend v2 = new EchoBackend("v2");
        EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", v1.port(), v2.port()))
            .withConnections(tls(true)).start();
        XdsClientDriver.Subprocess client = grpcJava(ebb.xdsPort(), "java-mtls", """
            [{"type": "tls", "config": {"certificate_file": "%s", "private_key_file": "%s"}}]"""
            .formatted(cert, key), flags)) {
      String error = client.lastError(3);
      System.out.println("XdsTlsClientsIT: grpc-java against mutual TLS: " + error);
      assertThat(client.split(3)).isEqualTo(Map.of("error", 3));
      assertThat(connected(ebb, "java-mtls")).isFalse();
    }
  }

  /** A class path entry that registers {@link A65XdsCredentialsProvider} (ServiceLoader) in the forked JVM. */
  String a65Provider() throws Exception {
    Path services = dir.resolve("a65-provider/META-INF/services");
    Files.createDirectories(services);
    Files.writeString(services.resolve("io.grpc.xds.XdsCredentialsProvider"),
        A65XdsCredentialsProvider.class.getName() + "\n");
    return dir.resolve("a65-provider") + java.io.File.pathSeparator;
  }

  @Test
  void grpcJavaWithAnA65ProviderOfItsOwnDoesMutualTlsAndNodeAuthorization() throws Exception {
    TestCertificates.Pair shop = TestCertificates.signed(ca, "checkout", List.of(CLIENT_ID), List.of());
    TestCertificates.Pair edge = TestCertificates.signed(ca, "envoy",
        List.of("spiffe://ebb.test/ns/edge/sa/envoy"), List.of());
    String creds = A65_MTLS.formatted(dir.resolve("ca.pem"), write("shop.pem", shop.certificatePem()),
        write("shop-key.pem", shop.keyPem()));
    String wrongIdentity = A65_MTLS.formatted(dir.resolve("ca.pem"), write("edge.pem", edge.certificatePem()),
        write("edge-key.pem", edge.keyPem()));
    try (EchoBackend v1 = new EchoBackend("v1"); EchoBackend v2 = new EchoBackend("v2");
        EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", v1.port(), v2.port()))
            .withConnections(tls(true)).start();
        // no JVM trust store: the CA, the certificate and the key come from the bootstrap alone
        XdsClientDriver.Subprocess client = grpcJava(ebb.xdsPort(), "java-a65", creds, List.of(), a65Provider());
        XdsClientDriver.Subprocess denied = grpcJava(ebb.xdsPort(), "java-a65-denied", wrongIdentity, List.of(),
            a65Provider())) {
      followsWeights(ebb, client, v1, v2);
      assertThat(connected(ebb, "java-a65")).isTrue();
      String error = denied.lastError(2);
      System.out.println("XdsTlsClientsIT: grpc-java (A65 provider) claiming a cluster its identity may not: "
          + error);
      assertThat(error).contains("PERMISSION_DENIED").contains("may not claim node cluster \"grpc-clients\"");
      assertThat(ebb.admin("/metrics")).contains("ebb_xds_authz_denied_total 1.0");
    }
  }

  /** A service account key for Google default creds: any RSA key will do, the token is a self-signed JWT. */
  Path serviceAccount() throws Exception {
    TestCertificates.Pair rsa = TestCertificates.selfSigned("ebb-test");
    return write("service-account.json", """
        {"type": "service_account", "project_id": "ebb-test", "private_key_id": "k1",
         "private_key": "%s", "client_email": "ebb-test@ebb-test.iam.gserviceaccount.com", "client_id": "1",
         "token_uri": "https://oauth2.googleapis.com/token"}
        """.formatted(rsa.keyPem().replace("\n", "\\n")));
  }

  XdsClientDriver.Subprocess other(ClientFamily family, int xdsPort, String nodeId, String channelCreds,
      Map<String, String> env) {
    Optional<String> unavailable = family.unavailable();
    if (unavailable.isPresent()) {
      System.out.println("SKIPPED XdsTlsClientsIT[" + family.label() + "]: " + unavailable.get());
      Assumptions.abort(unavailable.get());
    }
    List<String> cmd = family == ClientFamily.GRPC_CORE_PYTHON
        ? List.of("/usr/bin/python3", ClientFamily.INTEROP.resolve("python/xds_driver.py").toAbsolutePath().toString())
        : List.of("node", ClientFamily.installNode().resolve("xds_driver.js").toAbsolutePath().toString());
    return new XdsClientDriver.Subprocess(cmd, dir, bootstrap(xdsPort, nodeId, channelCreds), nodeId, env,
        family == ClientFamily.GRPC_CORE_PYTHON);
  }

  static final String A65_MTLS = """
      [{"type": "tls", "config": {"ca_certificate_file": "%s", "certificate_file": "%s",
        "private_key_file": "%s"}}]""";

  @Test
  void grpcCore151HasNoTlsChannelCredsInItsBootstrap() throws Exception {
    TestCertificates.Pair me = TestCertificates.signed(ca, "checkout", List.of(CLIENT_ID), List.of());
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", 9001, 9002))
            .withConnections(tls(true)).start();
        XdsClientDriver.Subprocess client = other(ClientFamily.GRPC_CORE_PYTHON, ebb.xdsPort(), "core-a65",
            A65_MTLS.formatted(dir.resolve("ca.pem"), write("client.pem", me.certificatePem()),
                write("client-key.pem", me.keyPem())), Map.of())) {
      String error = client.lastError(2);
      System.out.println("XdsTlsClientsIT: " + client.client() + " with A65 tls creds: " + error);
      assertThat(client.client()).as("a newer C-core may implement A65: test it and update docs/SECURITY.md")
          .isEqualTo("grpc-core-python 1.51.1");
      assertThat(error).isEqualTo("UNAVAILABLE: Failed to create XdsClient: errors validating JSON: "
          + "[field:xds_servers[0].channel_creds error:no known creds type found]");
      assertThat(connected(ebb, "core-a65")).isFalse();
    }
  }

  @Test
  void grpcJsXdsAcceptsOnlyInsecureAndGoogleDefaultChannelCreds() throws Exception {
    TestCertificates.Pair me = TestCertificates.signed(ca, "checkout", List.of(CLIENT_ID), List.of());
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", 9001, 9002))
            .withConnections(tls(true)).start();
        XdsClientDriver.Subprocess client = other(ClientFamily.GRPC_JS_XDS, ebb.xdsPort(), "js-a65",
            A65_MTLS.formatted(dir.resolve("ca.pem"), write("client.pem", me.certificatePem()),
                write("client-key.pem", me.keyPem())), Map.of())) {
      String error = client.lastError(2);
      System.out.println("XdsTlsClientsIT: " + client.client() + " with A65 tls creds: " + error);
      // the resolver reports a follow-on TypeError; the bootstrap loader's own message says why
      assertThat(error).startsWith("UNAVAILABLE: xDS name resolution failed for target xds:///chat.example.com");
      assertThat(connected(ebb, "js-a65")).isFalse();
      ProcessBuilder pb = new ProcessBuilder("node", "-e", "try { require('@grpc/grpc-js-xds/build/src/"
          + "xds-bootstrap').loadBootstrapInfo(); console.log('accepted') } catch (e) { console.log(e.message) }")
          .directory(ClientFamily.installNode().toFile()).redirectErrorStream(true);
      pb.environment().put("GRPC_XDS_BOOTSTRAP", dir.resolve("js-a65-bootstrap.json").toString());
      Process p = pb.start();
      String why = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      System.out.println("XdsTlsClientsIT: grpc-js-xds bootstrap loader: " + why);
      assertThat(why).endsWith("xds_servers.channel_creds field: must contain at least one entry with a type in "
          + "[google_default,insecure]");
    }
  }

  @Test
  void grpcCoreOverServerSideTlsWithGoogleDefaultCreds() throws Exception {
    googleDefaultOverTls(ClientFamily.GRPC_CORE_PYTHON);
  }

  @Test
  void grpcJsXdsOverServerSideTlsWithGoogleDefaultCreds() throws Exception {
    googleDefaultOverTls(ClientFamily.GRPC_JS_XDS);
  }

  void googleDefaultOverTls(ClientFamily family) throws Exception {
    Map<String, String> env = Map.of("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", dir.resolve("ca.pem").toString(),
        "GOOGLE_APPLICATION_CREDENTIALS", serviceAccount().toString());
    String node = family.label() + "-google-default";
    try (EchoBackend v1 = new EchoBackend("v1"); EchoBackend v2 = new EchoBackend("v2");
        EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", v1.port(), v2.port()))
            .withConnections(tls(false)).start();
        XdsClientDriver.Subprocess client = other(family, ebb.xdsPort(), node, "[{\"type\": \"google_default\"}]",
            env)) {
      followsWeights(ebb, client, v1, v2);
      assertThat(connected(ebb, node)).isTrue();
    }
    // without the roots file the same client trusts only the public roots: nothing
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", 9001, 9002))
            .withConnections(tls(false)).start();
        XdsClientDriver.Subprocess client = other(family, ebb.xdsPort(), node + "-untrusting",
            "[{\"type\": \"google_default\"}]", Map.of("GOOGLE_APPLICATION_CREDENTIALS",
                dir.resolve("service-account.json").toString()))) {
      String error = client.lastError(2);
      System.out.println("XdsTlsClientsIT: " + client.client() + " google_default without Ebb's CA: " + error);
      assertThat(error).isNotNull();
      assertThat(client.split(3)).isEqualTo(Map.of("error", 3));
      assertThat(connected(ebb, node + "-untrusting")).isFalse();
    }
    // google_default has no client certificate: mutual TLS refuses it
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "20", 9001, 9002))
            .withConnections(tls(true)).start();
        XdsClientDriver.Subprocess client = other(family, ebb.xdsPort(), node + "-mtls",
            "[{\"type\": \"google_default\"}]", env)) {
      String error = client.lastError(2);
      System.out.println("XdsTlsClientsIT: " + client.client() + " google_default against mutual TLS: " + error);
      assertThat(client.split(2)).isEqualTo(Map.of("error", 2));
      assertThat(connected(ebb, node + "-mtls")).isFalse();
    }
  }
}
