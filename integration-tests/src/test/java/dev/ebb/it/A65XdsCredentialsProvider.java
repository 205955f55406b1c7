package dev.ebb.it;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.xds.XdsCredentialsProvider;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * What a grpc-java 1.85.1 user can add to get gRFC A65 {@code "tls"} channel creds for the xDS channel: a
 * provider named "tls" with a higher priority than grpc-xds's own (5), which ignores its config. It is found by
 * ServiceLoader ({@code META-INF/services/io.grpc.xds.XdsCredentialsProvider}); XdsCredentialsProvider is marked
 * {@code @Internal} in grpc-java, so this may break in a later release. Unlike A65 it does not re-read the files.
 * Only the forked client JVMs of {@link XdsTlsClientsIT} see the services file.
 */
public final class A65XdsCredentialsProvider extends XdsCredentialsProvider {
  @Override
  protected ChannelCredentials newChannelCredentials(Map<String, ?> config) {
    TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
    if (config == null) {
      return b.build();
    }
    try {
      if (config.get("ca_certificate_file") instanceof String ca) {
        b.trustManager(new File(ca));
      }
      if (config.get("certificate_file") instanceof String cert
          && config.get("private_key_file") instanceof String key) {
        b.keyManager(new File(cert), new File(key));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("xDS bootstrap tls creds: " + e.getMessage(), e);
    }
    return b.build();
  }

  @Override
  protected String getName() {
    return "tls";
  }

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int priority() {
    return 10;
  }
}
