package dev.ebb.it.rules;

import com.google.protobuf.Any;
import com.google.protobuf.Api;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.OneofOptions;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.DoubleValue;
import com.google.protobuf.Duration;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Empty;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.FieldMask;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.SourceContext;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Type;
import com.google.protobuf.TypeRegistry;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.DurationRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import io.envoyproxy.pgv.validate.Validate.KnownRegex;
import io.envoyproxy.pgv.validate.Validate.MapRules;
import io.envoyproxy.pgv.validate.Validate.RepeatedRules;
import io.envoyproxy.pgv.validate.Validate.StringRules;
import io.envoyproxy.pgv.validate.Validate.TimestampRules;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Test-only stand-in for the protoc-gen-validate (PGV) checks Envoy runs on every resource it
 * receives.
 *
 * <p>The rules are read at run time from the {@code (validate.rules)}, {@code (validate.required)},
 * {@code (validate.disabled)} and {@code (validate.ignored)} options that the generated Envoy
 * descriptors carry, and are evaluated with the semantics of PGV's C++ templates (the code Envoy
 * links), written independently here:
 *
 * <ul>
 *   <li>proto3 scalars are checked even at their default value; fields with explicit presence
 *       (oneof members, proto3 {@code optional}, messages) only when set, except for the
 *       {@code required} rules;
 *   <li>{@code pattern} and {@code well_known_regex} must match the <em>whole</em> value
 *       ({@code RE2::FullMatch});
 *   <li>{@code in} wins over {@code not_in} when both are present;
 *   <li>an upper bound not above the lower bound (e.g. {@code gt: 10, lt: 5}) allows only values
 *       outside the range; comparisons against NaN are false, so NaN passes bound rules (as in
 *       C++) but fails {@code const}/{@code in};
 *   <li>{@code hostname}/{@code address}: C++ {@code pgv::IsHostname} (the empty string passes,
 *       a trailing dot is accepted); {@code ip}/{@code ipv4}/{@code ipv6}: {@code inet_pton}
 *       rules, parsed here without DNS.
 * </ul>
 *
 * <p>Beyond PGV, and like Envoy when it instantiates extensions, {@code google.protobuf.Any}
 * values are unpacked through {@link #typeRegistry()} and validated recursively; an {@code Any}
 * whose type is not in the registry is a violation. {@code google.protobuf.Struct} values are not
 * descended into.
 *
 * <p>Not checkable or approximated: {@code map.no_sparse} (Java maps cannot hold a missing
 * value, and PGV's C++ also leaves it unimplemented); {@code string.email}, {@code uri},
 * {@code uri_ref}, {@code bytes.ip*} and timestamp comparisons are unimplemented in PGV's C++ (a
 * generated validator would throw) and are checked here with Go PGV's meaning, approximated by
 * {@link java.net.URI}; none of those is used by Envoy's protos. Patterns are RE2 and are run with
 * {@link java.util.regex} after rewriting {@code (?P<name>} and POSIX {@code [:class:]}.
 *
 * <p>A {@link Violation} names the field by path, e.g.
 * {@code filter_chains[0].filters[0].typed_config<envoy...HttpConnectionManager>.http_filters[0].name}
 * ({@code <type>} after a field marks the unpacked content of an {@code Any}; map entries read
 * {@code typed_extension_protocol_options["key"]}), and the rule by its place in {@code
 * FieldRules}: {@code string.min_len}, {@code repeated.items.string.in}, {@code
 * map.keys.string.min_len}, plus {@code oneof.required} for {@code (validate.required)},
 * {@code duration.valid}/{@code timestamp.valid} for out-of-range values, and the non-PGV
 * {@code any.unknown_type}/{@code any.unparsable} for content that cannot be unpacked.
 */
public final class ProtoRules {

  private ProtoRules() {}

  /** One broken rule. {@code path} is empty for the resource itself. */
  public record Violation(String resource, String path, String rule, String detail) {
    @Override
    public String toString() {
      return resource + ": " + (path.isEmpty() ? "<root>" : path) + ": " + rule + " (" + detail + ")";
    }
  }

  /** Checks {@code m} and every message nested in it (including packed {@code Any} values). */
  public static List<Violation> check(String resourceName, Message m) {
    Walker w = new Walker(resourceName);
    if (isAny(m.getDescriptorForType())) {
      w.unpackAny("", m, true);
    } else {
      w.message("", m);
    }
    return List.copyOf(w.out);
  }

  /**
   * Unpacks {@code any} through {@link #typeRegistry()} and checks the result; paths are relative
   * to the unpacked message. An unknown or unparsable type is reported on the root path.
   */
  public static List<Violation> checkAny(String resourceName, Any any) {
    Walker w = new Walker(resourceName);
    w.unpackAny("", any, true);
    return List.copyOf(w.out);
  }

  /** Throws an {@link AssertionError} listing every violation, if there is any. */
  public static void assertValid(String resourceName, Message m) {
    throwIfAny(resourceName, check(resourceName, m));
  }

  /** {@link #assertValid} for a packed resource. */
  public static void assertValidAny(String resourceName, Any any) {
    throwIfAny(resourceName, checkAny(resourceName, any));
  }

  private static void throwIfAny(String resourceName, List<Violation> violations) {
    if (!violations.isEmpty()) {
      throw new AssertionError(
          violations.size() + " PGV violation(s) in " + resourceName + ":\n  "
              + violations.stream().map(Violation::toString).collect(Collectors.joining("\n  ")));
    }
  }

  /**
   * Every message type of the Envoy api jar (the jar holding {@link Listener}), their imports and
   * the protobuf well-known types. Built once, on first use.
   */
  public static TypeRegistry typeRegistry() {
    return Types.INSTANCE.registry;
  }

  /** The message types in {@link #typeRegistry()} (map entry types excluded), sorted by name. */
  public static List<Descriptor> messageTypes() {
    return Types.INSTANCE.messages;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading the options

  private static final ExtensionRegistry PGV_EXTENSIONS;

  static {
    ExtensionRegistry r = ExtensionRegistry.newInstance();
    Validate.registerAllExtensions(r);
    PGV_EXTENSIONS = r.getUnmodifiable();
  }

  private static final int PGV_OPTION_NUMBER = 1071; // rules, disabled, required
  private static final int PGV_IGNORED_NUMBER = 1072;

  private static final Map<FieldDescriptor, Optional<FieldRules>> FIELD_RULES =
      new ConcurrentHashMap<>();
  private static final Map<Descriptor, Boolean> SKIPPED_TYPES = new ConcurrentHashMap<>();
  private static final Map<OneofDescriptor, Boolean> REQUIRED_ONEOFS = new ConcurrentHashMap<>();

  /**
   * The {@code (validate.rules)} of a field, or null. If the descriptor was built without the PGV
   * extension registered, the option sits in the unknown fields and is re-parsed.
   */
  static FieldRules rulesOf(FieldDescriptor f) {
    return FIELD_RULES.computeIfAbsent(f, fd -> {
      FieldOptions o = fd.getOptions();
      if (!o.hasExtension(Validate.rules)
          && o.getUnknownFields().hasField(PGV_OPTION_NUMBER)) {
        o = reparse(o, FieldOptions.parser());
      }
      return o.hasExtension(Validate.rules)
          ? Optional.of(o.getExtension(Validate.rules))
          : Optional.empty();
    }).orElse(null);
  }

  private static boolean skipsValidation(Descriptor d) {
    return SKIPPED_TYPES.computeIfAbsent(d, t -> {
      MessageOptions o = t.getOptions();
      if (o.getUnknownFields().hasField(PGV_OPTION_NUMBER)
          || o.getUnknownFields().hasField(PGV_IGNORED_NUMBER)) {
        o = reparse(o, MessageOptions.parser());
      }
      return o.getExtension(Validate.disabled) || o.getExtension(Validate.ignored)
          || NOT_DESCENDED.contains(t.getFullName());
    });
  }

  private static boolean isRequired(OneofDescriptor oneof) {
    return REQUIRED_ONEOFS.computeIfAbsent(oneof, od -> {
      OneofOptions o = od.getOptions();
      if (o.getUnknownFields().hasField(PGV_OPTION_NUMBER)) {
        o = reparse(o, OneofOptions.parser());
      }
      return o.getExtension(Validate.required);
    });
  }

  private static <T extends Message> T reparse(T options, com.google.protobuf.Parser<T> parser) {
    try {
      return parser.parseFrom(options.toByteString(), PGV_EXTENSIONS);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot re-read options " + options, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Well-known types

  private static final String ANY = "google.protobuf.Any";
  private static final String DURATION = "google.protobuf.Duration";
  private static final String TIMESTAMP = "google.protobuf.Timestamp";
  private static final Set<String> WRAPPERS = Set.of(
      "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
      "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
      "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue");
  /** Free-form JSON: never descended into. */
  private static final Set<String> NOT_DESCENDED = Set.of(
      "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue");

  private static boolean isAny(Descriptor d) {
    return d.getFullName().equals(ANY);
  }

  // ---------------------------------------------------------------------------------------------
  // Well-known string formats (PGV C++ semantics)

  /** PGV's HTTP_HEADER_NAME, verbatim: note that {@code +-.} is a range, so ',' is accepted. */
  private static final Pattern HEADER_NAME = Pattern.compile("^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$");
  /** PGV's HTTP_HEADER_VALUE: no control characters other than horizontal tab. */
  private static final Pattern HEADER_VALUE =
      Pattern.compile("^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$");
  /** PGV's non-strict form of both header regexes: no NUL, LF or CR. */
  private static final Pattern HEADER_STRING = Pattern.compile("^[^\\x00\\x0A\\x0D]*$");
  private static final Pattern UUID = Pattern.compile(
      "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");

  private static final Map<String, Pattern> PATTERNS = new ConcurrentHashMap<>();

  /** Compiles an RE2 pattern with java.util.regex; see {@link #re2ToJava}. */
  static Pattern re2(String re2) {
    return PATTERNS.computeIfAbsent(re2, p -> {
      try {
        // UNIX_LINES: like RE2, only '\n' is a line terminator ('.' excludes only '\n').
        return Pattern.compile(re2ToJava(p), Pattern.UNIX_LINES);
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("RE2 pattern not expressible in Java: " + p, e);
      }
    });
  }

  /** RE2's ASCII POSIX classes as Java escapes: {positive, negated}. */
  private static final Map<String, String[]> POSIX_CLASSES = Map.ofEntries(
      Map.entry("alnum", new String[] {"\\p{Alnum}", "\\P{Alnum}"}),
      Map.entry("alpha", new String[] {"\\p{Alpha}", "\\P{Alpha}"}),
      Map.entry("ascii", new String[] {"\\p{ASCII}", "\\P{ASCII}"}),
      Map.entry("blank", new String[] {"\\p{Blank}", "\\P{Blank}"}),
      Map.entry("cntrl", new String[] {"\\p{Cntrl}", "\\P{Cntrl}"}),
      Map.entry("digit", new String[] {"\\p{Digit}", "\\P{Digit}"}),
      Map.entry("graph", new String[] {"\\p{Graph}", "\\P{Graph}"}),
      Map.entry("lower", new String[] {"\\p{Lower}", "\\P{Lower}"}),
      Map.entry("print", new String[] {"\\p{Print}", "\\P{Print}"}),
      Map.entry("punct", new String[] {"\\p{Punct}", "\\P{Punct}"}),
      Map.entry("space", new String[] {"\\s", "\\S"}),
      Map.entry("upper", new String[] {"\\p{Upper}", "\\P{Upper}"}),
      Map.entry("word", new String[] {"\\w", "\\W"}),
      Map.entry("xdigit", new String[] {"\\p{XDigit}", "\\P{XDigit}"}));

  /**
   * The RE2 syntax Java reads differently: named groups {@code (?P<n>...)} and POSIX classes
   * {@code [[:alpha:]]} / {@code [[:^alpha:]]}. Everything else used in practice (classes,
   * escapes, {@code \pN}, repetition) reads the same; Java additionally accepts back-references
   * and look-around, which RE2 rejects.
   */
  static String re2ToJava(String p) {
    String s = p.replace("(?P<", "(?<");
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < s.length()) {
      if (s.startsWith("[:", i)) {
        int end = s.indexOf(":]", i + 2);
        if (end > 0) {
          String name = s.substring(i + 2, end);
          boolean negated = name.startsWith("^");
          String[] cls = POSIX_CLASSES.get(negated ? name.substring(1) : name);
          if (cls != null) {
            out.append(cls[negated ? 1 : 0]);
            i = end + 2;
            continue;
          }
        }
      }
      char c = s.charAt(i);
      out.append(c);
      if (c == '\\' && i + 1 < s.length()) {
        out.append(s.charAt(i + 1));
        i += 2;
      } else {
        i++;
      }
    }
    return out.toString();
  }

  /** {@code pgv::IsHostname}: labels of [A-Za-z0-9-], 1..63 long, no leading/trailing '-'. */
  static boolean isHostname(String s) {
    if (s.length() > 253) {
      return false;
    }
    if (s.isEmpty()) {
      return true; // std::sregex_token_iterator yields no part at all
    }
    List<String> parts = new ArrayList<>(List.of(s.split("\\.", -1)));
    if (parts.size() > 1 && parts.get(parts.size() - 1).isEmpty()) {
      parts.remove(parts.size() - 1); // an empty suffix after the last dot is not yielded
    }
    for (String part : parts) {
      if (part.isEmpty() || part.length() > 63
          || part.charAt(0) == '-' || part.charAt(part.length() - 1) == '-') {
        return false;
      }
      for (int i = 0; i < part.length(); i++) {
        char c = part.charAt(i);
        if (!(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9')
            && c != '-') {
          return false;
        }
      }
    }
    return true;
  }

  /** {@code inet_pton(AF_INET)}: four decimal octets, no leading zeros. */
  static boolean isIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String part : parts) {
      if (part.isEmpty() || part.length() > 3 || (part.length() > 1 && part.charAt(0) == '0')) {
        return false;
      }
      for (int i = 0; i < part.length(); i++) {
        if (part.charAt(i) < '0' || part.charAt(i) > '9') {
          return false;
        }
      }
      if (Integer.parseInt(part) > 255) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code inet_pton(AF_INET6)}: eight groups of 1-4 hex digits, one {@code ::} standing for at
   * least one group, optionally ending in a dotted IPv4 address; no brackets, no zone.
   */
  static boolean isIpv6(String s) {
    int dbl = s.indexOf("::");
    if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) {
      return false;
    }
    List<String> groups = new ArrayList<>();
    if (dbl >= 0) {
      String head = s.substring(0, dbl);
      String tail = s.substring(dbl + 2);
      if (!head.isEmpty()) {
        groups.addAll(List.of(head.split(":", -1)));
      }
      if (!tail.isEmpty()) {
        groups.addAll(List.of(tail.split(":", -1)));
      }
    } else {
      groups.addAll(List.of(s.split(":", -1)));
    }
    int count = 0;
    for (int i = 0; i < groups.size(); i++) {
      String g = groups.get(i);
      if (g.contains(".")) {
        if (i != groups.size() - 1 || !isIpv4(g)) {
          return false;
        }
        count += 2;
        continue;
      }
      if (g.isEmpty() || g.length() > 4) {
        return false;
      }
      for (int k = 0; k < g.length(); k++) {
        if (Character.digit(g.charAt(k), 16) < 0) {
          return false;
        }
      }
      count++;
    }
    return dbl >= 0 ? count <= 7 : count == 8;
  }

  static boolean isIp(String s) {
    return isIpv4(s) || isIpv6(s);
  }

  /** Go PGV's email check (C++ PGV leaves it unimplemented). */
  static boolean isEmail(String s) {
    if (s.length() > 254) {
      return false;
    }
    String addr = s;
    int lt = s.lastIndexOf('<');
    if (lt >= 0 && s.endsWith(">")) {
      addr = s.substring(lt + 1, s.length() - 1);
    }
    int at = addr.lastIndexOf('@');
    if (at <= 0 || at == addr.length() - 1) {
      return false;
    }
    String local = addr.substring(0, at);
    if (local.length() > 64 || !local.matches("[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
        || local.startsWith(".") || local.endsWith(".") || local.contains("..")) {
      return false;
    }
    String host = addr.substring(at + 1);
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    return !host.isEmpty() && isHostname(host);
  }

  /** Go PGV's uri / uri_ref, approximated with java.net.URI. */
  static boolean isUri(String s, boolean absolute) {
    try {
      java.net.URI u = new java.net.URI(s);
      return !absolute || u.isAbsolute();
    } catch (URISyntaxException e) {
      return false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The walk

  private static final class Walker {
    private final String resource;
    private final List<Violation> out = new ArrayList<>();

    Walker(String resource) {
      this.resource = resource;
    }

    private void add(String path, String rule, String detail) {
      out.add(new Violation(resource, path, rule, detail));
    }

    void message(String path, Message m) {
      Descriptor d = m.getDescriptorForType();
      if (skipsValidation(d)) {
        return;
      }
      for (FieldDescriptor f : d.getFields()) {
        FieldRules r = rulesOf(f);
        String fp = join(path, f.getName());
        if (f.getContainingOneof() != null && !m.hasField(f)) {
          continue; // oneof members (and proto3 optional fields) are only checked when set
        }
        if (f.isMapField()) {
          map(fp, m, f, r);
        } else if (f.isRepeated()) {
          repeated(fp, m, f, r);
        } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
          if (m.hasField(f)) {
            value(fp, f, m.getField(f), r, "");
          } else {
            required(fp, r, "");
          }
        } else if (!f.hasPresence() || m.hasField(f)) {
          // proto3 implicit presence: the default value is checked too
          value(fp, f, m.getField(f), r, "");
        }
      }
      for (OneofDescriptor o : d.getRealOneofs()) {
        if (isRequired(o) && !m.hasOneof(o)) {
          add(join(path, o.getName()), "oneof.required", "one of "
              + o.getFields().stream().map(FieldDescriptor::getName)
                  .collect(Collectors.joining(", ", "[", "]"))
              + " must be set");
        }
      }
    }

    /** Rules that fire on an unset message field. */
    private void required(String path, FieldRules r, String prefix) {
      if (r == null) {
        return;
      }
      if (r.getMessage().getRequired()) {
        add(path, prefix + "message.required", "value is required");
      }
      switch (r.getTypeCase()) {
        case ANY -> {
          if (r.getAny().getRequired()) {
            add(path, prefix + "any.required", "value is required");
          }
        }
        case DURATION -> {
          if (r.getDuration().getRequired()) {
            add(path, prefix + "duration.required", "value is required");
          }
        }
        case TIMESTAMP -> {
          if (r.getTimestamp().getRequired()) {
            add(path, prefix + "timestamp.required", "value is required");
          }
        }
        default -> { }
      }
    }

    private void repeated(String path, Message m, FieldDescriptor f, FieldRules r) {
      int n = m.getRepeatedFieldCount(f);
      RepeatedRules rr = r != null && r.hasRepeated() ? r.getRepeated() : null;
      FieldRules items = rr != null && rr.hasItems() ? rr.getItems() : null;
      if (rr != null) {
        if (rr.getIgnoreEmpty() && n == 0) {
          return;
        }
        if (Long.compareUnsigned(n, rr.getMinItems()) < 0) {
          add(path, "repeated.min_items",
              "must contain at least " + Long.toUnsignedString(rr.getMinItems()) + " item(s), has " + n);
        }
        if (rr.hasMaxItems() && Long.compareUnsigned(n, rr.getMaxItems()) > 0) {
          add(path, "repeated.max_items",
              "must contain at most " + Long.toUnsignedString(rr.getMaxItems()) + " item(s), has " + n);
        }
      }
      boolean unique = rr != null && rr.getUnique();
      Set<Object> seen = unique ? new HashSet<>() : null;
      for (int i = 0; i < n; i++) {
        Object v = m.getRepeatedField(f, i);
        String ip = path + "[" + i + "]";
        if (unique && !seen.add(uniqueKey(v))) {
          add(ip, "repeated.unique", "repeated value must contain unique items; "
              + show(v) + " repeats");
        }
        value(ip, f, v, items, "repeated.items.");
      }
    }

    private void map(String path, Message m, FieldDescriptor f, FieldRules r) {
      int n = m.getRepeatedFieldCount(f);
      MapRules mr = r != null && r.hasMap() ? r.getMap() : null;
      FieldDescriptor keyField = f.getMessageType().findFieldByNumber(1);
      FieldDescriptor valueField = f.getMessageType().findFieldByNumber(2);
      if (mr != null) {
        if (mr.getIgnoreEmpty() && n == 0) {
          return;
        }
        if (Long.compareUnsigned(n, mr.getMinPairs()) < 0) {
          add(path, "map.min_pairs",
              "must contain at least " + Long.toUnsignedString(mr.getMinPairs()) + " pair(s), has " + n);
        }
        if (mr.hasMaxPairs() && Long.compareUnsigned(n, mr.getMaxPairs()) > 0) {
          add(path, "map.max_pairs",
              "must contain at most " + Long.toUnsignedString(mr.getMaxPairs()) + " pair(s), has " + n);
        }
        // no_sparse: a parsed Java map always has a value for every key; nothing to check.
      }
      FieldRules keys = mr != null && mr.hasKeys() ? mr.getKeys() : null;
      FieldRules values = mr != null && mr.hasValues() ? mr.getValues() : null;
      for (int i = 0; i < n; i++) {
        Message entry = (Message) m.getRepeatedField(f, i);
        Object key = entry.getField(keyField);
        String ep = path + "[" + (key instanceof String s ? quote(s) : String.valueOf(key)) + "]";
        value(ep, keyField, key, keys, "map.keys.");
        value(ep, valueField, entry.getField(valueField), values, "map.values.");
      }
    }

    /** Checks one present value (a singular field, a list item, a map key or value). */
    private void value(String path, FieldDescriptor f, Object v, FieldRules r, String prefix) {
      if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        messageValue(path, (Message) v, r, prefix);
      } else if (r != null) {
        scalar(path, f, v, r, prefix);
      }
    }

    private void messageValue(String path, Message v, FieldRules r, String prefix) {
      Descriptor d = v.getDescriptorForType();
      String type = d.getFullName();
      FieldRules.TypeCase tc = r == null ? FieldRules.TypeCase.TYPE_NOT_SET : r.getTypeCase();
      boolean skip = r != null && r.getMessage().getSkip();
      if (WRAPPERS.contains(type) && isScalarRule(tc)) {
        FieldDescriptor inner = d.findFieldByName("value");
        scalar(path, inner, v.getField(inner), r, prefix);
      } else if (type.equals(ANY)) {
        if (tc == FieldRules.TypeCase.ANY) {
          anyRules(path, v, r.getAny(), prefix);
        }
        if (!skip) {
          unpackAny(path, v, false);
        }
      } else if (type.equals(DURATION)) {
        if (tc == FieldRules.TypeCase.DURATION) {
          duration(path, v, r.getDuration(), prefix);
        }
      } else if (type.equals(TIMESTAMP)) {
        if (tc == FieldRules.TypeCase.TIMESTAMP) {
          timestamp(path, v, r.getTimestamp(), prefix);
        }
      } else if (!skip) {
        message(path, v);
      }
    }

    /**
     * Unpacks an Any (generated or dynamic) through the registry and walks the content, whose
     * paths continue as {@code path<full.type.Name>}, or unchanged for a root resource.
     */
    void unpackAny(String path, Message any, boolean root) {
      Descriptor ad = any.getDescriptorForType();
      String url = (String) any.getField(ad.findFieldByName("type_url"));
      ByteString bytes = (ByteString) any.getField(ad.findFieldByName("value"));
      Descriptor type = lookup(url);
      if (type == null) {
        add(path, "any.unknown_type",
            "type URL " + quote(url) + " is not in the type registry");
        return;
      }
      Message content;
      try {
        content = DynamicMessage.parseFrom(type, bytes);
      } catch (InvalidProtocolBufferException e) {
        add(path, "any.unparsable", "cannot parse as " + type.getFullName() + ": " + e.getMessage());
        return;
      }
      message(root ? path : path + "<" + type.getFullName() + ">", content);
    }

    private void anyRules(String path, Message any, Validate.AnyRules r, String prefix) {
      String url = (String) any.getField(any.getDescriptorForType().findFieldByName("type_url"));
      if (r.getInCount() > 0) {
        if (!r.getInList().contains(url)) {
          add(path, prefix + "any.in", "type URL " + quote(url) + " must be in " + r.getInList());
        }
      } else if (r.getNotInList().contains(url)) {
        add(path, prefix + "any.not_in", "type URL " + quote(url) + " must not be in " + r.getNotInList());
      }
    }

    // --- scalars ---------------------------------------------------------------------------

    private void scalar(String path, FieldDescriptor f, Object v, FieldRules r, String prefix) {
      switch (r.getTypeCase()) {
        case STRING -> {
          if (v instanceof String s) {
            string(path, s, r.getString(), prefix);
          }
        }
        case BYTES -> {
          if (v instanceof ByteString b) {
            bytes(path, b, r.getBytes(), prefix);
          }
        }
        case BOOL -> {
          if (v instanceof Boolean b && r.getBool().hasConst() && b != r.getBool().getConst()) {
            add(path, prefix + "bool.const", "value must equal " + r.getBool().getConst());
          }
        }
        case ENUM -> {
          if (v instanceof EnumValueDescriptor e) {
            enumRules(path, f, e.getNumber(), r.getEnum(), prefix);
          }
        }
        case FLOAT, DOUBLE, INT32, INT64, UINT32, UINT64, SINT32, SINT64, FIXED32, FIXED64,
            SFIXED32, SFIXED64 -> {
          if (v instanceof Number num) {
            numeric(path, num, r, prefix);
          }
        }
        default -> { }
      }
    }

    private void string(String path, String s, StringRules r, String prefix) {
      String p = prefix + "string.";
      if (r.getIgnoreEmpty() && s.isEmpty()) {
        return;
      }
      if (r.hasConst() && !s.equals(r.getConst())) {
        add(path, p + "const", "value must equal " + quote(r.getConst()) + ", is " + quote(s));
      }
      if (r.getInCount() > 0) {
        if (!r.getInList().contains(s)) {
          add(path, p + "in", quote(s) + " must be in " + r.getInList());
        }
      } else if (r.getNotInList().contains(s)) {
        add(path, p + "not_in", quote(s) + " must not be in " + r.getNotInList());
      }
      long chars = s.codePointCount(0, s.length());
      if (r.hasLen()) {
        if (chars != r.getLen()) {
          add(path, p + "len", "value must be " + r.getLen() + " characters, has " + chars);
        }
      } else {
        if (r.hasMinLen() && chars < r.getMinLen()) {
          add(path, p + "min_len", "length must be at least " + r.getMinLen()
              + " characters, is " + chars);
        }
        if (r.hasMaxLen() && chars > r.getMaxLen()) {
          add(path, p + "max_len", "length must be at most " + r.getMaxLen()
              + " characters, is " + chars);
        }
      }
      long bytes = s.getBytes(StandardCharsets.UTF_8).length;
      if (r.hasLenBytes()) {
        if (bytes != r.getLenBytes()) {
          add(path, p + "len_bytes", "length must be " + r.getLenBytes() + " bytes, is " + bytes);
        }
      } else {
        if (r.hasMinBytes() && bytes < r.getMinBytes()) {
          add(path, p + "min_bytes", "length must be at least " + r.getMinBytes()
              + " bytes, is " + bytes);
        }
        if (r.hasMaxBytes() && bytes > r.getMaxBytes()) {
          add(path, p + "max_bytes", "length must be at most " + r.getMaxBytes()
              + " bytes, is " + bytes);
        }
      }
      if (r.hasPrefix() && !s.startsWith(r.getPrefix())) {
        add(path, p + "prefix", quote(s) + " does not have prefix " + quote(r.getPrefix()));
      }
      if (r.hasSuffix() && !s.endsWith(r.getSuffix())) {
        add(path, p + "suffix", quote(s) + " does not have suffix " + quote(r.getSuffix()));
      }
      if (r.hasContains() && !s.contains(r.getContains())) {
        add(path, p + "contains", quote(s) + " does not contain " + quote(r.getContains()));
      }
      if (r.hasNotContains() && s.contains(r.getNotContains())) {
        add(path, p + "not_contains", quote(s) + " contains " + quote(r.getNotContains()));
      }
      if (r.hasPattern() && !re2(r.getPattern()).matcher(s).matches()) {
        add(path, p + "pattern", quote(s) + " does not match regex " + quote(r.getPattern()));
      }
      switch (r.getWellKnownCase()) {
        case WELL_KNOWN_REGEX -> {
          KnownRegex k = r.getWellKnownRegex();
          if (k == KnownRegex.HTTP_HEADER_NAME || k == KnownRegex.HTTP_HEADER_VALUE) {
            boolean strict = r.getStrict(); // defaults to true
            Pattern re = !strict ? HEADER_STRING
                : k == KnownRegex.HTTP_HEADER_NAME ? HEADER_NAME : HEADER_VALUE;
            if (!re.matcher(s).matches()) {
              add(path, p + "well_known_regex", quote(s) + " is not a valid "
                  + (strict ? "" : "non-strict ") + k + " (" + re.pattern() + ")");
            }
          }
        }
        case IP -> flag(r.getIp() && !isIp(s), path, p + "ip", s, "an IP address");
        case IPV4 -> flag(r.getIpv4() && !isIpv4(s), path, p + "ipv4", s, "an IPv4 address");
        case IPV6 -> flag(r.getIpv6() && !isIpv6(s), path, p + "ipv6", s, "an IPv6 address");
        case EMAIL -> flag(r.getEmail() && !isEmail(s), path, p + "email", s, "an email address");
        case ADDRESS -> flag(r.getAddress() && !isHostname(s) && !isIp(s), path, p + "address",
            s, "an IP address or a hostname");
        case HOSTNAME -> flag(r.getHostname() && !isHostname(s), path, p + "hostname", s,
            "a hostname");
        case URI -> flag(r.getUri() && !isUri(s, true), path, p + "uri", s, "an absolute URI");
        case URI_REF -> flag(r.getUriRef() && !isUri(s, false), path, p + "uri_ref", s, "a URI");
        case UUID -> flag(r.getUuid() && !UUID.matcher(s).matches(), path, p + "uuid", s, "a UUID");
        default -> { }
      }
    }

    private void flag(boolean violated, String path, String rule, String s, String what) {
      if (violated) {
        add(path, rule, quote(s) + " must be " + what);
      }
    }

    private void bytes(String path, ByteString b, Validate.BytesRules r, String prefix) {
      String p = prefix + "bytes.";
      if (r.getIgnoreEmpty() && b.isEmpty()) {
        return;
      }
      if (r.hasConst() && !b.equals(r.getConst())) {
        add(path, p + "const", "value must equal " + show(r.getConst()));
      }
      if (r.getInCount() > 0) {
        if (!r.getInList().contains(b)) {
          add(path, p + "in", show(b) + " must be in the list");
        }
      } else if (r.getNotInList().contains(b)) {
        add(path, p + "not_in", show(b) + " must not be in the list");
      }
      int n = b.size();
      if (r.hasLen()) {
        if (n != r.getLen()) {
          add(path, p + "len", "length must be " + r.getLen() + " bytes, is " + n);
        }
      } else {
        if (r.hasMinLen() && n < r.getMinLen()) {
          add(path, p + "min_len", "length must be at least " + r.getMinLen() + " bytes, is " + n);
        }
        if (r.hasMaxLen() && n > r.getMaxLen()) {
          add(path, p + "max_len", "length must be at most " + r.getMaxLen() + " bytes, is " + n);
        }
      }
      if (r.hasPrefix() && !b.startsWith(r.getPrefix())) {
        add(path, p + "prefix", show(b) + " does not have prefix " + show(r.getPrefix()));
      }
      if (r.hasSuffix() && !b.endsWith(r.getSuffix())) {
        add(path, p + "suffix", show(b) + " does not have suffix " + show(r.getSuffix()));
      }
      if (r.hasContains() && indexOf(b, r.getContains()) < 0) {
        add(path, p + "contains", show(b) + " does not contain " + show(r.getContains()));
      }
      if (r.hasPattern()
          && !re2(r.getPattern()).matcher(b.toString(StandardCharsets.UTF_8)).matches()) {
        add(path, p + "pattern", show(b) + " does not match regex " + quote(r.getPattern()));
      }
      // Go PGV semantics of net.IP: 4 or 16 bytes; IPv4 also as an IPv4-mapped IPv6 address.
      boolean mapped = n == 16 && b.startsWith(ByteString.copyFrom(
          new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff}));
      switch (r.getWellKnownCase()) {
        case IP -> {
          if (r.getIp() && n != 4 && n != 16) {
            add(path, p + "ip", "value must be a 4 or 16 byte IP address, has " + n + " bytes");
          }
        }
        case IPV4 -> {
          if (r.getIpv4() && n != 4 && !mapped) {
            add(path, p + "ipv4", "value must be a 4 byte IPv4 address, has " + n + " bytes");
          }
        }
        case IPV6 -> {
          if (r.getIpv6() && (n != 16 || mapped)) {
            add(path, p + "ipv6", "value must be a 16 byte IPv6 address, has " + n + " bytes");
          }
        }
        default -> { }
      }
    }

    private void enumRules(String path, FieldDescriptor f, int n, Validate.EnumRules r,
        String prefix) {
      String p = prefix + "enum.";
      if (r.hasConst() && n != r.getConst()) {
        add(path, p + "const", "value must equal " + r.getConst() + ", is " + n);
      }
      if (r.getInCount() > 0) {
        if (!r.getInList().contains(n)) {
          add(path, p + "in", n + " must be in " + r.getInList());
        }
      } else if (r.getNotInList().contains(n)) {
        add(path, p + "not_in", n + " must not be in " + r.getNotInList());
      }
      if (r.getDefinedOnly() && f.getEnumType().findValueByNumber(n) == null) {
        add(path, p + "defined_only", n + " is not a defined value of "
            + f.getEnumType().getFullName());
      }
    }

    /** All numeric rule messages share the field names const/lt/lte/gt/gte/in/not_in. */
    private void numeric(String path, Number v, FieldRules r, String prefix) {
      FieldDescriptor which = FieldRules.getDescriptor().findFieldByNumber(r.getTypeCase().getNumber());
      Message rm = (Message) r.getField(which);
      Descriptor rd = rm.getDescriptorForType();
      String kind = which.getName();
      String p = prefix + kind + ".";
      boolean unsigned = kind.equals("uint32") || kind.equals("uint64")
          || kind.equals("fixed32") || kind.equals("fixed64");
      if ((Boolean) rm.getField(rd.findFieldByName("ignore_empty")) && isZero(v)) {
        return;
      }
      Num num = new Num(v, unsigned);
      Number cnst = opt(rm, "const");
      if (cnst != null && !num.eq(cnst)) {
        add(path, p + "const", "value must equal " + show(cnst, unsigned) + ", is " + num);
      }
      Number lt = opt(rm, "lt");
      Number lte = opt(rm, "lte");
      Number gt = opt(rm, "gt");
      Number gte = opt(rm, "gte");
      Number upper = lt != null ? lt : lte;
      Number lower = gt != null ? gt : gte;
      String upperName = lt != null ? "lt" : "lte";
      String lowerName = gt != null ? "gt" : "gte";
      boolean tooHigh = upper != null && (lt != null ? num.ge(lt) : num.gt(lte));
      boolean tooLow = lower != null && (gt != null ? num.le(gt) : num.lt(gte));
      if (upper != null && lower != null && new Num(upper, unsigned).le(lower)) {
        // upper <= lower: the allowed values lie outside [upper, lower]
        if (tooLow && tooHigh) {
          add(path, p + upperName + "," + lowerName, "value " + num + " must be outside range "
              + (lt != null ? "[" : "(") + show(upper, unsigned) + ", " + show(lower, unsigned)
              + (gt != null ? "]" : ")"));
        }
      } else {
        if (tooHigh) {
          add(path, p + upperName, "value " + num + " must be "
              + (lt != null ? "less than " : "less than or equal to ") + show(upper, unsigned));
        }
        if (tooLow) {
          add(path, p + lowerName, "value " + num + " must be "
              + (gt != null ? "greater than " : "greater than or equal to ") + show(lower, unsigned));
        }
      }
      List<?> in = (List<?>) rm.getField(rd.findFieldByName("in"));
      List<?> notIn = (List<?>) rm.getField(rd.findFieldByName("not_in"));
      if (!in.isEmpty()) {
        if (in.stream().noneMatch(x -> num.eq((Number) x))) {
          add(path, p + "in", num + " must be in " + in);
        }
      } else if (notIn.stream().anyMatch(x -> num.eq((Number) x))) {
        add(path, p + "not_in", num + " must not be in " + notIn);
      }
    }

    // --- Duration / Timestamp ---------------------------------------------------------------

    private void duration(String path, Message v, DurationRules r, String prefix) {
      String p = prefix + "duration.";
      if (!(r.hasConst() || r.hasLt() || r.hasLte() || r.hasGt() || r.hasGte()
          || r.getInCount() > 0 || r.getNotInCount() > 0)) {
        return;
      }
      Duration d = v instanceof Duration dd ? dd : Duration.newBuilder().mergeFrom(v).build();
      if (d.getNanos() > 999_999_999 || d.getNanos() < -999_999_999
          || d.getSeconds() > 315_576_000_000L || d.getSeconds() < -315_576_000_000L) {
        add(path, p + "valid", show(d) + " is not a valid duration");
        return;
      }
      if (r.hasConst() && cmp(d, r.getConst()) != 0) {
        add(path, p + "const", "value must equal " + show(r.getConst()) + ", is " + show(d));
      }
      Duration upper = r.hasLt() ? r.getLt() : r.hasLte() ? r.getLte() : null;
      Duration lower = r.hasGt() ? r.getGt() : r.hasGte() ? r.getGte() : null;
      boolean tooHigh = upper != null && (r.hasLt() ? cmp(d, upper) >= 0 : cmp(d, upper) > 0);
      boolean tooLow = lower != null && (r.hasGt() ? cmp(d, lower) <= 0 : cmp(d, lower) < 0);
      String upperName = r.hasLt() ? "lt" : "lte";
      String lowerName = r.hasGt() ? "gt" : "gte";
      if (upper != null && lower != null && cmp(upper, lower) <= 0) {
        if (tooHigh && tooLow) {
          add(path, p + upperName + "," + lowerName, show(d) + " must be outside range "
              + show(upper) + " .. " + show(lower));
        }
      } else {
        if (tooHigh) {
          add(path, p + upperName, show(d) + " must be "
              + (r.hasLt() ? "less than " : "at most ") + show(upper));
        }
        if (tooLow) {
          add(path, p + lowerName, show(d) + " must be "
              + (r.hasGt() ? "greater than " : "at least ") + show(lower));
        }
      }
      if (r.getInCount() > 0) {
        if (r.getInList().stream().noneMatch(x -> cmp(d, x) == 0)) {
          add(path, p + "in", show(d) + " must be in the list");
        }
      } else if (r.getNotInList().stream().anyMatch(x -> cmp(d, x) == 0)) {
        add(path, p + "not_in", show(d) + " must not be in the list");
      }
    }

    private void timestamp(String path, Message v, TimestampRules r, String prefix) {
      String p = prefix + "timestamp.";
      if (!(r.hasConst() || r.hasLt() || r.hasLte() || r.hasGt() || r.hasGte()
          || r.getLtNow() || r.getGtNow() || r.hasWithin())) {
        return;
      }
      Timestamp t = v instanceof Timestamp tt ? tt : Timestamp.newBuilder().mergeFrom(v).build();
      if (t.getSeconds() < -62_135_596_800L || t.getSeconds() > 253_402_300_799L
          || t.getNanos() < 0 || t.getNanos() > 999_999_999) {
        add(path, p + "valid", t + " is not a valid timestamp");
        return;
      }
      Instant ts = instant(t);
      Instant now = Instant.now();
      if (r.hasConst() && !ts.equals(instant(r.getConst()))) {
        add(path, p + "const", ts + " must equal " + instant(r.getConst()));
      }
      Instant upper = r.hasLt() ? instant(r.getLt()) : r.hasLte() ? instant(r.getLte()) : null;
      Instant lower = r.hasGt() ? instant(r.getGt()) : r.hasGte() ? instant(r.getGte()) : null;
      boolean tooHigh = upper != null && (r.hasLt() ? !ts.isBefore(upper) : ts.isAfter(upper));
      boolean tooLow = lower != null && (r.hasGt() ? !ts.isAfter(lower) : ts.isBefore(lower));
      String upperName = r.hasLt() ? "lt" : "lte";
      String lowerName = r.hasGt() ? "gt" : "gte";
      if (upper != null && lower != null && !upper.isAfter(lower)) {
        if (tooHigh && tooLow) {
          add(path, p + upperName + "," + lowerName, ts + " must be outside range " + upper
              + " .. " + lower);
        }
      } else if (upper != null || lower != null) {
        if (tooHigh) {
          add(path, p + upperName, ts + " must be before " + (r.hasLte() ? "or at " : "") + upper);
        }
        if (tooLow) {
          add(path, p + lowerName, ts + " must be after " + (r.hasGte() ? "or at " : "") + lower);
        }
      } else {
        java.time.Duration within = r.hasWithin()
            ? java.time.Duration.ofSeconds(r.getWithin().getSeconds(), r.getWithin().getNanos())
            : null;
        if (r.getLtNow()) {
          if (!ts.isBefore(now) || (within != null && ts.isBefore(now.minus(within)))) {
            add(path, p + "lt_now", ts + " must be before now"
                + (within != null ? " within " + within : ""));
          }
        } else if (r.getGtNow()) {
          if (!ts.isAfter(now) || (within != null && ts.isAfter(now.plus(within)))) {
            add(path, p + "gt_now", ts + " must be after now"
                + (within != null ? " within " + within : ""));
          }
        } else if (within != null
            && (!ts.isBefore(now.plus(within)) || !ts.isAfter(now.minus(within)))) {
          add(path, p + "within", ts + " must be within " + within + " of now");
        }
      }
    }

    private Descriptor lookup(String url) {
      try {
        return typeRegistry().getDescriptorForTypeUrl(url);
      } catch (InvalidProtocolBufferException e) {
        return null; // not of the form prefix/full.name
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private static boolean isScalarRule(FieldRules.TypeCase tc) {
    return switch (tc) {
      case REPEATED, MAP, ANY, DURATION, TIMESTAMP, TYPE_NOT_SET -> false;
      default -> true;
    };
  }

  /** A numeric value compared the way C++ compares it (NaN compares false). */
  private record Num(Number v, boolean unsigned) {
    Integer cmp(Number o) {
      if (v instanceof Float || v instanceof Double || o instanceof Float || o instanceof Double) {
        double a = v.doubleValue();
        double b = o.doubleValue();
        return a < b ? Integer.valueOf(-1) : a > b ? Integer.valueOf(1) : a == b ? Integer.valueOf(0) : null;
      }
      long a = asLong(v);
      long b = asLong(o);
      return unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b);
    }

    private long asLong(Number n) {
      return n instanceof Integer i && unsigned ? Integer.toUnsignedLong(i) : n.longValue();
    }

    boolean eq(Number o) {
      Integer c = cmp(o);
      return c != null && c == 0;
    }

    boolean lt(Number o) {
      Integer c = cmp(o);
      return c != null && c < 0;
    }

    boolean le(Number o) {
      Integer c = cmp(o);
      return c != null && c <= 0;
    }

    boolean gt(Number o) {
      Integer c = cmp(o);
      return c != null && c > 0;
    }

    boolean ge(Number o) {
      Integer c = cmp(o);
      return c != null && c >= 0;
    }

    @Override
    public String toString() {
      return show(v, unsigned);
    }
  }

  private static Number opt(Message rules, String name) {
    FieldDescriptor f = rules.getDescriptorForType().findFieldByName(name);
    return rules.hasField(f) ? (Number) rules.getField(f) : null;
  }

  private static boolean isZero(Number v) {
    return v instanceof Float || v instanceof Double ? v.doubleValue() == 0 : v.longValue() == 0;
  }

  private static String show(Number n, boolean unsigned) {
    if (unsigned && n instanceof Integer i) {
      return Integer.toUnsignedString(i);
    }
    if (unsigned && n instanceof Long l) {
      return Long.toUnsignedString(l);
    }
    return String.valueOf(n);
  }

  private static int cmp(Duration a, Duration b) {
    int c = Long.compare(a.getSeconds(), b.getSeconds());
    return c != 0 ? c : Integer.compare(a.getNanos(), b.getNanos());
  }

  private static String show(Duration d) {
    return java.math.BigDecimal.valueOf(d.getSeconds())
        .add(java.math.BigDecimal.valueOf(d.getNanos(), 9))
        .stripTrailingZeros().toPlainString() + "s";
  }

  private static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  private static Object uniqueKey(Object v) {
    if (v instanceof EnumValueDescriptor e) {
      return e.getNumber();
    }
    if (v instanceof Double d) {
      return d.isNaN() ? new Object() : Double.valueOf(d + 0.0d); // NaN != NaN; -0.0 == 0.0
    }
    if (v instanceof Float f) {
      return f.isNaN() ? new Object() : Float.valueOf(f + 0.0f);
    }
    return v;
  }

  private static int indexOf(ByteString hay, ByteString needle) {
    outer:
    for (int i = 0; i + needle.size() <= hay.size(); i++) {
      for (int k = 0; k < needle.size(); k++) {
        if (hay.byteAt(i + k) != needle.byteAt(k)) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String join(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    s.codePoints().forEach(c -> {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            b.append(String.format("\\x%02x", c));
          } else {
            b.appendCodePoint(c);
          }
        }
      }
    });
    return b.append('"').toString();
  }

  private static String show(Object v) {
    if (v instanceof String s) {
      return quote(s);
    }
    if (v instanceof ByteString b) {
      StringBuilder sb = new StringBuilder("0x");
      for (int i = 0; i < Math.min(b.size(), 32); i++) {
        sb.append(String.format("%02x", b.byteAt(i)));
      }
      return b.size() > 32 ? sb + "..." : sb.toString();
    }
    if (v instanceof EnumValueDescriptor e) {
      return e.getName() + "(" + e.getNumber() + ")";
    }
    if (v instanceof Message m) {
      return "{" + m.toString().replace('\n', ' ').trim() + "}";
    }
    return String.valueOf(v);
  }

  // ---------------------------------------------------------------------------------------------
  // The type registry

  private static final class Types {
    static final Types INSTANCE = new Types();

    final TypeRegistry registry;
    final List<Descriptor> messages;

    private Types() {
      Set<FileDescriptor> roots = new LinkedHashSet<>();
      // protobuf's well-known types
      for (Descriptor d : List.of(Any.getDescriptor(), Api.getDescriptor(),
          Duration.getDescriptor(), Empty.getDescriptor(), FieldMask.getDescriptor(),
          SourceContext.getDescriptor(), Struct.getDescriptor(), Timestamp.getDescriptor(),
          Type.getDescriptor(), DoubleValue.getDescriptor())) {
        roots.add(d.getFile());
      }
      roots.add(DescriptorProtos.getDescriptor());
      roots.addAll(scanApiJar());

      // every file and its imports
      Map<String, FileDescriptor> files = new LinkedHashMap<>();
      List<FileDescriptor> todo = new ArrayList<>(roots);
      while (!todo.isEmpty()) {
        FileDescriptor f = todo.remove(todo.size() - 1);
        if (files.putIfAbsent(f.getName(), f) == null) {
          todo.addAll(f.getDependencies());
        }
      }
      Map<String, Descriptor> all = new LinkedHashMap<>();
      TypeRegistry.Builder b = TypeRegistry.newBuilder();
      for (FileDescriptor f : files.values()) {
        b.add(f.getMessageTypes());
        collect(f.getMessageTypes(), all);
      }
      this.registry = b.build();
      List<Descriptor> sorted = new ArrayList<>(all.values());
      sorted.sort(Comparator.comparing(Descriptor::getFullName));
      this.messages = Collections.unmodifiableList(sorted);
    }

    private static void collect(List<Descriptor> types, Map<String, Descriptor> all) {
      for (Descriptor d : types) {
        if (!d.getOptions().getMapEntry()) {
          all.putIfAbsent(d.getFullName(), d);
        }
        collect(d.getNestedTypes(), all);
      }
    }

    /**
     * Loads (without initialising) every top-level class of the jar that holds {@link Listener}
     * and keeps those that are generated messages or generated file holders with a static
     * {@code getDescriptor()}. Nested message classes are covered by their file's descriptor.
     */
    private static Set<FileDescriptor> scanApiJar() {
      Path location;
      try {
        location = Path.of(Listener.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      } catch (URISyntaxException e) {
        throw new IllegalStateException(e);
      }
      List<String> classNames = new ArrayList<>();
      try {
        if (Files.isDirectory(location)) {
          try (Stream<Path> walk = Files.walk(location)) {
            walk.map(p -> location.relativize(p).toString().replace('\\', '/'))
                .forEach(classNames::add);
          }
        } else {
          try (JarFile jar = new JarFile(location.toFile())) {
            jar.stream().map(JarEntry::getName).forEach(classNames::add);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + location, e);
      }
      ClassLoader loader = Listener.class.getClassLoader();
      Set<FileDescriptor> files = new LinkedHashSet<>();
      for (String entry : classNames) {
        if (!entry.endsWith(".class") || entry.contains("$") || entry.endsWith("module-info.class")
            || entry.endsWith("package-info.class")) {
          continue;
        }
        String name = entry.substring(0, entry.length() - ".class".length()).replace('/', '.');
        try {
          Class<?> c = Class.forName(name, false, loader);
          if (c.isInterface() || c.isEnum()) {
            continue;
          }
          boolean message = Message.class.isAssignableFrom(c);
          Method m = c.getMethod("getDescriptor");
          if (!Modifier.isStatic(m.getModifiers())
              || !(message || m.getReturnType() == FileDescriptor.class)) {
            continue;
          }
          Object d = m.invoke(null);
          if (d instanceof Descriptor md) {
            files.add(md.getFile());
          } else if (d instanceof FileDescriptor fd) {
            files.add(fd);
          }
        } catch (LinkageError | ReflectiveOperationException e) {
          // not a generated type, or a class whose dependencies are not on the test classpath
        }
      }
      if (files.isEmpty()) {
        throw new IllegalStateException("no generated protobuf types found in " + location);
      }
      return files;
    }
  }
}
