package dev.ebb.xds;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** Ebb's ADS gRPC server (state of the world and delta) and the Load Reporting Service, on the xDS port. */
public final class XdsServer implements AutoCloseable {
  private final Server server;

  /**
   * How long xDS connections live. A replica that was up first holds every Envoy after a rollout unless
   * connections age out: with {@code maxAge} set, a connection gets GOAWAY after that age and its streams are
   * closed {@code maxAgeGrace} later; the client reconnects through the Service, to any replica, and gets the
   * same versions and bytes (content hashes), so nothing changes on the proxy. {@code keepAlive} pings detect
   * peers that vanished without closing.
   */
  public record Connections(java.time.Duration keepAlive, java.time.Duration maxAge,
      java.time.Duration maxAgeGrace) {
    public static final Connections DEFAULT = new Connections(java.time.Duration.ofSeconds(30),
        java.time.Duration.ZERO, java.time.Duration.ofSeconds(30));
  }

  public XdsServer(InetSocketAddress address, XdsCache cache) {
    this(address, cache, null, Connections.DEFAULT);
  }

  /** @param lrs the Load Reporting Service served on the same port (null: none) */
  public XdsServer(InetSocketAddress address, XdsCache cache, io.grpc.BindableService lrs, Connections connections) {
    NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
        .addService(new AdsService(cache));
    if (lrs != null) {
      builder.addService(lrs);
    }
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
        .maxInboundMessageSize(16 * 1024 * 1024)
        .build();
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
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
