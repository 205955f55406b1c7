package dev.ebb.api.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the fuzz test of the text forms found, or what writing its references showed (docs/FUZZING.md, "Findings"). */
class TextFuzzFindingsTest {
  /**
   * Durations.format threw ArithmeticException (long overflow in Duration.toMillis) for a duration that parse
   * accepts: more than Long.MAX_VALUE milliseconds with a millisecond part. Refusing such a duration in parse ("too
   * long") is a fix too.
   */
  @ParameterizedTest
  @ValueSource(strings = {"22666666666666668s2ms4ms", "9223372036854775807s1ms", "2562047788016h1ms"})
  void aDurationBeyondLongMillisecondsFormatsAndReadsBackOrIsRefused(String text) {
    Duration d;
    try {
      d = Durations.parse(text);
    } catch (IllegalArgumentException refused) {
      assertThat(refused).hasMessageContaining("too long");
      return;
    }
    assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
  }

  @Test
  void aDurationBeyondLongMillisecondsExactFuzzInput() throws IOException {
    try (InputStream in = getClass().getResourceAsStream("fuzz-findings/duration-beyond-long-milliseconds")) {
      new TextFuzzTest().text(in.readAllBytes());
    }
  }

  /**
   * Weights.parseBasisPoints took time quadratic in the number of trailing zeros (BigDecimal.stripTrailingZeros
   * divides by ten once per zero): "0.1" and 250,000 zeros, which fits in one Kubernetes annotation, took 23 s on
   * every read of the cluster, and a megabyte of zeros in the file minutes. Found while writing TextFuzzTest's weight
   * reference, not by the fuzzer (its inputs stay near 4 KB).
   */
  @Test
  void aWeightWithAHundredThousandTrailingZerosIsReadQuickly() {
    String text = "0.1" + "0".repeat(100_000); // 3.8 s before the fix

    assertTimeoutPreemptively(Duration.ofSeconds(1), () -> {
      try {
        assertThat(Weights.parseBasisPoints(text)).isEqualTo(10);
      } catch (IllegalArgumentException refused) {
        assertThat(refused.getMessage()).isNotBlank(); // refusing so long a number is a fix too
      }
    });
  }
}
