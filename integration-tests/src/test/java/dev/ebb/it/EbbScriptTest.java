package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: the first {@code ./ebb} builds Ebb without printing Maven's noise (Debian's Maven 3.8 writes ANSI resets
 * even with -B -q) before Ebb's first line, and a failed build still shows its log. The script runs on a copy of the
 * project tree, with stand-ins for {@code mvn} and {@code java} first on the PATH.
 */
class EbbScriptTest {
  private static final String ESC = "\u001b";

  @TempDir
  Path home;

  private Path bin;

  /** A copy of ./ebb in {@code home}, and {@code mvn} and {@code java} stand-ins in {@code bin}. */
  private void install(String mvnBody) throws IOException {
    Files.copy(Path.of("..", "ebb"), home.resolve("ebb"));
    bin = Files.createDirectories(home.resolve("bin"));
    script(bin.resolve("mvn"), mvnBody);
    script(bin.resolve("java"), "#!/bin/sh\necho \"java $*\"\n");
  }

  private static void script(Path p, String body) throws IOException {
    Files.writeString(p, body, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private record Run(int exit, String output) {}

  private Run ebb(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("bash", home.resolve("ebb").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    pb.environment().put("TMPDIR", home.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    await().atMost(Duration.ofSeconds(30)).until(() -> !p.isAlive());
    return new Run(p.exitValue(), out);
  }

  @Test
  void theFirstBuildPrintsOneLineAndNoEscapeCodes() throws Exception {
    install("""
        #!/bin/sh
        printf '\\033[0m\\033[0m'
        printf '\\033[0m\\033[0m' >&2
        mkdir -p control-plane/target && touch control-plane/target/ebb.jar
        """);

    Run run = ebb("serve", "--source", "file:my.yaml");

    assertThat(run.exit()).isZero();
    assertThat(run.output()).doesNotContain(ESC).isEqualTo("ebb: building " + home.resolve("control-plane/target/"
        + "ebb.jar") + " (first run, or sources changed) ...\njava -XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
        + " -jar " + home.resolve("control-plane/target/ebb.jar") + " serve --source file:my.yaml\n");
    assertThat(Files.list(home).filter(f -> f.getFileName().toString().startsWith("ebb-build."))).isEmpty();
  }

  @Test
  void aFailedBuildShowsItsLogWithoutEscapeCodesAndDoesNotRunEbb() throws Exception {
    install("""
        #!/bin/sh
        printf '\\033[0m\\033[0m[\\033[1;31mERROR\\033[m] COMPILATION ERROR: Foo.java:[3,5] cannot find symbol\\n'
        exit 1
        """);

    Run run = ebb("serve");

    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.output()).doesNotContain(ESC).contains("[ERROR] COMPILATION ERROR: Foo.java:[3,5] cannot find"
        + " symbol\n").contains("ebb: the build failed").doesNotContain("java -XX");
  }
}
