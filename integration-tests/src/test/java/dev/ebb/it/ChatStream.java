package dev.ebb.it;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** One long-lived bidi stream through an xDS channel; each message sent is answered by "backend:message". */
final class ChatStream implements AutoCloseable {
  private final LinkedBlockingQueue<String> replies = new LinkedBlockingQueue<>();
  private final StreamObserver<String> out;
  private volatile Throwable error;
  private volatile boolean completed;
  private int sent;

  ChatStream(ManagedChannel channel) {
    out = ClientCalls.asyncBidiStreamingCall(channel.newCall(EchoBackend.CHAT, CallOptions.DEFAULT),
        new StreamObserver<>() {
          @Override
          public void onNext(String value) {
            replies.add(value);
          }

          @Override
          public void onError(Throwable t) {
            error = t;
          }

          @Override
          public void onCompleted() {
            completed = true;
          }
        });
  }

  /** Sends one message and returns the backend that answered it; fails if the stream broke. */
  String ping(Duration timeout) throws InterruptedException {
    String msg = "m" + (++sent);
    out.onNext(msg);
    String reply = replies.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (reply == null) {
      throw new AssertionError("no answer to " + msg + (error != null ? ": " + error : "")
          + (completed ? " (stream completed)" : ""));
    }
    if (!reply.endsWith(":" + msg)) {
      throw new AssertionError("answer " + reply + " does not match " + msg);
    }
    return reply.substring(0, reply.indexOf(':'));
  }

  boolean broken() {
    return error != null || completed;
  }

  Throwable error() {
    return error;
  }

  @Override
  public void close() {
    if (!broken()) {
      out.onCompleted();
    }
  }
}
