package dev.ebb.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One proxyless gRPC xDS client of some family, driven the same way for all: unary calls to
 * {@code xds:///chat.example.com} and long-lived bidi streams on it. grpc-java runs in this JVM; the others are
 * subprocesses (src/test/interop) that speak a line protocol: a command on stdin, one JSON line on stdout.
 */
interface XdsClientDriver extends AutoCloseable {
  /** The family and version, e.g. "grpc-core-python 1.51.1". */
  String client();

  /**
   * Whether this family's load reports count streams that are open but idle (grpc-java and C-core do;
   * grpc-js-xds 1.14 leaves such a locality out of its reports).
   */
  boolean countsIdleStreams();

  /** {@code n} unary calls: how many each backend answered; failed calls count under "error". */
  Map<String, Integer> split(int n);

  /** Opens {@code k} more streams; the backend that answered each first message. */
  List<String> open(int k);

  /** One more message on every open stream: who answered each (null for a broken stream). */
  List<String> ping();

  /** Half-closes every stream and waits for them to end. */
  void closeStreams();

  @Override
  void close();

  /** grpc-java's own xDS client, in this JVM, with its own bootstrap. */
  final class Java implements XdsClientDriver {
    private final ManagedChannel channel;
    private final List<ChatStream> streams = new ArrayList<>();

    Java(int xdsPort, String nodeId) {
      channel = XdsChannel.open("chat.example.com", xdsPort, nodeId);
    }

    @Override
    public String client() {
      return "grpc-java " + io.grpc.internal.GrpcUtil.getGrpcBuildVersion().getImplementationVersion();
    }

    @Override
    public boolean countsIdleStreams() {
      return true;
    }

    @Override
    public Map<String, Integer> split(int n) {
      Map<String, Integer> counts = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        String who;
        try {
          who = ClientCalls.blockingUnaryCall(channel, EchoBackend.WHO,
              CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "who");
        } catch (RuntimeException e) {
          who = "error";
        }
        counts.merge(who, 1, Integer::sum);
      }
      return counts;
    }

    @Override
    public List<String> open(int k) {
      List<String> who = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        ChatStream s = new ChatStream(channel);
        streams.add(s);
        who.add(pingOne(s));
      }
      return who;
    }

    private static String pingOne(ChatStream s) {
      try {
        return s.ping(Duration.ofSeconds(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      } catch (RuntimeException | AssertionError e) {
        return null;
      }
    }

    @Override
    public List<String> ping() {
      return streams.stream().map(s -> s.broken() ? null : pingOne(s)).toList();
    }

    @Override
    public void closeStreams() {
      streams.forEach(ChatStream::close);
      streams.clear();
    }

    @Override
    public void close() {
      closeStreams();
      XdsChannel.close(channel);
    }
  }

  /** A client family in another runtime, as a subprocess with its own xDS bootstrap file. */
  final class Subprocess implements XdsClientDriver {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Process process;
    private final Writer in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Path stderr;
    private final String client;
    private final boolean countsIdleStreams;

    Subprocess(List<String> command, Path workDir, int xdsPort, String nodeId, boolean countsIdleStreams) {
      this(command, workDir, """
          {"xds_servers": [{"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}],
            "server_features": ["xds_v3"]}],
           "node": {"id": "%s", "cluster": "interop", "locality": {"zone": "test"}}}
          """.formatted(xdsPort, nodeId), nodeId, Map.of(), countsIdleStreams);
    }

    /** With a bootstrap of the caller's making (TLS channel creds, another node cluster) and extra environment. */
    Subprocess(List<String> command, Path workDir, String bootstrapJson, String nodeId, Map<String, String> env,
        boolean countsIdleStreams) {
      this.countsIdleStreams = countsIdleStreams;
      try {
        Path bootstrap = workDir.resolve(nodeId + "-bootstrap.json");
        Files.writeString(bootstrap, bootstrapJson);
        stderr = workDir.resolve(nodeId + "-stderr.log");
        List<String> cmd = new ArrayList<>(command);
        cmd.add("--target");
        cmd.add("xds:///chat.example.com");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
        pb.environment().put("GRPC_XDS_BOOTSTRAP", bootstrap.toString());
        pb.environment().putAll(env);
        process = pb.start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            lines.add(line);
          }
        } catch (IOException e) {
          // the process ended
        }
      }, "driver-" + nodeId);
      reader.setDaemon(true);
      reader.start();
      JsonNode ready = next(Duration.ofSeconds(30));
      if (!ready.path("ready").asBoolean()) {
        throw new IllegalStateException("driver did not start: " + ready + stderrTail());
      }
      client = ready.path("client").asText();
    }

    private JsonNode next(Duration timeout) {
      try {
        String line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (line == null) {
          throw new IllegalStateException("no answer from the " + client + " driver within " + timeout
              + (process.isAlive() ? "" : " (it exited with " + process.exitValue() + ")") + stderrTail());
        }
        return JSON.readTree(line);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** The last lines the driver wrote on stderr, for failure messages. */
    String stderrTail() {
      try {
        List<String> all = Files.readAllLines(stderr);
        return "\n--- driver stderr (last lines) ---\n"
            + String.join("\n", all.subList(Math.max(0, all.size() - 30), all.size()));
      } catch (IOException | RuntimeException e) {
        return "";
      }
    }

    private JsonNode call(String command, Duration timeout) {
      try {
        in.write(command + "\n");
        in.flush();
      } catch (IOException e) {
        throw new UncheckedIOException("the " + client + " driver is gone" + stderrTail(), e);
      }
      JsonNode reply = next(timeout);
      if (!reply.path("ok").asBoolean()) {
        throw new IllegalStateException(client + " driver: " + command + " failed: " + reply + stderrTail());
      }
      return reply;
    }

    @Override
    public String client() {
      return client;
    }

    @Override
    public boolean countsIdleStreams() {
      return countsIdleStreams;
    }

    /** The last error of {@code n} unary calls, or null when all succeeded (the client's own words). */
    String lastError(int n) {
      JsonNode r = call("split " + n, Duration.ofSeconds(30 + n / 10));
      return r.path("errors").asInt() == 0 ? null : r.path("lastError").asText();
    }

    @Override
    public Map<String, Integer> split(int n) {
      JsonNode r = call("split " + n, Duration.ofSeconds(30 + n / 10));
      Map<String, Integer> counts = new TreeMap<>();
      r.path("counts").properties().forEach(e -> counts.put(e.getKey(), e.getValue().asInt()));
      if (r.path("errors").asInt() > 0) {
        counts.put("error", r.path("errors").asInt());
      }
      return counts;
    }

    private static List<String> backends(JsonNode r) {
      List<String> out = new ArrayList<>();
      r.path("backends").forEach(b -> out.add(b.isNull() ? null : b.asText()));
      return out;
    }

    @Override
    public List<String> open(int k) {
      return backends(call("open " + k, Duration.ofSeconds(30)));
    }

    @Override
    public List<String> ping() {
      return backends(call("ping", Duration.ofSeconds(30)));
    }

    @Override
    public void closeStreams() {
      call("close", Duration.ofSeconds(30));
    }

    @Override
    public void close() {
      try {
        in.write("quit\n");
        in.flush();
        process.waitFor(5, TimeUnit.SECONDS);
      } catch (IOException e) {
        // already gone
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        process.destroyForcibly();
      }
    }
  }
}
