package dev.ebb.api.text;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them in YAML and annotations: {@code 90s}, {@code 30m}, {@code 2h}, {@code 1h30m}, {@code 0}. */
public final class Durations {
  private static final Pattern WHOLE = Pattern.compile("(\\d+(ms|h|m|s))+");
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|h|m|s)");
  /** protobuf's (and so Envoy's) largest Duration: 10,000 years. Anything longer cannot be sent. */
  public static final Duration MAX = Duration.ofSeconds(315_576_000_000L);

  private Durations() {}

  /** Parses or throws {@link IllegalArgumentException} with a sentence fit for an error message. */
  public static Duration parse(String text) {
    String t = text.trim();
    if (t.equals("0")) {
      return Duration.ZERO;
    }
    if (!WHOLE.matcher(t).matches()) {
      throw new IllegalArgumentException(
          "\"" + text + "\" is not a duration (use a number with a unit: 90s, 30m, 2h)");
    }
    Duration total = Duration.ZERO;
    Matcher m = PART.matcher(t);
    try {
      while (m.find()) {
        long amount = Long.parseLong(m.group(1));
        total = total.plus(switch (m.group(2)) {
          case "h" -> Duration.ofHours(amount);
          case "m" -> Duration.ofMinutes(amount);
          case "s" -> Duration.ofSeconds(amount);
          default -> Duration.ofMillis(amount);
        });
      }
    } catch (ArithmeticException | NumberFormatException e) {
      throw tooLong(text);
    }
    if (total.compareTo(MAX) > 0) {
      throw tooLong(text);
    }
    return total;
  }

  private static IllegalArgumentException tooLong(String text) {
    return new IllegalArgumentException("\"" + text + "\" is too long a duration (at most 87660000h, 10,000 years)");
  }

  /** The shortest form that {@link #parse} reads back: {@code 15m}, {@code 1h30m}, {@code 1500ms}. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0";
    }
    if (d.toMillisPart() != 0 || d.getNano() % 1_000_000 != 0) {
      return d.toMillis() + "ms";
    }
    StringBuilder sb = new StringBuilder();
    long hours = d.toHours();
    if (hours > 0) {
      sb.append(hours).append('h');
    }
    if (d.toMinutesPart() > 0) {
      sb.append(d.toMinutesPart()).append('m');
    }
    if (d.toSecondsPart() > 0) {
      sb.append(d.toSecondsPart()).append('s');
    }
    return sb.toString();
  }
}
