package dev.ebb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line a newcomer meets first (issue 14). */
class MainTest {
  @TempDir
  Path dir;

  @Test
  void aBarePathIsAFileSource() {
    Path home = Path.of("/opt/ebb");
    assertThat(Main.Serve.sourceFile("examples/ebb.yaml", home)).contains(Path.of("examples/ebb.yaml"));
    assertThat(Main.Serve.sourceFile("file:examples/ebb.yaml", home)).contains(Path.of("examples/ebb.yaml"));
    assertThat(Main.Serve.sourceFile(null, home)).contains(Path.of("/opt/ebb/examples/ebb.yaml"));
    assertThat(Main.Serve.sourceFile("kubernetes", home)).isEmpty();
  }

  @Test
  void aMissingBarePathSaysWhatSourceTakes() {
    Run run = run("serve", "--source", dir.resolve("kubernets").toString());
    assertThat(run.code).isEqualTo(2);
    assertThat(run.err).contains("kubernets is not a readable file (--source takes file:PATH, PATH or kubernetes)");
  }

  @Test
  void aKubernetesConfigurationIsFoundTheUsualWays() throws IOException {
    assertThat(Main.kubernetesConfigured(Map.of(), dir)).isFalse();
    assertThat(Main.kubernetesConfigured(Map.of("KUBECONFIG", "/x/config"), dir)).isTrue();
    assertThat(Main.kubernetesConfigured(Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1"), dir)).isTrue();
    Files.createDirectories(dir.resolve(".kube"));
    Files.writeString(dir.resolve(".kube/config"), "apiVersion: v1\n");
    assertThat(Main.kubernetesConfigured(Map.of(), dir)).isTrue();
  }

  @Test
  void statusWithNoEbbListeningFailsFastWithAHint() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    long started = System.nanoTime();
    Run run = run("status", "--admin", "http://127.0.0.1:" + port);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    assertThat(run.code).isEqualTo(1);
    assertThat(run.err).startsWith("ebb: no Ebb answers at http://127.0.0.1:" + port + "/status (")
        .contains("start one with ./ebb serve, or name its admin address with --admin URL");
  }

  /** Issue 14.11: every log line starts with an ISO-8601 timestamp in UTC, whatever the machine's zone. */
  @Test
  void logLinesStartWithAnIsoTimestampInUtc() throws Exception {
    Path yaml = dir.resolve("ebb.yaml");
    Files.writeString(yaml, """
        routes:
          - name: chat
            hosts: ["chat.example.com"]
            stable: chat-v1
        backends:
          - name: chat-v1
            endpoints: ["127.0.0.1:9001"]
        """);
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Duser.timezone=Asia/Tokyo", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve",
        "--source", yaml.toString(), "--xds-address", "127.0.0.1", "--xds-port", "0", "--admin-port", "0")
        .redirectErrorStream(true).start();
    List<String> lines = new CopyOnWriteArrayList<>();
    Thread reader = new Thread(() -> new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8)).lines().forEach(lines::add));
    reader.setDaemon(true);
    reader.start();
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> lines.stream().anyMatch(l -> l.contains("read ")));
      String read = lines.stream().filter(l -> l.contains(" dev.ebb.source.FileSource - read ")).findFirst()
          .orElseThrow(() -> new AssertionError("no FileSource line in " + lines));
      assertThat(read).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\[[^]]+\\] INFO "
          + "dev\\.ebb\\.source\\.FileSource - read .*");
    } finally {
      p.destroy();
      p.waitFor();
    }
  }

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int code = new CommandLine(new Main()).execute(args);
      return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }
}
