package dev.ebb;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * STYLE.md: the pure stages (model, rollout, translate) read no clock, files, network or Kubernetes client.
 * Time comes in as an argument. This test reads their imports and calls.
 */
class PureStagesTest {
  static final List<String> FORBIDDEN = List.of("java.io.File", "java.nio.file", "java.net", "java.time.Clock",
      "Instant.now(", "System.currentTimeMillis", "System.nanoTime", "io.grpc", "io.fabric8", "dev.ebb.xds",
      "dev.ebb.source", "dev.ebb.admin", "Thread", "Executor");

  @Test
  void pureStagesTouchNoClockFilesNetworkOrClients() throws IOException {
    List<Path> roots = List.of(Path.of("src/main/java/dev/ebb/rollout"), Path.of("src/main/java/dev/ebb/translate"),
        Path.of("../api/src/main/java/dev/ebb/api/model"), Path.of("../api/src/main/java/dev/ebb/api/file"),
        Path.of("../api/src/main/java/dev/ebb/api/text"));
    List<String> violations = new ArrayList<>();
    int files = 0;
    for (Path root : roots) {
      assertThat(root).isDirectory();
      try (Stream<Path> s = Files.walk(root)) {
        for (Path p : s.filter(f -> f.toString().endsWith(".java")).toList()) {
          files++;
          String text = Files.readString(p);
          for (String f : FORBIDDEN) {
            if (text.contains(f)) {
              violations.add(p + " uses " + f);
            }
          }
        }
      }
    }
    assertThat(files).isGreaterThan(10);
    assertThat(violations).isEmpty();
  }

  /** The code review's cycle: publish (pipeline, snapshots) must not depend on xds (the server that serves them). */
  @Test
  void publishDoesNotDependOnTheXdsServer() throws IOException {
    List<String> violations = new ArrayList<>();
    try (Stream<Path> s = Files.walk(Path.of("src/main/java/dev/ebb/publish"))) {
      for (Path p : s.filter(f -> f.toString().endsWith(".java")).toList()) {
        if (Files.readString(p).contains("dev.ebb.xds")) {
          violations.add(p.toString());
        }
      }
    }
    assertThat(violations).isEmpty();
  }
}
