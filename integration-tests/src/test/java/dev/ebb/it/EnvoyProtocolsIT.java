package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * One Envoy listener, three protocols (SPEC 5, ENVOY-NOTES "Protocols on one listener"): WebSocket over HTTP/1.1,
 * WebSocket over HTTP/2 (RFC 8441 extended CONNECT, which Ebb enables with {@code allow_connect}) and gRPC, each
 * routed by host, all following a shift for new streams only: established WebSockets (both kinds) and an open
 * gRPC bidi stream stay on v1, new ones split. Needs Docker (see {@link EnvoyFixture}); skipped, named with the
 * reason on the build output's SKIPPED line, where there is none.
 */
@ExtendWith(EnvoyFixture.RequiresDocker.class)
class EnvoyProtocolsIT {
  @TempDir
  Path dir;

  /**
   * A WebSocket over one HTTP/2 stream (RFC 8441), on Netty's HTTP/2 codec: CONNECT with {@code :protocol websocket};
   * the stream's DATA carries WebSocket frames (masked from the client). A {@code sec-websocket-key} header rides
   * along because Envoy hands the stream to an HTTP/1.1 upstream as an Upgrade request, which needs one.
   */
  static final class H2WebSocket implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel connection;
    private final Http2StreamChannel stream;
    final CompletableFuture<Boolean> peerAllowsExtendedConnect = new CompletableFuture<>();
    final CompletableFuture<Http2Headers> response = new CompletableFuture<>();
    final LinkedBlockingQueue<String> replies = new LinkedBlockingQueue<>();
    private final ByteArrayOutputStream inbound = new ByteArrayOutputStream();
    volatile String reset;

    H2WebSocket(int port, String authority, String path) throws Exception {
      connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                  new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
                  new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                      if (msg instanceof Http2SettingsFrame s) {
                        Long v = s.settings().get((char) 0x8); // SETTINGS_ENABLE_CONNECT_PROTOCOL
                        if (v != null) {
                          peerAllowsExtendedConnect.complete(v == 1L);
                        }
                      }
                      ReferenceCountUtil.release(msg);
                    }
                  });
            }
          })
          .connect("127.0.0.1", port).sync().channel();
      // RFC 8441 3: a client must not send :protocol before the server's SETTINGS allow it
      assertThat(peerAllowsExtendedConnect.get(5, TimeUnit.SECONDS)).as("SETTINGS_ENABLE_CONNECT_PROTOCOL from Envoy")
          .isTrue();
      stream = new Http2StreamChannelBootstrap(connection).handler(new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          try {
            if (msg instanceof Http2HeadersFrame h) {
              response.complete(h.headers());
            } else if (msg instanceof Http2DataFrame d) {
              onData(d.content());
            } else if (msg instanceof Http2ResetFrame r) {
              reset = "RST_STREAM " + r.errorCode();
              response.completeExceptionally(new IllegalStateException(reset));
            }
          } finally {
            ReferenceCountUtil.release(msg);
          }
        }
      }).open().sync().getNow();
      Http2Headers h = new DefaultHttp2Headers()
          .method("CONNECT").scheme("http").authority(authority).path(path);
      h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
      h.set("sec-websocket-version", "13");
      byte[] key = new byte[16];
      RANDOM.nextBytes(key);
      h.set("sec-websocket-key", Base64.getEncoder().encodeToString(key));
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(h, false)).sync();
      Http2Headers r = response.get(5, TimeUnit.SECONDS);
      assertThat(r.status().toString()).as("extended CONNECT answered 200").isEqualTo("200");
    }

    private synchronized void onData(ByteBuf content) {
      byte[] bytes = new byte[content.readableBytes()];
      content.readBytes(bytes);
      inbound.writeBytes(bytes);
      byte[] b = inbound.toByteArray();
      int at = 0;
      while (b.length - at >= 2) {
        int len = b[at + 1] & 0x7f;
        int off = 2;
        if (len == 126) {
          if (b.length - at < 4) {
            break;
          }
          len = ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
          off = 4;
        } else if (len == 127) {
          throw new IllegalStateException("no frames that large here");
        }
        if (b.length - at < off + len) {
          break;
        }
        int opcode = b[at] & 0x0f;
        if (opcode == 0x1) {
          replies.add(new String(b, at + off, len, StandardCharsets.UTF_8));
        }
        at += off + len;
      }
      inbound.reset();
      inbound.write(b, at, b.length - at);
    }

    /** A masked client frame in one DATA frame. */
    private void sendFrame(int opcode, byte[] payload) throws InterruptedException {
      ByteArrayOutputStream f = new ByteArrayOutputStream();
      f.write(0x80 | opcode);
      if (payload.length < 126) {
        f.write(0x80 | payload.length);
      } else {
        f.write(0x80 | 126);
        f.write(payload.length >> 8);
        f.write(payload.length & 0xff);
      }
      byte[] mask = new byte[4];
      RANDOM.nextBytes(mask);
      f.writeBytes(mask);
      for (int i = 0; i < payload.length; i++) {
        f.write(payload[i] ^ mask[i & 3]);
      }
      stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(f.toByteArray()), false)).sync();
    }

    String ask(String msg) throws InterruptedException {
      sendFrame(0x1, msg.getBytes(StandardCharsets.UTF_8));
      String reply = replies.poll(5, TimeUnit.SECONDS);
      assertThat(reply).as("answer to " + msg + (reset != null ? " (" + reset + ")" : "")).isNotNull()
          .endsWith(":" + msg);
      return reply.substring(0, reply.indexOf(':'));
    }

    boolean open() {
      return stream.isActive() && reset == null;
    }

    @Override
    public void close() throws Exception {
      if (stream.isActive()) {
        sendFrame(0x8, new byte[] {0x03, (byte) 0xe8});
      }
      connection.close().sync();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  static String yaml(int port, String weight, int ws1, int ws2, int g1, int g2) {
    return """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: %d
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            protocol: websocket
            stable: ws-v1
            canary: ws-v2
            canaryWeight: %s
          - name: echo
            hosts: ["grpc.example.com"]
            protocol: grpc
            stable: grpc-v1
            canary: grpc-v2
            canaryWeight: %s
        backends:
          - name: ws-v1
            endpoints: ["127.0.0.1:%d"]
          - name: ws-v2
            endpoints: ["127.0.0.1:%d"]
          - name: grpc-v1
            endpoints: ["127.0.0.1:%d"]
          - name: grpc-v2
            endpoints: ["127.0.0.1:%d"]
        """.formatted(port, weight, weight, ws1, ws2, g1, g2);
  }

  static String who(ManagedChannel channel) {
    return ClientCalls.blockingUnaryCall(channel, EchoBackend.WHO, CallOptions.DEFAULT.withDeadlineAfter(5,
        TimeUnit.SECONDS), "who");
  }

  @Test
  void webSocketsOverHttp1AndHttp2AndGrpcShareAPortAndOnlyNewStreamsFollowAShift() throws Exception {
    int port = WebSocketBackend.freePort();
    try (WebSocketBackend ws1 = new WebSocketBackend("v1", WebSocketBackend.freePort());
        WebSocketBackend ws2 = new WebSocketBackend("v2", WebSocketBackend.freePort());
        EchoBackend g1 = new EchoBackend("v1");
        EchoBackend g2 = new EchoBackend("v2")) {
      ws1.start();
      ws2.start();
      try (EbbFixture ebb = new EbbFixture(dir, yaml(port, "0", ws1.getPort(), ws2.getPort(), g1.port(), g2.port()))
              .start();
          EnvoyFixture envoy = EnvoyFixture.start(ebb.xdsPort(), EnvoyFixture.Ads.SOTW, "envoy-protocols-it")) {
        // gRPC: HTTP/2 with prior knowledge on the same port, routed by :authority
        ManagedChannel grpc = NettyChannelBuilder.forAddress("127.0.0.1", port).overrideAuthority("grpc.example.com")
            .usePlaintext().build();
        try {
          assertThat(who(grpc)).isEqualTo("v1");
          ChatStream grpcStream = new ChatStream(grpc);
          assertThat(grpcStream.ping(Duration.ofSeconds(5))).isEqualTo("v1");
          // WebSocket over HTTP/1.1 and over HTTP/2
          EnvoyWebSocketIT.Ws h1 = EnvoyWebSocketIT.Ws.open(port);
          assertThat(h1.ask("h1")).isEqualTo("v1");
          List<H2WebSocket> h2 = new ArrayList<>();
          for (int i = 0; i < 3; i++) {
            H2WebSocket ws = new H2WebSocket(port, "chat.example.com", "/chat");
            assertThat(ws.ask("h2-" + i)).isEqualTo("v1");
            h2.add(ws);
          }

          // everything to v2 for new streams
          ebb.writeAndAwaitPublish(yaml(port, "100", ws1.getPort(), ws2.getPort(), g1.port(), g2.port()));
          await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> who(grpc).equals("v2"));
          try (H2WebSocket fresh = new H2WebSocket(port, "chat.example.com", "/chat")) {
            assertThat(fresh.ask("fresh")).isEqualTo("v2");
          }
          try (ChatStream freshStream = new ChatStream(grpc)) {
            assertThat(freshStream.ping(Duration.ofSeconds(5))).isEqualTo("v2");
          }
          // the established ones stay on v1
          assertThat(grpcStream.ping(Duration.ofSeconds(5))).as("gRPC stream opened before the shift").isEqualTo("v1");
          assertThat(h1.ask("h1-after")).isEqualTo("v1");
          for (H2WebSocket ws : h2) {
            assertThat(ws.open()).isTrue();
            assertThat(ws.ask("h2-after")).isEqualTo("v1");
          }
          envoy.assertNoListenerModifiedAndNothingRejected("cds", "lds", "rds");
          assertThat(envoy.stats("downstream_cx_http2_total")).as("HTTP/2 connections on the listener")
              .anySatisfy((k, v) -> assertThat(v).isPositive());
          grpcStream.close();
          h1.closeBlocking();
          for (H2WebSocket ws : h2) {
            ws.close();
          }
        } finally {
          grpc.shutdownNow();
        }
      }
    }
  }
}
