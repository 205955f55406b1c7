package dev.ebb.api.model;

import java.util.Objects;

/**
 * A checked certificate chain and its private key (PEM), as Envoy gets them in an SDS Secret. {@code toString}
 * never shows the key.
 *
 * @param name the Secret resource's name ({@link ListenerTls#secretName})
 * @param summary what a person needs to recognise the certificate: subject, expiry, fingerprint
 */
public record TlsSecret(String name, String certificateChain, String privateKey, String summary) {
  public TlsSecret {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(certificateChain, "certificateChain");
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(summary, "summary");
  }

  @Override
  public String toString() {
    return "TlsSecret[" + name + ": " + summary + "]";
  }
}
