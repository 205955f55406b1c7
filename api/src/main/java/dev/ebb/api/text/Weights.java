package dev.ebb.api.text;

import java.math.BigDecimal;
import java.util.regex.Pattern;

/** Canary weights: percent 0..100 with at most two decimals, held as basis points (0..10000). */
public final class Weights {
  private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");

  private Weights() {}

  /** Parses or throws {@link IllegalArgumentException} with the detail part of an error message. */
  public static int parseBasisPoints(String text) {
    String t = text.trim();
    if (!NUMBER.matcher(t).matches()) {
      throw new IllegalArgumentException(text + " is not a number (percent 0..100, at most two decimals)");
    }
    if (t.indexOf('.') >= 0) {
      // drop trailing zeros of the fraction here: BigDecimal.stripTrailingZeros divides once per zero (quadratic)
      int end = t.length();
      while (t.charAt(end - 1) == '0') {
        end--;
      }
      t = t.substring(0, t.charAt(end - 1) == '.' ? end - 1 : end);
    }
    BigDecimal value = new BigDecimal(t);
    if (value.compareTo(BigDecimal.ZERO) < 0 || value.compareTo(BigDecimal.valueOf(100)) > 0) {
      throw new IllegalArgumentException(text + " is out of range 0..100");
    }
    if (value.scale() > 2) {
      throw new IllegalArgumentException(text + " has more than two decimals");
    }
    return value.movePointRight(2).intValueExact();
  }

  /** Basis points as a percent string: 2000 -> "20", 1250 -> "12.5", 5 -> "0.05". */
  public static String formatPercent(int basisPoints) {
    return BigDecimal.valueOf(basisPoints).movePointLeft(2).stripTrailingZeros().toPlainString();
  }
}
