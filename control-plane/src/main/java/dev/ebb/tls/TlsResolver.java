package dev.ebb.tls;

import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.ListenerTls;
import dev.ebb.api.model.TlsSecret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * SPEC 10: turns the TLS references of listeners into checked certificates. Each secret keeps its last good
 * certificate: a missing, unreadable or mismatched pair is reported (object, field, value) and the last good one
 * stays in force; a listener whose certificate was never good is left out until it is. Not thread-safe: one
 * resolver belongs to one source thread.
 */
public final class TlsResolver {
  /** The PEM pair of a {@code kubernetes.io/tls} Secret, as a Kubernetes source sees it. */
  public interface KubeSecrets {
    KubeSecrets NONE = ref -> Lookup.missing("Kubernetes Secrets need --source kubernetes; use certFile and keyFile");

    Lookup lookup(ListenerTls.KubeSecret ref);
  }

  /** A Secret's data, or why there is none. */
  public record Lookup(Optional<String> chain, Optional<String> key, String problem) {
    public static Lookup of(String chain, String key) {
      return new Lookup(Optional.of(chain), Optional.of(key), "");
    }

    public static Lookup missing(String problem) {
      return new Lookup(Optional.empty(), Optional.empty(), problem);
    }
  }

  /**
   * @param listeners the listeners to publish: those without TLS, and TLS ones with a good certificate
   * @param secrets one per secret name the published listeners use
   */
  public record Result(List<ListenerSpec> listeners, List<TlsSecret> secrets, List<ConfigError> errors,
      List<ConfigError> warnings) {}

  private final Path baseDir;
  private final KubeSecrets kube;
  private final Map<String, TlsSecret> lastGood = new HashMap<>();

  /** @param baseDir relative {@code certFile}/{@code keyFile} paths are resolved against it */
  public TlsResolver(Path baseDir, KubeSecrets kube) {
    this.baseDir = baseDir;
    this.kube = kube;
  }

  public Result resolve(List<ListenerSpec> listeners, Instant now) {
    List<ListenerSpec> out = new ArrayList<>();
    Map<String, TlsSecret> secrets = new TreeMap<>();
    List<ConfigError> errors = new ArrayList<>();
    List<ConfigError> warnings = new ArrayList<>();
    Map<String, Optional<TlsSecret>> resolved = new HashMap<>();
    for (ListenerSpec l : listeners) {
      if (l.tls().isEmpty()) {
        out.add(l);
        continue;
      }
      String object = "listener " + l.name();
      String name = l.secretName().orElseThrow();
      Optional<TlsSecret> secret = resolved.computeIfAbsent(name, n -> load(object, n, l.tls().get(), now, errors));
      secret.ifPresentOrElse(s -> {
        out.add(l);
        secrets.put(name, s);
        if (Certificates.expired(s.certificateChain(), now)) {
          warnings.add(ConfigError.of(object, "tls", name, "the certificate has expired (" + s.summary()
              + "); clients will refuse it"));
        }
      }, () -> {});
    }
    lastGood.keySet().retainAll(resolved.keySet());
    return new Result(out, new ArrayList<>(secrets.values()), errors, warnings);
  }

  private Optional<TlsSecret> load(String object, String name, ListenerTls tls, Instant now,
      List<ConfigError> errors) {
    String field;
    String value;
    String problem;
    if (tls instanceof ListenerTls.Files f) {
      {
        Path cert = baseDir.resolve(f.certFile());
        Path key = baseDir.resolve(f.keyFile());
        String chain;
        String keyPem;
        try {
          chain = read(cert);
        } catch (IOException e) {
          return failed(object, name, "tls.certFile", cert.toString(), why(e), errors);
        }
        try {
          keyPem = read(key);
        } catch (IOException e) {
          return failed(object, name, "tls.keyFile", key.toString(), why(e), errors);
        }
        try {
          TlsSecret s = Certificates.check(name, chain, keyPem, now);
          lastGood.put(name, s);
          return Optional.of(s);
        } catch (Certificates.BadCertificate e) {
          field = e.keyProblem() ? "tls.keyFile" : "tls.certFile";
          value = (e.keyProblem() ? key : cert).toString();
          problem = e.getMessage();
        }
      }
    } else {
      ListenerTls.KubeSecret k = (ListenerTls.KubeSecret) tls;
      {
        Lookup found = kube.lookup(k);
        field = "tls.secret";
        value = k.namespace() + "/" + k.name();
        if (found.chain().isEmpty() || found.key().isEmpty()) {
          problem = found.problem();
        } else {
          try {
            TlsSecret s = Certificates.check(name, found.chain().get(), found.key().get(), now);
            lastGood.put(name, s);
            return Optional.of(s);
          } catch (Certificates.BadCertificate e) {
            problem = (e.keyProblem() ? "tls.key " : "tls.crt ") + e.getMessage();
          }
        }
      }
    }
    return failed(object, name, field, value, problem, errors);
  }

  private Optional<TlsSecret> failed(String object, String name, String field, String value, String problem,
      List<ConfigError> errors) {
    TlsSecret last = lastGood.get(name);
    errors.add(ConfigError.of(object, field, value, value + ": " + problem + (last == null
        ? "; the listener is not served until it has a valid certificate"
        : "; keeping the last good certificate (" + last.summary() + ")")));
    return Optional.ofNullable(last);
  }

  private static String read(Path p) throws IOException {
    return Files.readString(p, StandardCharsets.US_ASCII);
  }

  private static String why(IOException e) {
    return e instanceof NoSuchFileException ? "no such file" : "cannot read it (" + e.getMessage() + ")";
  }
}
