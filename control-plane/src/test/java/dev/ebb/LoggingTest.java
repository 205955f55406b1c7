package dev.ebb;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Error;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Exception;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class LoggingTest {
  @Test
  void grpcsStreamErrorForAProxyThatWentAwayIsNotLoggedButOtherStreamErrorsAre() {
    Logging.init();
    Logger grpc = Logger.getLogger(Logging.GRPC_SERVER_HANDLER);
    List<String> logged = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord r) {
        logged.add(r.getMessage() + ": " + r.getThrown().getMessage()); // after the logger's filter
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    grpc.addHandler(handler);
    try {
      // as grpc's NettyServerHandler.onStreamError logs them
      grpc.log(Level.WARNING, "Stream Error", Http2Exception.streamError(3, Http2Error.STREAM_CLOSED,
          "Stream closed before write could take place"));
      grpc.log(Level.WARNING, "Stream Error", Http2Exception.streamError(5, Http2Error.PROTOCOL_ERROR,
          "Invalid frame"));
    } finally {
      grpc.removeHandler(handler);
    }

    assertThat(logged).containsExactly("Stream Error: Invalid frame");
  }
}
