package dev.ebb.it;

import static dev.ebb.it.MockApiServer.backendService;
import static dev.ebb.it.MockApiServer.routeService;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ebb.cli.RouteCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code ebb shift | promote | rollback | status} change exactly the annotations they should. */
class RouteCliIT {
  MockApiServer api;
  RouteCli cli;

  @BeforeEach
  void start() {
    api = new MockApiServer().start();
    api.apply(backendService("chat-v1"));
    api.apply(backendService("chat-v2"));
    Map<String, String> a = new HashMap<>(KubernetesIT.chat("20"));
    a.put("other.example.com/keep", "me");
    api.apply(routeService("chat", a));
    api.apply(backendService("plain"));
    cli = new RouteCli(api.admin());
  }

  @AfterEach
  void stop() {
    api.close();
  }

  /** The annotations that are set (a merge patch's null removes one). */
  Map<String, String> annotations() {
    Map<String, String> set = new HashMap<>();
    api.annotations("chat").forEach((k, v) -> {
      if (v != null) {
        set.put(k, v);
      }
    });
    return set;
  }

  @Test
  void shiftWritesTheWeightAsGivenAndNothingElse() {
    Map<String, String> before = annotations();
    assertThat(cli.shift("default/chat", "33.5")).contains("33.5%");
    Map<String, String> after = annotations();
    assertThat(after.get("ebb.dev/canary-weight")).isEqualTo("33.5");
    after.remove("ebb.dev/canary-weight");
    before.remove("ebb.dev/canary-weight");
    assertThat(after).isEqualTo(before);
    assertThat(cli.shift("chat", "40")).contains("40%"); // NAME in the current namespace
    assertThat(annotations().get("ebb.dev/canary-weight")).isEqualTo("40");
  }

  @Test
  void promoteMakesTheCanaryStableAndRemovesTheCanary() {
    cli.promote("default/chat");
    Map<String, String> after = annotations();
    assertThat(after.get("ebb.dev/stable")).isEqualTo("chat-v2");
    assertThat(after).doesNotContainKeys("ebb.dev/canary", "ebb.dev/canary-weight");
    assertThat(after).containsEntry("other.example.com/keep", "me").containsEntry("ebb.dev/drain-timeout", "10m");
  }

  @Test
  void rollbackSetsTheWeightToZero() {
    cli.rollback("default/chat");
    assertThat(annotations()).containsEntry("ebb.dev/canary-weight", "0").containsEntry("ebb.dev/canary", "chat-v2")
        .containsEntry("ebb.dev/stable", "chat-v1");
  }

  @Test
  void clearErrors() {
    assertThatThrownBy(() -> cli.shift("default/nope", "10")).isInstanceOf(RouteCli.CliException.class)
        .hasMessage("route default/nope not found: there is no such Service");
    assertThatThrownBy(() -> cli.shift("default/chat", "150")).hasMessage("weight 150 is out of range 0..100");
    assertThatThrownBy(() -> cli.shift("default/chat", "abc"))
        .hasMessage("weight abc is not a number (percent 0..100, at most two decimals)");
    assertThatThrownBy(() -> cli.promote("default/plain"))
        .hasMessage("service default/plain is not an Ebb route (it has no ebb.dev/hosts annotation)");
    assertThatThrownBy(() -> cli.shift("a/b/c", "1")).hasMessage("route must be NAMESPACE/NAME or NAME, not \"a/b/c\"");
    cli.promote("default/chat");
    assertThatThrownBy(() -> cli.rollback("default/chat")).hasMessage("route default/chat has no canary to roll back from");
    assertThat(annotations().get("ebb.dev/canary-weight")).isNull();
  }

  @Test
  void statusPrintsATableFromTheCluster() {
    api.annotate("chat", "ebb.dev/status", "{\"weights\":{\"default/chat-v1/80\":\"80\",\"default/chat-v2/80\":\"20\"},"
        + "\"draining\":[{\"backend\":\"default/old/80\",\"start\":\"2026-01-01T00:00:00Z\","
        + "\"deadline\":\"2026-01-01T00:15:00Z\",\"streams\":\"3\"}],\"nodes\":\"9/10\","
        + "\"streams\":{\"default/chat-v1/80\":\"12\"}}");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    cli.status("default", false, Instant.parse("2026-01-01T00:05:00Z"), new PrintStream(out, true,
        StandardCharsets.UTF_8));
    String table = out.toString(StandardCharsets.UTF_8);
    assertThat(table).contains("ROUTE").contains("default/chat").contains("chat.example.com")
        .contains("chat-v1 80%, 12 streams").contains("chat-v2 20%").contains("9/10")
        .contains("default/old/80 drains, 10m left, 3 streams");
    assertThat(table).doesNotContain("default/plain");
  }
}
