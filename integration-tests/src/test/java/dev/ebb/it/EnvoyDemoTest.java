package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.java_websocket.WebSocket;
import org.java_websocket.client.WebSocketClient;
import org.java_websocket.enums.Opcode;
import org.java_websocket.framing.Framedata;
import org.java_websocket.framing.PingFrame;
import org.java_websocket.handshake.ServerHandshake;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * The compose demo ({@code envoy/compose.yaml}, {@code envoy/demo/}) without Docker: the Node echo backend run with
 * the local {@code node} against a real WebSocket client (Java-WebSocket) and raw frames, the demo's Node client
 * against it, the compose file checked for what it wires together (images, commands Ebb and Envoy accept, fixed
 * addresses that match the endpoints in Ebb's YAML), and Ebb itself run through the walkthrough's steps.
 */
class EnvoyDemoTest {
  static final Path ENVOY = Path.of("../envoy");
  static final Path DEMO = ENVOY.resolve("demo");

  /** echo.js and ws-client.js under the local node; skipped, with a line saying so, where there is none. */
  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class NodeScripts {
    Process echo;
    int port;
    final StringBuffer echoLog = new StringBuffer();

    @BeforeAll
    void startEcho() throws Exception {
      boolean hasNode;
      try {
        hasNode = new ProcessBuilder("node", "--version").redirectErrorStream(true).start().waitFor() == 0;
      } catch (IOException e) {
        hasNode = false;
      }
      if (!hasNode) {
        System.out.println("SKIPPED EnvoyDemoTest.NodeScripts: no `node` on PATH (the demo's echo backend and client "
            + "are Node scripts)");
      }
      Assumptions.assumeTrue(hasNode, "no node on PATH");
      port = WebSocketBackend.freePort();
      ProcessBuilder pb = new ProcessBuilder("node", DEMO.resolve("echo.js").toString()).redirectErrorStream(true);
      pb.environment().put("VERSION", "v1");
      pb.environment().put("PORT", String.valueOf(port));
      echo = pb.start();
      Thread reader = new Thread(() -> {
        try (InputStream in = echo.getInputStream()) {
          byte[] buf = new byte[4096];
          for (int n; (n = in.read(buf)) > 0; ) {
            echoLog.append(new String(buf, 0, n, StandardCharsets.UTF_8));
          }
        } catch (IOException ignored) {
          // the process ended
        }
      });
      reader.setDaemon(true);
      reader.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> echoLog.toString().contains("listening on " + port));
    }

    @AfterAll
    void stopEcho() throws Exception {
      if (echo != null) {
        echo.destroy(); // SIGTERM: the script's own stop path
        assertThat(echo.waitFor(5, TimeUnit.SECONDS)).as("echo.js stops on SIGTERM").isTrue();
      }
    }

    /** A Java-WebSocket client recording messages, pongs and the close. */
    final class Client extends WebSocketClient {
      final LinkedBlockingQueue<Object> messages = new LinkedBlockingQueue<>();
      final LinkedBlockingQueue<ByteBuffer> pongs = new LinkedBlockingQueue<>();
      final CompletableFuture<Integer> closed = new CompletableFuture<>();

      Client() {
        super(URI.create("ws://127.0.0.1:" + port + "/chat"));
      }

      @Override
      public void onOpen(ServerHandshake h) {}

      @Override
      public void onMessage(String message) {
        messages.add(message);
      }

      @Override
      public void onMessage(ByteBuffer bytes) {
        messages.add(bytes);
      }

      @Override
      public void onWebsocketPong(WebSocket conn, Framedata f) {
        pongs.add(f.getPayloadData());
      }

      @Override
      public void onClose(int code, String reason, boolean remote) {
        closed.complete(code);
      }

      @Override
      public void onError(Exception ex) {}

      Object next() throws InterruptedException {
        Object m = messages.poll(5, TimeUnit.SECONDS);
        assertThat(m).as("an answer").isNotNull();
        return m;
      }
    }

    Client connect() throws InterruptedException {
      Client c = new Client();
      assertThat(c.connectBlocking(5, TimeUnit.SECONDS)).as("handshake with echo.js").isTrue();
      return c;
    }

    @Test
    void answersEveryMessageWithItsVersionWhateverItsSizeOrFraming() throws Exception {
      Client c = connect();
      c.send("hello");
      assertThat(c.next()).isEqualTo("v1:hello");
      c.send("héllo ✓");
      assertThat(c.next()).isEqualTo("v1:héllo ✓");
      String medium = "m".repeat(300); // 16-bit length
      c.send(medium);
      assertThat(c.next()).isEqualTo("v1:" + medium);
      String big = "b".repeat(70_000); // 64-bit length
      c.send(big);
      assertThat(c.next()).isEqualTo("v1:" + big);
      c.send(new byte[] {1, 2, 3});
      ByteBuffer bin = (ByteBuffer) c.next();
      byte[] got = new byte[bin.remaining()];
      bin.get(got);
      assertThat(got).isEqualTo(("v1:" + new String(new byte[] {1, 2, 3}, StandardCharsets.ISO_8859_1))
          .getBytes(StandardCharsets.ISO_8859_1));
      // a fragmented message is answered once, whole
      c.sendFragmentedFrame(Opcode.TEXT, ByteBuffer.wrap("frag".getBytes(StandardCharsets.UTF_8)), false);
      c.sendFragmentedFrame(Opcode.TEXT, ByteBuffer.wrap("ment".getBytes(StandardCharsets.UTF_8)), true);
      assertThat(c.next()).isEqualTo("v1:fragment");
      c.closeBlocking();
    }

    @Test
    void answersPingWithPongOfTheSamePayload() throws Exception {
      Client c = connect();
      PingFrame ping = new PingFrame();
      ping.setPayload(ByteBuffer.wrap("are-you-there".getBytes(StandardCharsets.UTF_8)));
      c.sendFrame(ping);
      ByteBuffer pong = c.pongs.poll(5, TimeUnit.SECONDS);
      assertThat(pong).as("pong").isNotNull();
      assertThat(StandardCharsets.UTF_8.decode(pong).toString()).isEqualTo("are-you-there");
      c.send("after-ping");
      assertThat(c.next()).isEqualTo("v1:after-ping");
      c.closeBlocking();
    }

    @Test
    void closesCleanlyAndCountsItsWebSockets() throws Exception {
      Client a = connect();
      Client b = connect();
      a.send("x");
      assertThat(a.next()).isEqualTo("v1:x");
      await().atMost(Duration.ofSeconds(5)).until(() -> echoLog.toString().contains("(2 open)"));
      a.close(4001, "bye");
      assertThat(a.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4001);
      b.closeBlocking();
      assertThat(b.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1000);
      await().atMost(Duration.ofSeconds(5)).until(() -> echoLog.toString().contains("(0 open)"));
    }

    @Test
    void refusesWhatRfc6455Forbids() throws Exception {
      // an unmasked client frame: protocol error 1002
      assertThat(closeCodeAfter(frame(0x1, "hi".getBytes(StandardCharsets.UTF_8), false))).isEqualTo(1002);
      // invalid UTF-8 in a text message: 1007
      assertThat(closeCodeAfter(frame(0x1, new byte[] {(byte) 0xc3, (byte) 0x28}, true))).isEqualTo(1007);
      // a frame announced larger than the limit: 1009, before the payload is even sent
      ByteArrayOutputStream huge = new ByteArrayOutputStream();
      huge.write(new byte[] {(byte) 0x81, (byte) (0x80 | 127), 0, 0, 0, 0, 0, (byte) 0x20, 0, 0, 1, 2, 3, 4});
      assertThat(closeCodeAfter(huge.toByteArray())).isEqualTo(1009);
      // a close is answered with a close of the same code, then the connection ends
      assertThat(closeCodeAfter(frame(0x8, new byte[] {0x0f, (byte) 0xa1}, true))).isEqualTo(4001);
      // a control frame must not be fragmented: 1002
      assertThat(closeCodeAfter(frame(0x9, new byte[0], true, false))).isEqualTo(1002);
    }

    @Test
    void plainHttpAndABadUpgradeAreAnswered() throws Exception {
      var http = java.net.http.HttpClient.newHttpClient();
      var r = http.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("v1\n");
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        s.setSoTimeout(5000);
        s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII)); // no key
        assertThat(headers(s.getInputStream())).startsWith("HTTP/1.1 400");
      }
    }

    @Test
    void theDemoClientProbesAndHolds() throws Exception {
      ProcessBuilder pb = new ProcessBuilder("node", DEMO.resolve("ws-client.js").toString(), "probe",
          "ws://127.0.0.1:" + port + "/", "--count", "5").redirectErrorStream(true);
      Process p = pb.start();
      assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      assertThat(out).isEqualTo("v1: 5");
      assertThat(p.exitValue()).isZero();
      // hold: one WebSocket, a message every 0.3 s answered by v1; Ctrl-C (SIGINT) closes it with 1000
      Process hold = new ProcessBuilder("node", DEMO.resolve("ws-client.js").toString(), "hold",
          "ws://127.0.0.1:" + port + "/", "--every", "0.3").redirectErrorStream(true).start();
      StringBuffer holdOut = new StringBuffer();
      Thread t = new Thread(() -> {
        try (InputStream in = hold.getInputStream()) {
          byte[] buf = new byte[1024];
          for (int n; (n = in.read(buf)) > 0; ) {
            holdOut.append(new String(buf, 0, n, StandardCharsets.UTF_8));
          }
        } catch (IOException ignored) {
          // ended
        }
      });
      t.setDaemon(true);
      t.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> holdOut.toString().contains("v1:hold-3"));
      new ProcessBuilder("kill", "-INT", String.valueOf(hold.pid())).start().waitFor();
      assertThat(hold.waitFor(5, TimeUnit.SECONDS)).isTrue();
      await().atMost(Duration.ofSeconds(2)).until(() -> holdOut.toString().contains("closed (1000)"));
      assertThat(hold.exitValue()).as(holdOut.toString()).isZero();
    }

    /** Opens a raw WebSocket, sends these bytes, and returns the close code the server answers with. */
    int closeCodeAfter(byte[] bytes) throws Exception {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        s.setSoTimeout(5000);
        OutputStream out = s.getOutputStream();
        out.write(("GET /raw HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + Base64.getEncoder().encodeToString(new byte[16])
            + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        DataInputStream in = new DataInputStream(s.getInputStream());
        assertThat(headers(in)).startsWith("HTTP/1.1 101");
        out.write(bytes);
        int b0 = in.readUnsignedByte();
        int len = in.readUnsignedByte() & 0x7f;
        assertThat(b0 & 0x0f).as("a close frame").isEqualTo(0x8);
        byte[] payload = new byte[len];
        in.readFully(payload);
        assertThat(in.read()).as("the server ends the connection after its close").isEqualTo(-1);
        return ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
      }
    }
  }

  static String headers(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    while (!sb.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      sb.append((char) c);
    }
    return sb.toString();
  }

  static byte[] frame(int opcode, byte[] payload, boolean masked) {
    return frame(opcode, payload, masked, true);
  }

  /** One client frame (payload under 126 bytes). */
  static byte[] frame(int opcode, byte[] payload, boolean masked, boolean fin) {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    f.write((fin ? 0x80 : 0) | opcode);
    f.write((masked ? 0x80 : 0) | payload.length);
    byte[] mask = {0x11, 0x22, 0x33, 0x44};
    if (masked) {
      f.writeBytes(mask);
    }
    for (int i = 0; i < payload.length; i++) {
      f.write(masked ? payload[i] ^ mask[i & 3] : payload[i]);
    }
    return f.toByteArray();
  }

  // ---- the compose file, checked without Docker ----

  @SuppressWarnings("unchecked")
  static Map<String, Object> compose() throws IOException {
    return (Map<String, Object>) new Yaml().load(Files.readString(ENVOY.resolve("compose.yaml")));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> service(Map<String, Object> compose, String name) {
    Map<String, Object> s = ((Map<String, Map<String, Object>>) compose.get("services")).get(name);
    assertThat(s).as("compose service " + name).isNotNull();
    return s;
  }

  @SuppressWarnings("unchecked")
  static String ipOf(Map<String, Object> service) {
    return ((Map<String, Map<String, String>>) service.get("networks")).get("demo").get("ipv4_address");
  }

  /** The host side of a bind mount "./x:/y[:ro]" whose container side is {@code target}, resolved under envoy/. */
  @SuppressWarnings("unchecked")
  static Path mounted(Map<String, Object> service, String target) {
    for (String v : (List<String>) service.get("volumes")) {
      String[] p = v.split(":");
      if (p[1].equals(target)) {
        return ENVOY.resolve(p[0]).normalize();
      }
    }
    throw new AssertionError("nothing mounted at " + target);
  }

  static final Pattern ENDPOINT = Pattern.compile("\"(\\d+\\.\\d+\\.\\d+\\.\\d+):(\\d+)\"");

  @Test
  @SuppressWarnings("unchecked")
  void theComposeFileWiresTheDemoTogether() throws Exception {
    Map<String, Object> c = compose();
    // Ebb: built from the repository's Dockerfile, watching the mounted directory, with flags it knows
    Map<String, Object> ebb = service(c, "ebb");
    Map<String, String> build = (Map<String, String>) ebb.get("build");
    assertThat(ENVOY.resolve(build.get("context")).resolve(build.get("dockerfile"))).exists();
    List<String> command = (List<String>) ebb.get("command");
    CommandLine.ParseResult serve = new CommandLine(new dev.ebb.Main()).parseArgs(command.toArray(String[]::new))
        .subcommand();
    assertThat(serve.commandSpec().name()).isEqualTo("serve");
    String source = serve.matchedOptionValue("--source", "");
    assertThat(source).startsWith("file:");
    Path watched = Path.of(source.substring("file:".length()));
    assertThat(mounted(ebb, watched.getParent().toString())).isEqualTo(DEMO.resolve("ebb").normalize());
    assertThat(DEMO.resolve("ebb").resolve(watched.getFileName())).exists();
    // Envoy 1.37 with the demo bootstrap, its node named on the command line
    Map<String, Object> envoy = service(c, "envoy");
    assertThat(envoy.get("image")).isEqualTo("envoyproxy/envoy:v1.37-latest");
    List<String> args = (List<String>) envoy.get("command");
    assertThat(args).containsSequence("-c", "/etc/envoy/envoy.yaml").contains("--service-node")
        .containsSequence("--service-cluster", "edge").contains("--drain-time-s", "--drain-strategy");
    assertThat(mounted(envoy, "/etc/envoy/envoy.yaml")).isEqualTo(DEMO.resolve("envoy.yaml").normalize());
    EnvoyBootstrapTest.parse(Files.readString(DEMO.resolve("envoy.yaml")));
    assertThat((List<String>) envoy.get("ports")).contains("10000:10000");
    // two echo versions, Node 20, the script of this directory, at the addresses Ebb's YAML names
    Map<String, String> endpointOf = new HashMap<>();
    for (String v : List.of("v1", "v2")) {
      Map<String, Object> echo = service(c, "echo-" + v);
      assertThat(echo.get("image")).isEqualTo("node:20-alpine");
      assertThat(mounted(echo, "/app/echo.js")).isEqualTo(DEMO.resolve("echo.js").normalize());
      Map<String, String> env = (Map<String, String>) echo.get("environment");
      assertThat(env).containsEntry("VERSION", v);
      endpointOf.put("chat-" + v, ipOf(echo) + ":" + env.get("PORT"));
    }
    // the static addresses are in the network's subnet, outside its dynamic range, and distinct
    Map<String, Object> ipam = (Map<String, Object>) ((Map<String, Map<String, Object>>) c.get("networks"))
        .get("demo").get("ipam");
    Map<String, String> subnet = ((List<Map<String, String>>) ipam.get("config")).get(0);
    List<String> fixed = new ArrayList<>();
    for (String s : List.of("ebb", "envoy", "echo-v1", "echo-v2")) {
      fixed.add(ipOf(service(c, s)));
    }
    assertThat(fixed).doesNotHaveDuplicates();
    for (String ip : fixed) {
      assertThat(inRange(ip, subnet.get("subnet"))).as(ip + " in " + subnet.get("subnet")).isTrue();
      assertThat(inRange(ip, subnet.get("ip_range"))).as(ip + " outside " + subnet.get("ip_range")).isFalse();
    }
    // every step names exactly those endpoints, and the watched file starts as the first step
    try (var steps = Files.list(DEMO.resolve("steps"))) {
      for (Path step : steps.toList()) {
        String yaml = Files.readString(step);
        assertThat(dev.ebb.api.file.FileConfigParser.parse(yaml, step.toString()).errors()).as(step.toString())
            .isEmpty();
        Matcher m = ENDPOINT.matcher(yaml);
        List<String> found = new ArrayList<>();
        while (m.find()) {
          found.add(m.group(1) + ":" + m.group(2));
        }
        assertThat(found).as(step + " endpoints").containsExactly(endpointOf.get("chat-v1"), endpointOf.get("chat-v2"));
      }
    }
    assertThat(Files.readString(DEMO.resolve("ebb/ebb.yaml"))).isEqualTo(Files.readString(DEMO.resolve("steps/start.yaml")));
  }

  static boolean inRange(String ip, String cidr) {
    String[] parts = cidr.split("/");
    int bits = Integer.parseInt(parts[1]);
    long mask = bits == 0 ? 0 : (0xffffffffL << (32 - bits)) & 0xffffffffL;
    return (toLong(ip) & mask) == (toLong(parts[0]) & mask);
  }

  static long toLong(String ip) {
    long v = 0;
    for (String p : ip.split("\\.")) {
      v = (v << 8) | Integer.parseInt(p);
    }
    return v;
  }

  /** Ebb, run here on the demo's steps in the walkthrough's order: what /status shows after each. */
  @Test
  void ebbFollowsTheWalkthrough(@TempDir Path dir) throws Exception {
    ObjectMapper json = new ObjectMapper();
    try (EbbFixture ebb = new EbbFixture(dir, Files.readString(DEMO.resolve("steps/start.yaml"))).start()) {
      Map<String, String> expected = new java.util.LinkedHashMap<>();
      expected.put("start", "{\"chat-v1\":\"100%\",\"chat-v2\":\"0%\"}");
      expected.put("shift-20", "{\"chat-v1\":\"80%\",\"chat-v2\":\"20%\"}");
      expected.put("rollback", "{\"chat-v1\":\"100%\",\"chat-v2\":\"0%\"}");
      expected.put("promote", "{\"chat-v2\":\"100%\"}");
      for (var e : expected.entrySet()) {
        if (!e.getKey().equals("start")) {
          ebb.writeAndAwaitPublish(Files.readString(DEMO.resolve("steps/" + e.getKey() + ".yaml")));
        }
        String body = ebb.admin("/status");
        assertThat(body).startsWith("200 ");
        JsonNode status = json.readTree(body.substring(4));
        assertThat(status.path("source").path("errors")).as(e.getKey() + ": errors").isEmpty();
        JsonNode route = status.path("routes").get(0);
        assertThat(json.writeValueAsString(route.path("weights"))).as(e.getKey() + ": weights")
            .isEqualTo(e.getValue());
      }
      // after the promotion the old version drains: its cluster stays for the WebSockets it holds
      JsonNode status = json.readTree(ebb.admin("/status").substring(4));
      Map<String, String> states = new HashMap<>();
      status.path("backends").forEach(b -> states.put(b.path("name").asText(), b.path("state").asText()));
      assertThat(states).containsEntry("chat-v1", "draining").containsEntry("chat-v2", "active");
    }
  }
}
