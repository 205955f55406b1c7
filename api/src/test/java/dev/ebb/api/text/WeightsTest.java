package dev.ebb.api.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WeightsTest {

  @ParameterizedTest(name = "{0}% is {1} basis points")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      0      | 0
      100    | 10000
      20     | 2000
      12.5   | 1250
      0.05   | 5
      33.33  | 3333
      0.5    | 50
      20.50  | 2050
      100.00 | 10000
      99.99  | 9999
      0.01   | 1
      `  7 ` | 700
      """)
  void parsesPercentToBasisPoints(String text, int basisPoints) {
    assertThat(Weights.parseBasisPoints(text)).isEqualTo(basisPoints);
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource(delimiter = '|', textBlock = """
      150    | 150 is out of range 0..100
      -1     | -1 is out of range 0..100
      100.01 | 100.01 is out of range 0..100
      -0.5   | -0.5 is out of range 0..100
      20.555 | 20.555 has more than two decimals
      0.001  | 0.001 has more than two decimals
      abc    | abc is not a number (percent 0..100, at most two decimals)
      1e2    | 1e2 is not a number (percent 0..100, at most two decimals)
      20%    | 20% is not a number (percent 0..100, at most two decimals)
      .5     | .5 is not a number (percent 0..100, at most two decimals)
      +5     | +5 is not a number (percent 0..100, at most two decimals)
      """)
  void rejectsWithTheDetailOfTheErrorMessage(String text, String message) {
    assertThatThrownBy(() -> Weights.parseBasisPoints(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  @Test
  void trailingZeroesDoNotCountAsDecimals() {
    assertThat(Weights.parseBasisPoints("12.5000")).isEqualTo(1250);
  }

  @ParameterizedTest(name = "{0} basis points is \"{1}\"")
  @CsvSource(delimiter = '|', textBlock = """
      0     | 0
      10000 | 100
      2000  | 20
      1250  | 12.5
      5     | 0.05
      3333  | 33.33
      50    | 0.5
      1     | 0.01
      """)
  void formatsBasisPointsAsPercent(int basisPoints, String text) {
    assertThat(Weights.formatPercent(basisPoints)).isEqualTo(text);
  }

  @Test
  void everyWeightRoundTrips() {
    for (int bp = 0; bp <= 10_000; bp++) {
      String text = Weights.formatPercent(bp);
      assertThat(text).doesNotContain("E").doesNotEndWith(".").doesNotEndWith("0.0");
      assertThat(Weights.parseBasisPoints(text)).as(text).isEqualTo(bp);
    }
  }
}
