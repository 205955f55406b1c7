package dev.ebb.it;

import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real loopback gRPC server standing in for one version of a service: {@code Echo/Who} answers its name,
 * {@code Echo/Chat} is a bidi stream that answers each message with "name:message".
 */
final class EchoBackend implements AutoCloseable {
  static final MethodDescriptor.Marshaller<String> STRING = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };
  static final MethodDescriptor<String, String> WHO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("ebb.test.Echo/Who")
      .setRequestMarshaller(STRING).setResponseMarshaller(STRING).build();
  static final MethodDescriptor<String, String> CHAT = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING).setFullMethodName("ebb.test.Echo/Chat")
      .setRequestMarshaller(STRING).setResponseMarshaller(STRING).build();

  final String name;
  final AtomicInteger unaryCalls = new AtomicInteger();
  final AtomicInteger openStreams = new AtomicInteger();
  private final Server server;

  EchoBackend(String name) {
    this.name = name;
    ServerServiceDefinition service = ServerServiceDefinition.builder("ebb.test.Echo")
        .addMethod(WHO, ServerCalls.asyncUnaryCall((req, out) -> {
          unaryCalls.incrementAndGet();
          out.onNext(name);
          out.onCompleted();
        }))
        .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(out -> {
          openStreams.incrementAndGet();
          return new StreamObserver<String>() {
            @Override
            public void onNext(String msg) {
              out.onNext(name + ":" + msg);
            }

            @Override
            public void onError(Throwable t) {
              openStreams.decrementAndGet();
            }

            @Override
            public void onCompleted() {
              openStreams.decrementAndGet();
              out.onCompleted();
            }
          };
        }))
        .build();
    try {
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build()
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int port() {
    return server.getPort();
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
