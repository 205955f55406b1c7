package dev.ebb.api.text;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fuzzes the text forms every source shares (SPEC 3, 4, 7): durations, canary weights, IP literals and host names.
 * The input, read as UTF-8, goes to each of them. Each is checked against a reference written here from the
 * documented rule, not only for "no exception": a value is accepted exactly when the rule says so, its value is
 * the one the text says, and its printed form reads back to the same value. Replayed from
 * {@code TextFuzzTestInputs/text/} in every build; see docs/FUZZING.md for real fuzzing.
 */
class TextFuzzTest {
  private static final Pattern DURATION = Pattern.compile("(?:[0-9]+(?:ms|h|m|s))+");
  private static final Pattern DURATION_PART = Pattern.compile("([0-9]+)(ms|h|m|s)");
  private static final Pattern WEIGHT = Pattern.compile("-?[0-9]+(?:\\.[0-9]+)?");
  private static final BigInteger NANOS_PER_SECOND = BigInteger.valueOf(1_000_000_000L);
  private static final BigInteger ONE_YEAR_NANOS = BigInteger.valueOf(Duration.ofDays(366).toNanos());
  private static final BigInteger MAX_DURATION_NANOS =
      BigInteger.valueOf(Long.MAX_VALUE).multiply(NANOS_PER_SECOND).add(BigInteger.valueOf(999_999_999L));

  @FuzzTest(maxDuration = "10m")
  void text(byte[] data) {
    String s = new String(data, StandardCharsets.UTF_8);
    duration(s);
    weight(s);
    addresses(s);
  }

  /** Durations: accepted exactly when the rule says so, with the value the text says; format reads back. */
  static void duration(String s) {
    Duration d;
    try {
      d = Durations.parse(s);
    } catch (IllegalArgumentException e) {
      check(e.getMessage() != null && e.getMessage().contains(s), "a duration error quotes the text", s);
      // refused: either not the syntax, or too long (beyond what a Duration or a long holds, or a cap above a year)
      String t = s.trim();
      check(!t.equals("0"), "0 is a duration", s);
      if (DURATION.matcher(t).matches()) {
        check(e.getMessage().contains("too long"), "a duration was refused for its syntax: " + e.getMessage(), s);
        check(!fitsInLongArithmetic(t) || nanos(t).compareTo(ONE_YEAR_NANOS) > 0,
            "a duration of a year or less was refused: " + e.getMessage(), s);
      }
      return;
    }
    String t = s.trim();
    check(t.equals("0") || DURATION.matcher(t).matches(), "accepted something that is not a duration: " + d, s);
    check(!d.isNegative(), "negative duration " + d, s);
    if (!t.equals("0")) {
      BigInteger nanos = nanos(t);
      check(nanos.equals(BigInteger.valueOf(d.getSeconds()).multiply(NANOS_PER_SECOND)
          .add(BigInteger.valueOf(d.getNano()))), "value " + d + " is not " + nanos + " ns", s);
    }
    String formatted = Durations.format(d);
    Duration back = Durations.parse(formatted);
    check(back.equals(d), "format(" + d + ") = \"" + formatted + "\" reads back as " + back, s);
  }

  /** Every part fits a long in the unit's JDK factory and the sum fits a Duration (what the parser can add). */
  private static boolean fitsInLongArithmetic(String t) {
    Matcher m = DURATION_PART.matcher(t);
    BigInteger total = BigInteger.ZERO;
    while (m.find()) {
      BigInteger amount = new BigInteger(m.group(1));
      if (amount.bitLength() > 63) {
        return false;
      }
      BigInteger seconds = switch (m.group(2)) {
        case "h" -> amount.multiply(BigInteger.valueOf(3600));
        case "m" -> amount.multiply(BigInteger.valueOf(60));
        case "s" -> amount;
        default -> BigInteger.ZERO;
      };
      if (seconds.bitLength() > 63) {
        return false;
      }
      total = total.add(partNanos(amount, m.group(2)));
      if (total.compareTo(MAX_DURATION_NANOS) > 0) {
        return false;
      }
    }
    return true;
  }

  private static BigInteger nanos(String t) {
    Matcher m = DURATION_PART.matcher(t);
    BigInteger total = BigInteger.ZERO;
    while (m.find()) {
      total = total.add(partNanos(new BigInteger(m.group(1)), m.group(2)));
    }
    return total;
  }

  private static BigInteger partNanos(BigInteger amount, String unit) {
    long factor = switch (unit) {
      case "h" -> 3_600_000_000_000L;
      case "m" -> 60_000_000_000L;
      case "s" -> 1_000_000_000L;
      default -> 1_000_000L;
    };
    return amount.multiply(BigInteger.valueOf(factor));
  }

  /** Weights: percent 0..100 with at most two decimals, exactly; the printed percent reads back. */
  static void weight(String s) {
    String t = s.trim();
    boolean valid = false;
    int expected = -1;
    if (WEIGHT.matcher(t).matches() && t.length() <= 64) {
      BigDecimal v = new BigDecimal(t);
      if (v.signum() >= 0 && v.compareTo(BigDecimal.valueOf(100)) <= 0 && v.stripTrailingZeros().scale() <= 2) {
        valid = true;
        expected = v.movePointRight(2).intValueExact();
      }
    }
    int bp;
    try {
      bp = Weights.parseBasisPoints(s);
    } catch (IllegalArgumentException e) {
      check(e.getMessage() != null && e.getMessage().contains(s), "a weight error quotes the text", s);
      check(!valid, "a valid weight was refused: " + e.getMessage(), s);
      return;
    }
    check(bp >= 0 && bp <= 10_000, "basis points out of range: " + bp, s);
    if (t.length() <= 64) {
      check(valid && bp == expected, "accepted as " + bp + " basis points, expected " + (valid ? expected : "an error"),
          s);
    }
    String percent = Weights.formatPercent(bp);
    check(Weights.parseBasisPoints(percent) == bp, "formatPercent(" + bp + ") = " + percent + " reads back differently",
        s);
  }

  /** IP literals as inet_pton reads them (what Envoy does), and virtual host names. */
  static void addresses(String s) {
    boolean v4 = Addresses.isIpv4(s);
    boolean v6 = Addresses.isIpv6(s);
    check(v4 == referenceIpv4(s), "isIpv4 = " + v4, s);
    check(v6 == referenceIpv6(s), "isIpv6 = " + v6, s);
    check(Addresses.isIpLiteral(s) == (v4 || v6), "isIpLiteral is not isIpv4 || isIpv6", s);
    String problem = Addresses.hostProblem(s);
    check(problem.isEmpty() == referenceHost(s), "hostProblem = \"" + problem + "\"", s);
    // a line of a comma-separated annotation, as the Kubernetes source splits it
    for (String part : s.split(",", 8)) {
      String h = part.trim();
      check(Addresses.hostProblem(h).isEmpty() == referenceHost(h), "hostProblem of a part", h);
    }
  }

  /** Dotted quad, decimal, no leading zeros (inet_pton). */
  static boolean referenceIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
        return false;
      }
      for (char c : p.toCharArray()) {
        if (c < '0' || c > '9') {
          return false;
        }
      }
      if (Integer.parseInt(p) > 255) {
        return false;
      }
    }
    return true;
  }

  /** RFC 4291 text form: 8 groups of 1-4 hex digits, one "::" for one or more zero groups, a dotted quad last. */
  static boolean referenceIpv6(String s) {
    int gap = s.indexOf("::");
    if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) {
      return false;
    }
    String head = gap >= 0 ? s.substring(0, gap) : s;
    String tail = gap >= 0 ? s.substring(gap + 2) : "";
    int groups = 0;
    String last = gap >= 0 ? (tail.isEmpty() ? null : tail) : head;
    for (String half : gap >= 0 ? new String[] {head, tail} : new String[] {head}) {
      if (half.isEmpty()) {
        continue;
      }
      String[] tokens = half.split(":", -1);
      for (int i = 0; i < tokens.length; i++) {
        String g = tokens[i];
        boolean lastToken = half == last && i == tokens.length - 1;
        if (lastToken && g.indexOf('.') >= 0) {
          if (!referenceIpv4(g)) {
            return false;
          }
          groups += 2;
          continue;
        }
        if (g.isEmpty() || g.length() > 4) {
          return false;
        }
        for (char c : g.toCharArray()) {
          if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
            return false;
          }
        }
        groups++;
      }
    }
    return gap >= 0 ? groups <= 7 : groups == 8;
  }

  /** "*", or an optional "*." and lowercase labels of 1-63 letters, digits and inner '-', 253 characters at most. */
  static boolean referenceHost(String s) {
    if (s.equals("*")) {
      return true;
    }
    String name = s.startsWith("*.") ? s.substring(2) : s;
    if (name.isEmpty() || name.length() > 253) {
      return false;
    }
    for (String label : name.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
        return false;
      }
      for (char c : label.toCharArray()) {
        if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
          return false;
        }
      }
    }
    return name.equals(name.toLowerCase(Locale.ROOT));
  }

  private static void check(boolean ok, String what, String input) {
    if (!ok) {
      throw new AssertionError(what + " (input: \"" + escape(input) + "\")");
    }
  }

  static String escape(String s) {
    StringBuilder sb = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
        sb.append(c);
      } else {
        sb.append(String.format("\\u%04x", (int) c));
      }
    }
    return sb.toString();
  }
}
