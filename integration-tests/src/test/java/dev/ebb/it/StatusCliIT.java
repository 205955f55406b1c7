package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ebb.EbbServer;
import dev.ebb.cli.AdminStatus;
import dev.ebb.translate.EnvoyTranslator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: {@code ebb status --admin} against a running file-source Ebb (4), what /status says of a canary
 * rolled back to 0 (5), and {@code --state-file} with /status naming where drain state is kept (6).
 */
class StatusCliIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  Path dir;

  static JsonNode status(EbbFixture ebb) throws Exception {
    String body = ebb.admin("/status");
    assertThat(body).startsWith("200 ");
    return JSON.readTree(body.substring(4));
  }

  @Test
  void statusPrintsTheTableOfARunningEbb() throws Exception {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002)).start()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      AdminStatus.print(AdminStatus.fetch("http://127.0.0.1:" + ebb.server().adminPort() + "/",
          Duration.ofSeconds(3)), new PrintStream(out, true, StandardCharsets.UTF_8));
      String table = out.toString(StandardCharsets.UTF_8);
      assertThat(table).startsWith("ROUTE").contains("chat.example.com").contains("v1 80%").contains("v2 20%");
    }
  }

  @Test
  void aCanaryRolledBackToZeroDrainsThenStaysWarm() throws Exception {
    MovableClock clock = new MovableClock();
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002))
        .withClock(clock).start()) {
      ebb.writeAndAwaitPublish(EbbFixture.chat("websocket", "v1", "v2", "0", 9001, 9002));
      JsonNode drain = status(ebb).path("routes").get(0).path("draining").get(0);
      assertThat(drain.path("backend").asText()).isEqualTo("v2");
      assertThat(drain.path("afterDrain").asText()).isEqualTo("cluster stays: route chat lists it at 0%");

      ebb.advance(Duration.ofMinutes(16));
      await().atMost(Duration.ofSeconds(10)).until(() -> status(ebb).path("recentDrains").size() > 0);
      JsonNode status = status(ebb);
      JsonNode ended = status.path("recentDrains").get(0);
      assertThat(ended.path("outcome").asText()).isEqualTo("expired");
      assertThat(ended.path("cluster").asText()).isEqualTo("kept: route chat still lists v2");
      JsonNode v2 = null;
      for (JsonNode b : status.path("backends")) {
        if (b.path("name").asText().equals("v2")) {
          v2 = b;
        }
      }
      assertThat(v2).as("v2 is still in the config").isNotNull();
      assertThat(v2.path("state").asText()).isEqualTo("warm");
    }
  }

  @Test
  void theStateFileGoesWhereStateFileSaysAndStatusNamesIt() throws Exception {
    Path config = Files.createDirectories(dir.resolve("config"));
    Path state = Files.createDirectories(dir.resolve("state")).resolve("drains.json");
    Path yaml = config.resolve("ebb.yaml");
    Files.writeString(yaml, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002));
    EbbServer.Config c = new EbbServer.Config(new EbbServer.SourceSpec.File(yaml, Optional.of(state)), "127.0.0.1",
        0, "127.0.0.1", 0, Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(1),
        EnvoyTranslator.Settings.DEFAULT, EbbFixture.LOAD_REPORT_INTERVAL);
    try (EbbServer server = new EbbServer(c, java.time.Clock.systemUTC()).start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> server.notReadyReason().isEmpty());
      long before = server.pipeline().generation();
      Files.writeString(yaml, EbbFixture.chat("websocket", "v1", "v2", "0", 9001, 9002));
      await().atMost(Duration.ofSeconds(10)).until(() -> server.pipeline().generation() > before);
      await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(state)
          && JSON.readTree(state.toFile()).path("drains").path(0).path("backend").asText().equals("v2"));
      assertThat(config.resolve("ebb.yaml.ebb-state.json")).doesNotExist();
      JsonNode status = JSON.readTree(EbbFixture.admin(server.adminPort(), "/status").substring(4));
      assertThat(status.path("source").path("drainState").asText()).isEqualTo("file " + state.toAbsolutePath());
      assertThat(status.path("errors")).isEmpty();
    }
  }
}
