package dev.ebb.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.java_websocket.WebSocket;
import org.java_websocket.handshake.ClientHandshake;
import org.java_websocket.server.WebSocketServer;

/** A WebSocket echo server on loopback standing in for one version: answers each message with "name:message". */
final class WebSocketBackend extends WebSocketServer implements AutoCloseable {
  final String name;
  final AtomicInteger open = new AtomicInteger();

  WebSocketBackend(String name, int port) {
    super(new InetSocketAddress("127.0.0.1", port));
    this.name = name;
    setReuseAddr(true);
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void onOpen(WebSocket conn, ClientHandshake handshake) {
    open.incrementAndGet();
  }

  @Override
  public void onClose(WebSocket conn, int code, String reason, boolean remote) {
    open.decrementAndGet();
  }

  @Override
  public void onMessage(WebSocket conn, String message) {
    conn.send(name + ":" + message);
  }

  @Override
  public void onError(WebSocket conn, Exception ex) {}

  @Override
  public void onStart() {}

  @Override
  public void close() {
    try {
      stop(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
