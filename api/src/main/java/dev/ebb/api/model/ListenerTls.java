package dev.ebb.api.model;

import java.util.Objects;

/**
 * Where a TLS listener's certificate comes from (SPEC 10). Envoy gets it as an SDS Secret resource that the
 * Listener only names, so a rotation changes the Secret and never the Listener.
 */
public sealed interface ListenerTls {
  /** The name of the Secret resource that carries the certificate, for a listener named {@code listener}. */
  String secretName(String listener);

  /** PEM files on Ebb's disk, re-read when they change; the Secret is named like the listener. */
  record Files(String certFile, String keyFile) implements ListenerTls {
    public Files {
      Objects.requireNonNull(certFile, "certFile");
      Objects.requireNonNull(keyFile, "keyFile");
    }

    @Override
    public String secretName(String listener) {
      return listener;
    }
  }

  /** A {@code kubernetes.io/tls} Secret, watched; the Secret resource is named {@code namespace/name}. */
  record KubeSecret(String namespace, String name) implements ListenerTls {
    public KubeSecret {
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(name, "name");
    }

    @Override
    public String secretName(String listener) {
      return namespace + "/" + name;
    }
  }
}
