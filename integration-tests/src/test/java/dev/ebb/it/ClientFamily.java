package dev.ebb.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The proxyless gRPC xDS client families the interop suite drives, and how to get each on this machine:
 * grpc-java is on the test classpath; gRPC C-core comes from Debian's python3-grpcio (1.51, the oldest release
 * SPEC 5 supports); grpc-js-xds from npm, pinned by the lock file in src/test/interop/node and installed into
 * target/ on first use. A family whose runtime is missing is skipped with the reason; one that is present but
 * fails to install fails the test.
 */
enum ClientFamily {
  GRPC_JAVA, GRPC_CORE_PYTHON, GRPC_JS_XDS;

  static final Path INTEROP = Path.of("src/test/interop");
  private static final Path NODE_DIR = Path.of("target/interop-node");

  /** The reason this family cannot run here, if it cannot. */
  Optional<String> unavailable() {
    return switch (this) {
      case GRPC_JAVA -> Optional.empty();
      case GRPC_CORE_PYTHON -> run(List.of("/usr/bin/python3", "-c", "import grpc, grpc.experimental"), 60)
          .map(why -> "gRPC C-core is not installed: /usr/bin/python3 with python3-grpcio (Debian) is needed ("
              + why + "); `apt-get install -y python3-grpcio` installs it");
      case GRPC_JS_XDS -> run(List.of("node", "--version"), 30).or(() -> run(List.of("npm", "--version"), 30))
          .map(why -> "grpc-js-xds needs Node.js and npm (" + why + ")");
    };
  }

  /** Starts this family's client against Ebb's xDS port; installs its packages first where needed. */
  XdsClientDriver start(int xdsPort, String nodeId, Path workDir) {
    return switch (this) {
      case GRPC_JAVA -> new XdsClientDriver.Java(xdsPort, nodeId);
      case GRPC_CORE_PYTHON -> new XdsClientDriver.Subprocess(List.of("/usr/bin/python3",
          INTEROP.resolve("python/xds_driver.py").toAbsolutePath().toString()), workDir, xdsPort, nodeId, true);
      case GRPC_JS_XDS -> new XdsClientDriver.Subprocess(List.of("node",
          installNode().resolve("xds_driver.js").toAbsolutePath().toString()), workDir, xdsPort, nodeId, false);
    };
  }

  /** {@code npm ci} of the pinned versions into target/interop-node, once per build. */
  static synchronized Path installNode() {
    Path marker = NODE_DIR.resolve("node_modules/.ebb-installed");
    try {
      Files.createDirectories(NODE_DIR);
      for (String f : List.of("package.json", "package-lock.json", "xds_driver.js")) {
        Files.copy(INTEROP.resolve("node").resolve(f), NODE_DIR.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
      if (Files.exists(marker) && Files.getLastModifiedTime(marker).compareTo(
          Files.getLastModifiedTime(INTEROP.resolve("node/package-lock.json"))) > 0) {
        return NODE_DIR;
      }
      run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), NODE_DIR, 600).ifPresent(why -> {
        throw new IllegalStateException("npm ci of the grpc-js-xds driver failed in " + NODE_DIR.toAbsolutePath()
            + ": " + why);
      });
      Files.writeString(marker, "ok\n");
      return NODE_DIR;
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare " + NODE_DIR + ": " + e, e);
    }
  }

  private static Optional<String> run(List<String> command, int timeoutSeconds) {
    return run(command, Path.of("."), timeoutSeconds);
  }

  /** Runs a command; empty when it exits 0, else what went wrong (with the end of its output). */
  private static Optional<String> run(List<String> command, Path dir, int timeoutSeconds) {
    try {
      Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return Optional.of(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
      }
      if (p.exitValue() != 0) {
        String text = new String(out, StandardCharsets.UTF_8).strip();
        return Optional.of(String.join(" ", command) + " exited " + p.exitValue() + ": "
            + text.substring(Math.max(0, text.length() - 600)));
      }
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(String.join(" ", command) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("interrupted");
    }
  }

  String label() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
