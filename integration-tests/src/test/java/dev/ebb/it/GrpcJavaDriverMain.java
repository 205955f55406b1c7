package dev.ebb.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * grpc-java's xDS client in a JVM of its own, as a user runs it: the bootstrap comes from
 * {@code GRPC_XDS_BOOTSTRAP} (read once per JVM) and the TLS trust of the xDS channel from the JVM's system
 * properties. It speaks the line protocol of {@link XdsClientDriver.Subprocess}: {@code split N | open K | ping |
 * close | quit} on stdin, one JSON line per command on stdout.
 */
public final class GrpcJavaDriverMain {
  private static final ObjectMapper JSON = new ObjectMapper();

  private GrpcJavaDriverMain() {}

  public static void main(String[] args) throws Exception {
    String target = args.length >= 2 && args[0].equals("--target") ? args[1] : "xds:///chat.example.com";
    // the data plane is plaintext (the echo backends); only the xDS channel uses the bootstrap's channel_creds
    ManagedChannel channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    List<ChatStream> streams = new ArrayList<>();
    reply(Map.of("ready", true, "client", "grpc-java "
        + io.grpc.internal.GrpcUtil.getGrpcBuildVersion().getImplementationVersion()));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] parts = line.trim().split("\\s+");
      if (parts[0].equals("quit")) {
        break;
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("ok", true);
      switch (parts[0]) {
        case "split" -> {
          Map<String, Integer> counts = new TreeMap<>();
          int errors = 0;
          String last = null;
          for (int i = 0; i < Integer.parseInt(parts[1]); i++) {
            try {
              counts.merge(ClientCalls.blockingUnaryCall(channel, EchoBackend.WHO,
                  CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "who"), 1, Integer::sum);
            } catch (RuntimeException e) {
              errors++;
              Status s = Status.fromThrowable(e);
              last = s.getCode() + ": " + s.getDescription();
            }
          }
          out.put("counts", counts);
          out.put("errors", errors);
          out.put("lastError", last);
        }
        case "open" -> {
          List<String> who = new ArrayList<>();
          for (int i = 0; i < Integer.parseInt(parts[1]); i++) {
            ChatStream s = new ChatStream(channel);
            streams.add(s);
            who.add(ping(s));
          }
          out.put("backends", who);
        }
        case "ping" -> out.put("backends", streams.stream().map(s -> s.broken() ? null : ping(s)).toList());
        case "close" -> {
          streams.forEach(ChatStream::close);
          streams.clear();
        }
        default -> {
          out.put("ok", false);
          out.put("error", "unknown command: " + line);
        }
      }
      reply(out);
    }
    channel.shutdownNow();
    System.exit(0);
  }

  private static String ping(ChatStream s) {
    try {
      return s.ping(Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (RuntimeException | AssertionError e) {
      return null;
    }
  }

  private static void reply(Map<String, Object> m) throws Exception {
    System.out.println(JSON.writeValueAsString(m));
    System.out.flush();
  }
}
