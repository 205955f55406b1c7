package dev.ebb.xds;

import dev.ebb.tls.Certificates;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPEC 11: the xDS port over TLS, mutual TLS with a client CA. The certificate, key and CA files are read again
 * every 2 s; a new pair (or CA) is used for new handshakes, established connections and their streams stay. A
 * pair that does not check (unreadable, a key of another certificate: a rotation half written) is logged and the
 * last good one stays in force.
 */
public final class XdsTls implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(XdsTls.class);

  /** Files given on the command line. */
  public record Files(Path cert, Path key, Optional<Path> clientCa) {}

  private final Files files;
  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
  private final AdvancedTlsX509TrustManager trust;
  private final ScheduledExecutorService reloader = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "ebb-xds-tls-reload");
    t.setDaemon(true);
    return t;
  });
  private String lastPair = "";
  private String lastCa = "";
  private volatile String lastProblem = "";

  /** Reads the files once (a problem here stops the start: there is no last good certificate yet). */
  public XdsTls(Files files) {
    this.files = files;
    try {
      trust = files.clientCa().isEmpty() ? null : AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION).build();
    } catch (java.security.cert.CertificateException e) {
      throw new IllegalStateException(e);
    }
    String problem = reload();
    if (!problem.isEmpty()) {
      throw new IllegalArgumentException(problem);
    }
    reloader.scheduleWithFixedDelay(() -> {
      String p = reload();
      if (!p.isEmpty() && !p.equals(lastProblem)) {
        LOG.warn("{}; the last good certificate stays in force", p);
      }
      lastProblem = p;
    }, 2, 2, TimeUnit.SECONDS);
  }

  /** Reads the files; applies what changed and checks; returns the problem, or "" . */
  synchronized String reload() {
    try {
      String chain = read(files.cert());
      String key = read(files.key());
      if (!(chain + key).equals(lastPair)) {
        Certificates.Identity id;
        try {
          id = Certificates.identity(chain, key);
        } catch (Certificates.BadCertificate e) {
          return "--xds-tls-" + (e.keyProblem() ? "key " + files.key() : "cert " + files.cert()) + ": "
              + e.getMessage();
        }
        keys.updateIdentityCredentials(id.chain().toArray(new X509Certificate[0]), id.key());
        if (!lastPair.isEmpty()) {
          LOG.info("xDS server certificate reloaded: {}", id.chain().get(0).getSubjectX500Principal().getName());
        }
        lastPair = chain + key;
      }
      if (files.clientCa().isPresent()) {
        String ca = read(files.clientCa().get());
        if (!ca.equals(lastCa)) {
          List<X509Certificate> cas;
          try {
            cas = Certificates.certificates(ca);
          } catch (Certificates.BadCertificate e) {
            return "--xds-client-ca " + files.clientCa().get() + ": " + e.getMessage();
          }
          trust.updateTrustCredentials(cas.toArray(new X509Certificate[0]));
          lastCa = ca;
        }
      }
      return "";
    } catch (IOException | java.security.GeneralSecurityException e) {
      return "cannot read an xDS TLS file: " + e;
    }
  }

  private static String read(Path p) throws IOException {
    return java.nio.file.Files.readString(p, StandardCharsets.US_ASCII);
  }

  /** Server credentials that use whatever pair and CA are current at each handshake. */
  public ServerCredentials credentials() {
    TlsServerCredentials.Builder b = TlsServerCredentials.newBuilder().keyManager(keys);
    if (trust != null) {
      b.trustManager(trust).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    }
    return b.build();
  }

  public boolean mutual() {
    return trust != null;
  }

  @Override
  public void close() {
    reloader.shutdownNow();
  }
}
