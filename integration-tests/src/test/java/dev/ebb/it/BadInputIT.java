package dev.ebb.it;

import static dev.ebb.it.AdsClient.EDS;
import static dev.ebb.it.AdsClient.RDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** SPEC 7: bad input gets a clear error in /status, and the last good config keeps being served. */
class BadInputIT {
  @TempDir
  Path dir;

  private static String route(String name, String host, String extra) {
    return """
          - name: %s
            hosts: ["%s"]
            stable: v1
            canary: v2
        %s
        """.formatted(name, host, extra);
  }

  private static String file(String chatExtra) {
    return "routes:\n" + route("chat", "chat.example.com", chatExtra) + route("feed", "feed.example.com",
        "    canaryWeight: 5") + """
        backends:
          - name: v1
            endpoints: ["127.0.0.1:9001"]
          - name: v2
            endpoints: ["127.0.0.1:9002"]
        """;
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource(delimiter = '|', value = {
      "canaryWeight | 150    | route chat: canaryWeight: 150 is out of range 0..100",
      "canaryWeight | abc    | route chat: canaryWeight: abc is not a number (percent 0..100, at most two decimals)",
      "canaryWeight | 20.555 | route chat: canaryWeight: 20.555 has more than two decimals",
      "canaryWeight | -1     | route chat: canaryWeight: -1 is out of range 0..100",
      "drainTimeout | 200h   | route chat: drainTimeout: 200h is longer than the maximum 168h",
  })
  void invalidRouteKeepsItsLastGoodConfigAndOthersGoOn(String field, String value, String message) {
    String bad = field.equals("canaryWeight") ? "    canaryWeight: " + value
        : "    canaryWeight: 20\n    " + field + ": " + value;
    try (EbbFixture ebb = new EbbFixture(dir, file("    canaryWeight: 20")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) >= 1 && client.count(EDS) >= 1);
      int rds = client.count(RDS);
      // chat goes bad and feed changes in the same edit
      ebb.write(file(bad).replace("canaryWeight: 5", "canaryWeight: 7"));
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains(message));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) > rds);
      RouteConfiguration rc = client.<RouteConfiguration>resources(RDS).get("edge");
      assertThat(weight(rc, "chat.example.com")).isEqualTo("2000");
      assertThat(weight(rc, "feed.example.com")).isEqualTo("700");
      assertThat(ebb.admin("/readyz")).startsWith("200");
      assertThat(ebb.admin("/status")).contains("\"location\" : \"ebb.yaml:");

      // fixing it applies the new value and clears the error
      ebb.write(file("    canaryWeight: 30").replace("canaryWeight: 5", "canaryWeight: 7"));
      await().atMost(Duration.ofSeconds(10)).until(() ->
          weight(client.<RouteConfiguration>resources(RDS).get("edge"), "chat.example.com").equals("3000"));
      assertThat(ebb.admin("/status")).doesNotContain(message);
    }
  }

  @Test
  void unknownBackendKeepsTheRoute() {
    try (EbbFixture ebb = new EbbFixture(dir, file("    canaryWeight: 20")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.DELTA)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) >= 1 && client.count(EDS) >= 1);
      int rds = client.count(RDS);
      ebb.write(file("    canaryWeight: 20").replace("canary: v2\n    canaryWeight: 20", "canary: v3\n"
          + "    canaryWeight: 50"));
      await().atMost(Duration.ofSeconds(5)).until(() ->
          ebb.admin("/status").contains("route chat: canary: backend v3 is not defined"));
      assertThat(client.count(RDS)).isEqualTo(rds);
      assertThat(weight(client.<RouteConfiguration>resources(RDS).get("edge"), "chat.example.com"))
          .isEqualTo("2000");
    }
  }

  @Test
  void malformedFileKeepsEverythingAndSaysWhere() {
    try (EbbFixture ebb = new EbbFixture(dir, file("    canaryWeight: 20")).start();
        AdsClient client = AdsClient.envoy(ebb.xdsPort(), AdsClient.Variant.SOTW)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.count(RDS) >= 1 && client.count(EDS) >= 1);
      int rds = client.count(RDS);
      long generation = ebb.generation();
      ebb.write("routes:\n  - name: chat\n    hosts: [\"chat.example.com\"\n    stable: v1\n");
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains("YAML error at ebb.yaml:4:"));
      ebb.write("");
      await().atMost(Duration.ofSeconds(5)).until(() -> ebb.admin("/status").contains("the file is empty"));
      assertThat(ebb.generation()).isEqualTo(generation);
      assertThat(client.count(RDS)).isEqualTo(rds);
      assertThat(client.resources(RDS)).containsKey("edge");
      assertThat(ebb.admin("/readyz")).startsWith("200");
    }
  }

  private static String weight(RouteConfiguration rc, String host) {
    var vh = rc.getVirtualHostsList().stream().filter(v -> v.getName().equals(host)).findFirst().orElseThrow();
    var action = vh.getRoutes(0).getRoute();
    return action.getWeightedClusters().getClustersList().stream().filter(c -> c.getName().equals("v2"))
        .map(c -> String.valueOf(c.getWeight().getValue())).findFirst().orElse("0");
  }
}
