package dev.ebb.api.kube;

import static org.assertj.core.api.Assertions.assertThatCode;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What fuzzing the annotation contract showed (docs/FUZZING.md, "Findings"), as plain tests. */
class AnnotationParserFuzzFindingsTest {
  /**
   * A max-stream-duration beyond Long.MAX_VALUE milliseconds, longer than the drain timeout, threw
   * ArithmeticException out of AnnotationParser.parse (the warning formats it with Durations.format), so one
   * annotation on one Service broke the read of the whole cluster. Found by TextFuzzTest (Durations.format).
   */
  @Test
  void aMaxStreamDurationBeyondLongMillisecondsDoesNotBreakTheRead() {
    byte[] input = "hosts=chat.example.com\nstable=chat-v1\nmax-stream-duration=9223372036854775807s1ms\n"
        .getBytes(StandardCharsets.UTF_8);

    assertThatCode(() -> new AnnotationParserFuzzTest().annotations(input)).doesNotThrowAnyException();
  }
}
