package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherConfig;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/** Issue 14: one line in the build output names what was skipped and why (surefire keeps it in its XML only). */
class SkippedSuitesSummaryTest {
  // static nested classes: surefire and failsafe do not run them (their default excludes **/*$*), this test does

  @Disabled("no Docker engine (Testcontainers found none)")
  static class NeedsDocker {
    @Test
    void runsEnvoy() {}
  }

  @Disabled("no Docker engine (Testcontainers found none)")
  static class NeedsDockerToo {
    @Test
    void runsEnvoy() {}
  }

  static class SomeAbort {
    @Test
    void passes() {}

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"grpc-java", "grpc-js"})
    void family(String family) {
      Assumptions.assumeTrue(family.equals("grpc-java"), "node is not installed\n(see docs)");
    }
  }

  static class NothingSkipped {
    @Test
    void passes() {}
  }

  static String run(Class<?>... classes) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    SkippedSuitesSummary summary = new SkippedSuitesSummary(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    // not the listeners of META-INF/services: the real summary would write to this JVM's stderr
    Launcher launcher = LauncherFactory.create(LauncherConfig.builder()
        .enableTestExecutionListenerAutoRegistration(false).build());
    LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
    for (Class<?> c : classes) {
      request.selectors(selectClass(c));
    }
    launcher.execute(request.build(), summary);
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void oneLineNamesEverySkippedSuiteAndTestByReason() {
    String out = run(NeedsDocker.class, SomeAbort.class, NeedsDockerToo.class, NothingSkipped.class);

    assertThat(out).isEqualTo("[WARNING] SKIPPED SkippedSuitesSummaryTest.NeedsDocker,"
        + " SkippedSuitesSummaryTest.NeedsDockerToo: no Docker engine (Testcontainers found none);"
        + " SkippedSuitesSummaryTest.SomeAbort.family[grpc-js]: Assumption failed: node is not installed (see docs)"
        + System.lineSeparator());
  }

  @Test
  void nothingSkippedSaysNothing() {
    assertThat(run(NothingSkipped.class)).isEmpty();
  }
}
