package dev.ebb.it;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * One line in the build output that names every suite or test that was skipped and why, e.g.
 * {@code [WARNING] SKIPPED EnvoyProtocolsIT, EnvoyTlsIT: no Docker engine (...)}. Surefire and failsafe report a
 * skip's reason only in their XML, and the tests' own output goes to files (redirectTestOutputToFile), so this
 * line is written to the test JVM's native stderr, which surefire copies to the build output as it is.
 * Registered for every test run of this module in META-INF/services.
 */
public final class SkippedSuitesSummary implements TestExecutionListener {
  private final PrintStream out;
  /** Names of what was skipped, by reason, in the order seen. */
  private final Map<String, Set<String>> byReason = new LinkedHashMap<>();
  private TestPlan plan;

  public SkippedSuitesSummary() {
    this(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
  }

  SkippedSuitesSummary(PrintStream out) {
    this.out = out;
  }

  @Override
  public void testPlanExecutionStarted(TestPlan testPlan) {
    plan = testPlan;
    byReason.clear();
  }

  @Override
  public void executionSkipped(TestIdentifier id, String reason) {
    add(id, reason);
  }

  @Override
  public void executionFinished(TestIdentifier id, TestExecutionResult result) {
    if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
      add(id, result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
    }
  }

  @Override
  public void testPlanExecutionFinished(TestPlan testPlan) {
    line().ifPresent(out::println);
    out.flush();
  }

  /** The line, when anything was skipped. */
  Optional<String> line() {
    if (byReason.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of("[WARNING] SKIPPED " + byReason.entrySet().stream()
        .map(e -> String.join(", ", e.getValue()) + ": " + e.getKey())
        .collect(Collectors.joining("; ")));
  }

  private void add(TestIdentifier id, String reason) {
    String oneLine = reason == null || reason.isBlank() ? "no reason given" : reason.strip().replaceAll("\\s+", " ");
    byReason.computeIfAbsent(oneLine, r -> new LinkedHashSet<>()).add(name(id));
  }

  /** {@code EnvoyTlsIT}, {@code InteropIT.weightsStreamsDrainsAndLoadReports[grpc-js]}, or the display name. */
  private String name(TestIdentifier id) {
    Optional<TestSource> source = id.getSource();
    if (source.isPresent() && source.get() instanceof ClassSource c) {
      return simpleName(c.getClassName());
    }
    if (source.isPresent() && source.get() instanceof MethodSource m) {
      String method = simpleName(m.getClassName()) + "." + m.getMethodName();
      boolean invocation = plan != null && plan.getParent(id).flatMap(TestIdentifier::getSource)
          .filter(p -> p instanceof MethodSource).isPresent();
      return invocation ? method + "[" + id.getDisplayName() + "]" : method;
    }
    return id.getDisplayName();
  }

  private static String simpleName(String className) {
    return className.substring(className.lastIndexOf('.') + 1).replace('$', '.');
  }
}
