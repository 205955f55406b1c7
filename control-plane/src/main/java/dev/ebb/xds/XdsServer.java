package dev.ebb.xds;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** Ebb's ADS gRPC server (state of the world and delta) and the Load Reporting Service, on the xDS port. */
public final class XdsServer implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(XdsServer.class);
  private final Server server;

  /**
   * How long xDS connections live. A replica that was up first holds every Envoy after a rollout unless
   * connections age out: with {@code maxAge} set, a connection gets GOAWAY after that age and its streams are
   * closed {@code maxAgeGrace} later; the client reconnects through the Service, to any replica, and gets the
   * same versions and bytes (content hashes), so nothing changes on the proxy. {@code keepAlive} pings detect
   * peers that vanished without closing.
   */
  public record Connections(java.time.Duration keepAlive, java.time.Duration maxAge,
      java.time.Duration maxAgeGrace, java.util.Optional<XdsTls.Files> tls, java.util.Optional<java.nio.file.Path> nodeAuthz,
      XdsGuard.Limits limits) {
    public static final Connections DEFAULT = new Connections(java.time.Duration.ofSeconds(30),
        java.time.Duration.ZERO, java.time.Duration.ofSeconds(30));

    public Connections(java.time.Duration keepAlive, java.time.Duration maxAge, java.time.Duration maxAgeGrace) {
      this(keepAlive, maxAge, maxAgeGrace, java.util.Optional.empty(), java.util.Optional.empty(),
          XdsGuard.Limits.DEFAULT);
    }
  }

  private final XdsTls tls;

  public XdsServer(InetSocketAddress address, XdsCache cache) {
    this(address, cache, null, Connections.DEFAULT, XdsEvents.NONE);
  }

  /** @param lrs the Load Reporting Service served on the same port (null: none) */
  public XdsServer(InetSocketAddress address, XdsCache cache, io.grpc.BindableService lrs, Connections connections,
      XdsEvents events) {
    this.tls = connections.tls().map(XdsTls::new).orElse(null);
    java.util.Optional<NodeAuthz> authz = connections.nodeAuthz().map(NodeAuthz::load);
    if (authz.isPresent() && (tls == null || !tls.mutual())) {
      throw new IllegalArgumentException("--xds-node-authz needs mutual TLS (--xds-tls-cert, --xds-tls-key and "
          + "--xds-client-ca): without a client certificate there is no identity to authorize");
    }
    this.guard = new XdsGuard(connections.limits(), events, authz);
    NettyServerBuilder builder = tls == null ? NettyServerBuilder.forAddress(address)
        : NettyServerBuilder.forAddress(address, tls.credentials());
    builder.addService(io.grpc.ServerInterceptors.intercept(AdsService.definition(new AdsService(cache, guard)),
        guard));
    if (lrs != null) {
      builder.addService(io.grpc.ServerInterceptors.intercept(lrs, guard));
    }
    builder.addTransportFilter(guard.connections()).addStreamTracerFactory(guard.messageSizes());
    describe(address, authz.isPresent());
    if (!connections.keepAlive().isZero()) {
      builder.keepAliveTime(connections.keepAlive().toMillis(), TimeUnit.MILLISECONDS)
          .keepAliveTimeout(20, TimeUnit.SECONDS);
    }
    if (!connections.maxAge().isZero()) {
      builder.maxConnectionAge(connections.maxAge().toMillis(), TimeUnit.MILLISECONDS)
          .maxConnectionAgeGrace(connections.maxAgeGrace().toMillis(), TimeUnit.MILLISECONDS);
    }
    this.server = builder
        // Envoy sends HTTP/2 keepalives on its xDS connection; do not answer them with GOAWAY
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .maxInboundMessageSize(connections.limits().maxMessageBytes())
        .build();
  }

  private final XdsGuard guard;

  /** The guard that checks node authorization; load reports use it too. */
  public XdsGuard guard() {
    return guard;
  }

  private void describe(InetSocketAddress address, boolean authz) {
    boolean loopback = address.getAddress() != null && address.getAddress().isLoopbackAddress();
    if (tls == null) {
      if (!loopback) {
        LOG.warn("xDS is served in plaintext on {}: any client that reaches it gets the whole fleet's config and may"
            + " claim any node cluster; use --xds-tls-cert, --xds-tls-key and --xds-client-ca", address);
      }
    } else if (!tls.mutual()) {
      LOG.warn("xDS over TLS without client certificates (--xds-client-ca): clients are not authenticated");
    } else if (!authz) {
      LOG.info("xDS over mutual TLS: any client with a certificate from the client CA may claim any node cluster"
          + " (authentication only; --xds-node-authz restricts it)");
    }
  }

  public XdsServer start() {
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the xDS server: " + e.getMessage(), e);
    }
    return this;
  }

  public int port() {
    return server.getPort();
  }

  public boolean running() {
    return !server.isShutdown() && !server.isTerminated();
  }

  @Override
  public void close() {
    if (tls != null) {
      tls.close();
    }
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
