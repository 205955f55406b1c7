package dev.ebb.api.file;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.ListenerTls;
import dev.ebb.api.model.RouteScoping;
import dev.ebb.api.text.Addresses;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Fuzzes the {@code listeners:} block field by field (SPEC 4, 5, 10, 11): the fuzzer writes the values, the test
 * writes the YAML around them, so the inputs reach the listener checks instead of dying in the YAML syntax.
 *
 * <p>Input (UTF-8): one listener per line, at most eight; fields separated by {@code |}, each {@code key=value}.
 * A value {@code [a,b]} is written as a list, {@code {k:v,k2:v2}} as a mapping, {@code ~} as null, anything else
 * as one double-quoted scalar (so any text reaches the parser unchanged). The pseudo-field {@code @hosts=a,b} adds
 * a route with those hosts on that listener. Example line:
 * {@code name=edge|port=10000|tls={secret:ingress/edge-tls}|routeScoping=host|nodeClusters=[edge]|@hosts=chat.example.com}
 *
 * <p>Checks: no exception; the contract of every parse ({@link ParsedConfigContract}); the incremental parser gives
 * the same; and per listener, against the documented rules: a value that breaks a rule makes the listener invalid
 * with an error naming it and the field, and a listener that comes out valid carries exactly the values written.
 * Replayed from {@code ListenersFuzzTestInputs/listeners/} in every build; see docs/FUZZING.md.
 */
class ListenersFuzzTest {
  static final String FILE = "listeners.yaml";
  private static final int MAX_LISTENERS = 8;
  private static final Set<String> FIELDS = Set.of("name", "address", "port", "nodeClusters", "tls", "trustedHops",
      "accessLog", "routeScoping");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?");
  private static final Pattern KUBE_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
  private static final Pattern ASCII_NUMBER = Pattern.compile("[0-9]{1,9}");

  /** One value as written: a scalar, a list, a mapping or null. */
  record Value(String scalar, List<String> list, Map<String, String> map) {
    static Value of(String text) {
      if (text.equals("~")) {
        return new Value(null, null, null);
      }
      if (text.length() >= 2 && text.startsWith("[") && text.endsWith("]")) {
        String inner = text.substring(1, text.length() - 1);
        return new Value(null, inner.isEmpty() ? List.of() : List.of(inner.split(",", -1)), null);
      }
      if (text.length() >= 2 && text.startsWith("{") && text.endsWith("}")) {
        Map<String, String> m = new LinkedHashMap<>();
        String inner = text.substring(1, text.length() - 1);
        for (String kv : inner.isEmpty() ? new String[0] : inner.split(",", -1)) {
          int colon = kv.indexOf(':');
          m.putIfAbsent(colon < 0 ? kv : kv.substring(0, colon), colon < 0 ? "" : kv.substring(colon + 1));
        }
        return new Value(null, null, m);
      }
      return new Value(text, null, null);
    }

    boolean isNull() {
      return scalar == null && list == null && map == null;
    }

    String yaml() {
      if (scalar != null) {
        return quote(scalar);
      }
      if (list != null) {
        return "[" + String.join(", ", list.stream().map(ListenersFuzzTest::quote).toList()) + "]";
      }
      if (map != null) {
        List<String> pairs = new ArrayList<>();
        map.forEach((k, v) -> pairs.add(quote(k) + ": " + quote(v)));
        return "{" + String.join(", ", pairs) + "}";
      }
      return "~";
    }
  }

  /** One line: its fields in order; {@code duplicateKey} when a key is given twice (the YAML is then refused). */
  record Line(Map<String, Value> fields, Optional<String> hosts, boolean duplicateKey) {
    static Line of(String text) {
      Map<String, Value> fields = new LinkedHashMap<>();
      Optional<String> hosts = Optional.empty();
      boolean duplicate = false;
      for (String f : text.isEmpty() ? new String[0] : text.split("\\|", -1)) {
        int eq = f.indexOf('=');
        String key = eq < 0 ? f : f.substring(0, eq);
        String value = eq < 0 ? "" : f.substring(eq + 1);
        if (key.equals("@hosts")) {
          hosts = Optional.of(value);
        } else if (fields.putIfAbsent(key, Value.of(value)) != null) {
          duplicate = true;
        }
      }
      return new Line(fields, hosts, duplicate);
    }

    Optional<String> name() {
      Value v = fields.get("name");
      return v == null ? Optional.empty() : Optional.ofNullable(v.scalar());
    }
  }

  @FuzzTest(maxDuration = "10m")
  void listeners(byte[] data) {
    List<Line> lines = new ArrayList<>();
    String input = new String(data, StandardCharsets.UTF_8);
    for (String l : input.split("\n", MAX_LISTENERS + 1)) {
      if (lines.size() < MAX_LISTENERS) {
        lines.add(Line.of(l.endsWith("\r") ? l.substring(0, l.length() - 1) : l));
      }
    }
    if (input.isEmpty()) {
      lines.clear();
    }
    String yaml = yaml(lines);
    ParsedConfig p = FileConfigParser.parse(yaml, FILE);
    ParsedConfigContract.checkFile(p, FILE);
    ParsedConfigContract.equal(p, new FileConfigParser.Incremental().parse(yaml, FILE), "the incremental parse");
    // YAML refuses a key given twice in a mapping, and an implicit key longer than 1024 characters
    boolean refused = lines.stream().anyMatch(l -> l.duplicateKey() || l.fields().entrySet().stream().anyMatch(
        e -> quote(e.getKey()).length() > 1000 || e.getValue().map() != null
            && e.getValue().map().keySet().stream().anyMatch(k -> quote(k).length() > 1000)));
    check(p.readable() || refused, "the written YAML is readable", yaml, p);
    if (!p.readable()) {
      return;
    }
    for (int i = 0; i < lines.size(); i++) {
      Line line = lines.get(i);
      Optional<String> name = line.name();
      boolean unique = name.isPresent() && NAME.matcher(name.get()).matches()
          && lines.stream().filter(o -> o.name().equals(name)).count() == 1;
      if (!unique) {
        continue;
      }
      List<String> broken = brokenFields(line);
      Optional<ListenerSpec> valid = p.listeners().stream().filter(l -> l.name().equals(name.get())).findFirst();
      for (String field : broken) {
        check(valid.isEmpty(), "listener " + name.get() + " is valid although " + field + " is wrong", yaml, p);
        check(p.invalidListeners().contains(name.get()), "listener " + name.get() + " is not named invalid", yaml, p);
        check(p.errors().stream().anyMatch(e -> e.object().equals("listener " + name.get())
            && (e.field().equals(field) || field.equals("tls") && e.field().startsWith("tls"))),
            "no error names listener " + name.get() + " and field " + field, yaml, p);
      }
      valid.ifPresent(l -> checkValues(l, line, yaml, p));
    }
  }

  /** The fields of a line that break a documented rule on their own (a subset: what the rule decides surely). */
  static List<String> brokenFields(Line line) {
    List<String> broken = new ArrayList<>();
    line.fields().forEach((k, v) -> {
      if (!FIELDS.contains(k)) {
        broken.add(k.isEmpty() ? "\"\"" : k); // an empty key is named by its quotes
      }
    });
    Map<String, Value> f = line.fields();
    Value port = f.get("port");
    if (port == null || port.isNull() || port.scalar() == null || port.scalar().chars().noneMatch(Character::isDigit)
        || outside(port.scalar().trim(), 1, 65535)) {
      broken.add("port");
    }
    Value address = f.get("address");
    if (address != null && !address.isNull() && (address.scalar() == null || !Addresses.isIpLiteral(address.scalar()))) {
      broken.add("address");
    }
    Value hops = f.get("trustedHops");
    if (hops != null && !hops.isNull() && (hops.scalar() == null || hops.scalar().chars().noneMatch(Character::isDigit)
        || outside(hops.scalar(), 0, 10))) {
      broken.add("trustedHops");
    }
    Value log = f.get("accessLog");
    if (log != null && !log.isNull() && !"true".equals(log.scalar()) && !"false".equals(log.scalar())) {
      broken.add("accessLog");
    }
    Value scoping = f.get("routeScoping");
    if (scoping != null && !scoping.isNull() && (scoping.scalar() == null
        || RouteScoping.parse(scoping.scalar()).isEmpty())) {
      broken.add("routeScoping");
    }
    Value clusters = f.get("nodeClusters");
    if (clusters != null && !clusters.isNull() && clusters.list() == null) {
      broken.add("nodeClusters");
    }
    Value tls = f.get("tls");
    if (tls != null && !tls.isNull() && expectedTls(tls).isEmpty()) {
      broken.add("tls");
    }
    return broken;
  }

  /** True when {@code text} is a plain ASCII number outside lo..hi (a surely wrong value). */
  private static boolean outside(String text, int lo, int hi) {
    if (!ASCII_NUMBER.matcher(text).matches()) {
      return text.length() > 12 && text.chars().allMatch(c -> c >= '0' && c <= '9');
    }
    int v = Integer.parseInt(text);
    return v < lo || v > hi;
  }

  /** The TLS source a {@code tls:} value names, or empty when the value is wrong (SPEC 10). */
  static Optional<ListenerTls> expectedTls(Value tls) {
    if (tls.map() == null) {
      return Optional.empty();
    }
    Map<String, String> m = tls.map();
    if (!Set.of("certFile", "keyFile", "secret").containsAll(m.keySet())) {
      return Optional.empty();
    }
    if (m.containsKey("secret")) {
      String[] parts = m.get("secret").split("/", -1);
      if (m.containsKey("certFile") || m.containsKey("keyFile") || parts.length != 2
          || !KUBE_NAME.matcher(parts[0]).matches() || !KUBE_NAME.matcher(parts[1]).matches()) {
        return Optional.empty();
      }
      return Optional.of(new ListenerTls.KubeSecret(parts[0], parts[1]));
    }
    String cert = m.get("certFile");
    String key = m.get("keyFile");
    if (cert == null || key == null || cert.isBlank() || key.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(new ListenerTls.Files(cert, key));
  }

  /** A listener that came out valid carries exactly what its line wrote. */
  static void checkValues(ListenerSpec l, Line line, String yaml, ParsedConfig p) {
    Map<String, Value> f = line.fields();
    String what = "listener " + l.name() + ": ";
    check(String.valueOf(l.port()).equals(stripNumber(f.get("port").scalar().trim())), what + "port " + l.port(), yaml,
        p);
    Value address = f.get("address");
    check(l.address().equals(address == null || address.isNull() ? "0.0.0.0" : address.scalar()),
        what + "address " + l.address(), yaml, p);
    Value hops = f.get("trustedHops");
    check(l.trustedHops() == (hops == null || hops.isNull() ? 0 : Integer.parseInt(hops.scalar())),
        what + "trustedHops " + l.trustedHops(), yaml, p);
    Value log = f.get("accessLog");
    check(l.accessLog() == (log == null || log.isNull() || log.scalar().equals("true")),
        what + "accessLog " + l.accessLog(), yaml, p);
    Value scoping = f.get("routeScoping");
    check(l.routeScoping() == (scoping == null || scoping.isNull() ? RouteScoping.NONE
        : RouteScoping.parse(scoping.scalar()).orElseThrow()), what + "routeScoping " + l.routeScoping(), yaml, p);
    Value clusters = f.get("nodeClusters");
    List<String> expectedClusters = clusters == null || clusters.isNull() ? List.of()
        : clusters.list().stream().sorted().distinct().toList();
    check(l.nodeClusters().equals(expectedClusters), what + "nodeClusters " + l.nodeClusters(), yaml, p);
    Value tls = f.get("tls");
    check(l.tls().equals(tls == null || tls.isNull() ? Optional.empty() : expectedTls(tls)), what + "tls " + l.tls(),
        yaml, p);
  }

  /** A port as Integer.parseInt reads it: leading '+' and zeros dropped (any Unicode digits are kept as is). */
  private static String stripNumber(String text) {
    try {
      return String.valueOf(Integer.parseInt(text));
    } catch (NumberFormatException e) {
      return text;
    }
  }

  /** The file: the listeners, a route per line with {@code @hosts}, route r0 on edge, and the backend they use. */
  static String yaml(List<Line> lines) {
    StringBuilder y = new StringBuilder("# generated by ListenersFuzzTest\n");
    if (lines.isEmpty()) {
      y.append("listeners: []\n");
    } else {
      y.append("listeners:\n");
      for (Line line : lines) {
        if (line.fields().isEmpty()) {
          y.append("  - {}\n");
          continue;
        }
        String indent = "  - ";
        for (Map.Entry<String, Value> e : line.fields().entrySet()) {
          y.append(indent).append(quote(e.getKey())).append(": ").append(e.getValue().yaml()).append('\n');
          indent = "    ";
        }
      }
    }
    y.append("routes:\n  - name: r0\n    hosts: [\"chat.example.com\"]\n    stable: b\n");
    for (int i = 0; i < lines.size(); i++) {
      Line line = lines.get(i);
      if (line.hosts().isEmpty()) {
        continue;
      }
      y.append("  - name: r").append(i + 1).append("\n    hosts: [");
      String[] hosts = line.hosts().get().split(",", -1);
      for (int h = 0; h < hosts.length; h++) {
        y.append(h == 0 ? "" : ", ").append(quote(hosts[h]));
      }
      y.append("]\n    stable: b\n");
      line.name().ifPresent(n -> y.append("    listener: ").append(quote(n)).append('\n'));
    }
    y.append("backends:\n  - name: b\n    endpoints: [\"127.0.0.1:9001\"]\n");
    return y.toString();
  }

  /** A YAML double-quoted scalar holding exactly {@code s}. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20 || c >= 0x7f && c <= 0x9f || c >= 0xd800 && c <= 0xdfff || c == 0xfeff || c >= 0xfffe) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  static void check(boolean ok, String what, String yaml, ParsedConfig p) {
    if (!ok) {
      List<String> errors = p.errors().stream().map(ConfigError::message).toList();
      throw new AssertionError(what + "\n--- file:\n" + yaml + "--- errors: " + errors + "\n--- listeners: "
          + p.listeners());
    }
  }
}
