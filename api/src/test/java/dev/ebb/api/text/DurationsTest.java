package dev.ebb.api.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

  @ParameterizedTest(name = "\"{0}\" is {1} ms")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      0        | 0
      0s       | 0
      0ms      | 0
      90s      | 90000
      30m      | 1800000
      2h       | 7200000
      1h30m    | 5400000
      15m      | 900000
      1500ms   | 1500
      1m30ms   | 60030
      1h1m1s   | 3661000
      168h     | 604800000
      `  15m ` | 900000
      """)
  void parses(String text, long millis) {
    assertThat(Durations.parse(text)).isEqualTo(Duration.ofMillis(millis));
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"10 minutes", "15", "1d", "-5m", "1.5h", "m", "15M", "1H", "15 m", "h1", "1h 30m", ""})
  void rejectsWhatIsNotADuration(String text) {
    assertThatThrownBy(() -> Durations.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("\"" + text + "\" is not a duration (use a number with a unit: 90s, 30m, 2h)");
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"99999999999999999999h", "9223372036854775807h", "9223372036854775807s1s", "87660000h1ms"})
  void rejectsDurationsTooLongToHold(String text) {
    assertThatThrownBy(() -> Durations.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("\"" + text + "\" is too long a duration (at most 87660000h, 10,000 years)");
  }

  @Test
  void acceptsProtobufsLongestDuration() {
    assertThat(Durations.parse("87660000h")).isEqualTo(Durations.MAX);
  }

  @ParameterizedTest(name = "{0} ms is \"{1}\"")
  @CsvSource(delimiter = '|', textBlock = """
      0         | 0
      1         | 1ms
      1500      | 1500ms
      61001     | 61001ms
      1000      | 1s
      90000     | 1m30s
      900000    | 15m
      3600000   | 1h
      5400000   | 1h30m
      3661000   | 1h1m1s
      86400000  | 24h
      604800000 | 168h
      """)
  void formatsInTheShortestFormParseReadsBack(long millis, String text) {
    Duration d = Duration.ofMillis(millis);
    assertThat(Durations.format(d)).isEqualTo(text);
    assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"0", "1ms", "1500ms", "1s", "90s", "15m", "1h", "1h30m", "1h30m15s", "168h"})
  void roundTripsItsOwnForms(String canonical) {
    String expected = canonical.equals("90s") ? "1m30s" : canonical;
    assertThat(Durations.format(Durations.parse(canonical))).isEqualTo(expected);
  }
}
