package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SPEC 11: the fleet's map (/status, /config_dump) stays on the admin address; --metrics-address has the rest. */
class AdminExposureIT {
  @TempDir
  Path dir;

  @Test
  void theMetricsAddressServesMetricsAndProbesAndNothingThatDescribesTheFleet() {
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002))
        .withMetricsAddress().start()) {
      int port = ebb.server().metricsPort().orElseThrow();
      assertThat(EbbFixture.admin(port, "/metrics")).startsWith("200").contains("ebb_config_generation");
      assertThat(EbbFixture.admin(port, "/healthz")).startsWith("200");
      assertThat(EbbFixture.admin(port, "/readyz")).startsWith("200");
      assertThat(EbbFixture.admin(port, "/status")).startsWith("404");
      assertThat(EbbFixture.admin(port, "/config_dump")).startsWith("404");
      assertThat(ebb.admin("/status")).startsWith("200");
      assertThat(ebb.admin("/config_dump")).startsWith("200");
    }
  }
}
