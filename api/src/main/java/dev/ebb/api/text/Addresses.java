package dev.ebb.api.text;

import java.util.regex.Pattern;

/** IP literals and host names, checked without any DNS lookup. */
public final class Addresses {
  private static final Pattern IPV4 =
      Pattern.compile("((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
  private static final Pattern HEX_GROUP = Pattern.compile("[0-9a-fA-F]{1,4}");
  private static final Pattern HOST_LABELS =
      Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

  private Addresses() {}

  public static boolean isIpLiteral(String s) {
    return isIpv4(s) || isIpv6(s);
  }

  public static boolean isIpv4(String s) {
    return IPV4.matcher(s).matches();
  }

  public static boolean isIpv6(String s) {
    if (s.isEmpty() || s.indexOf(':') < 0) {
      return false;
    }
    String body = s;
    int groupsFromV4 = 0;
    int lastColon = s.lastIndexOf(':');
    if (s.indexOf('.') >= 0) {
      if (!isIpv4(s.substring(lastColon + 1))) {
        return false;
      }
      body = s.substring(0, lastColon + 1) + "0:0";
      groupsFromV4 = 0;
    }
    int doubleColon = body.indexOf("::");
    if (doubleColon >= 0 && body.indexOf("::", doubleColon + 1) >= 0) {
      return false;
    }
    String[] halves = doubleColon >= 0
        ? new String[] {body.substring(0, doubleColon), body.substring(doubleColon + 2)}
        : new String[] {body};
    int groups = groupsFromV4;
    for (String half : halves) {
      if (half.isEmpty()) {
        continue;
      }
      for (String g : half.split(":", -1)) {
        if (!HEX_GROUP.matcher(g).matches()) {
          return false;
        }
        groups++;
      }
    }
    return doubleColon >= 0 ? groups < 8 : groups == 8;
  }

  /**
   * A virtual host domain: {@code *}, {@code *.example.com} or {@code chat.example.com}, lowercase, no port.
   * Returns an empty string when valid, otherwise the reason.
   */
  public static String hostProblem(String host) {
    if (host.equals("*")) {
      return "";
    }
    String name = host.startsWith("*.") ? host.substring(2) : host;
    if (host.indexOf(':') >= 0) {
      return "must not contain a port";
    }
    if (!host.equals(host.toLowerCase(java.util.Locale.ROOT))) {
      return "must be lowercase";
    }
    if (name.length() > 253 || !HOST_LABELS.matcher(name).matches()) {
      return "is not a host name (letters, digits, '-' and '.', optionally starting with \"*.\", or \"*\")";
    }
    return "";
  }
}
