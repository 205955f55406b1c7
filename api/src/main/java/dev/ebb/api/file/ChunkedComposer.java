package dev.ebb.api.file;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.reader.StreamReader;

/**
 * Composes the YAML of a block-style config file item by item, and reuses the node of every item whose text
 * (and line) did not change since the last read: an edit of one route re-composes that route, not the whole file.
 * The nodes carry the same marks (line, column) as a whole-file compose, so messages name the same places.
 *
 * <p>Only the plain shape is split: top-level keys at column 0, each a block sequence whose items start with
 * {@code - } at one indentation. Anything else (flow style at the top, anchors and aliases, directives, several
 * documents, tabs, an empty section) returns empty, and the caller composes the whole file as before; so does
 * any YAML error, so errors are reported exactly as before too.
 */
final class ChunkedComposer {
  /** A top-level key alone on its line; a comment after it needs a space before its '#' ("a:#b" is one key). */
  private static final Pattern TOP_KEY = Pattern.compile("([A-Za-z][A-Za-z0-9_]*):(?:[ \\r]*|[ \\r]+#.*)");
  private static final java.util.Set<String> KNOWN = java.util.Set.of("listeners", "routes", "backends");

  /** The last read's items by first line (with their last line and node), and its lines. */
  private Map<Integer, Item> items = new HashMap<>();
  private String[] itemLines = new String[0];

  private record Item(int to, Node node) {}

  /** The loader for items, made at the first one ({@link #itemYaml()}). */
  private Yaml itemYaml;
  private int reused;
  private int composed;
  private boolean lastReused;

  /** How many items the last compose took from the previous read, and how many it composed. */
  int reused() {
    return reused;
  }

  int composed() {
    return composed;
  }

  Optional<MappingNode> compose(String text) {
    if (text.indexOf('\t') >= 0 || text.startsWith("%") || text.contains("\n%") || text.contains("---")
        || text.contains("\n...") || hasAliasOrAnchor(text) || !plainLines(text)) {
      return Optional.empty();
    }
    String[] lines = text.split("\n", -1);
    List<NodeTuple> tuples = new ArrayList<>();
    Map<Integer, Item> next = new HashMap<>();
    int reusedNow = 0;
    int composedNow = 0;
    int i = 0;
    while (i < lines.length) {
      String line = lines[i];
      if (blankOrComment(line)) {
        i++;
        continue;
      }
      if (line.startsWith(" ") || line.startsWith("-")) {
        return Optional.empty(); // not a top-level key at column 0
      }
      var key = TOP_KEY.matcher(line);
      if (!key.matches()) {
        return Optional.empty(); // an inline value (flow style, a scalar): the whole-file compose handles it
      }
      i++;
      List<Node> sectionItems = new ArrayList<>();
      int indent = -1;
      int itemStart = -1;
      while (i <= lines.length) {
        boolean end = i == lines.length;
        String l = end ? "" : lines[i];
        boolean startsItem = false;
        if (!end && !blankOrComment(l)) {
          int lead = leadingSpaces(l);
          boolean dash = l.startsWith("- ", lead) || l.length() == lead + 1 && l.charAt(lead) == '-';
          if (indent < 0) {
            if (!dash) {
              return Optional.empty();
            }
            indent = lead;
          }
          if (lead < indent || lead == 0 && !dash) {
            end = true; // the next top-level key
          } else if (lead == indent) {
            if (!dash) {
              return Optional.empty();
            }
            startsItem = true;
          }
        }
        if ((end || startsItem) && itemStart >= 0) {
          Node n = item(lines, itemStart, lastContentLine(lines, itemStart, i), next);
          if (n == null) {
            return Optional.empty();
          }
          if (lastReused) {
            reusedNow++;
          } else {
            composedNow++;
          }
          sectionItems.add(n);
          itemStart = -1;
        }
        if (end) {
          break;
        }
        if (startsItem) {
          itemStart = i;
        }
        i++;
      }
      if (sectionItems.isEmpty()) {
        return Optional.empty();
      }
      String name = key.group(1);
      if (!KNOWN.contains(name)) {
        return Optional.empty(); // the whole-file compose reports an unknown key at its own line
      }
      var mark = sectionItems.get(0).getStartMark();
      ScalarNode keyNode = new ScalarNode(Tag.STR, name, mark, mark, DumperOptions.ScalarStyle.PLAIN);
      SequenceNode seq = new SequenceNode(Tag.SEQ, true, sectionItems, mark,
          sectionItems.get(sectionItems.size() - 1).getEndMark(), DumperOptions.FlowStyle.BLOCK);
      tuples.add(new NodeTuple(keyNode, seq));
      if (tuples.stream().filter(t -> ((ScalarNode) t.getKeyNode()).getValue().equals(name)).count() > 1) {
        return Optional.empty(); // a key given twice: the whole-file compose reports it
      }
    }
    if (tuples.isEmpty()) {
      return Optional.empty();
    }
    items = next;
    itemLines = lines;
    reused = reusedNow;
    composed = composedNow;
    return Optional.of(new MappingNode(Tag.MAP, tuples, DumperOptions.FlowStyle.BLOCK));
  }

  private static int lastContentLine(String[] lines, int from, int to) {
    int last = to - 1;
    while (last > from && blankOrComment(lines[last])) {
      last--;
    }
    return last;
  }

  /** Whether lines from..to are the same in both reads. */
  private static boolean sameLines(String[] lines, String[] before, int from, int to) {
    if (to >= before.length) {
      return false;
    }
    for (int j = from; j <= to; j++) {
      if (!lines[j].equals(before[j])) {
        return false;
      }
    }
    return true;
  }

  /**
   * One loader for every item this composer reads (a composer is used by one thread at a time): a new
   * {@link Yaml} also builds dumper and representer settings, 3-5 us warm here against about 20 us to compose a
   * one-route item, and a first read composes every item.
   */
  private Yaml itemYaml() {
    if (itemYaml == null) {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      itemYaml = new Yaml(new SafeConstructor(options));
    }
    return itemYaml;
  }

  /**
   * The node of one sequence item (lines from..to), reused when the same text sits on the same lines (compared
   * line by line: no key is built or hashed for the thousand items that did not change).
   */
  private Node item(String[] lines, int from, int to, Map<Integer, Item> next) {
    Item before = items.get(from);
    Node n = before != null && before.to() == to && sameLines(lines, itemLines, from, to) ? before.node() : null;
    lastReused = n != null;
    if (n == null) {
      // blank lines in front keep the marks (line numbers) of a whole-file compose
      StringBuilder text = new StringBuilder(from + 64 * (to - from + 1));
      text.append("\n".repeat(from));
      for (int j = from; j <= to; j++) {
        text.append(lines[j]).append('\n');
      }
      try {
        Node doc = itemYaml().compose(new StringReader(text.toString()));
        if (!(doc instanceof SequenceNode s) || s.getValue().size() != 1) {
          return null;
        }
        n = s.getValue().get(0);
      } catch (YAMLException e) {
        return null;
      }
    }
    next.put(from, new Item(to, n));
    return n;
  }

  /**
   * Whether an anchor or alias may start here: {@code &} or {@code *} after the start, a space or one of
   * {@code [{,:-}, before a letter, digit or {@code _}. A scan by hand: a regex over the whole file cost more than
   * composing the one changed item.
   */
  static boolean hasAliasOrAnchor(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if ((c == '&' || c == '*') && i + 1 < text.length()) {
        char next = text.charAt(i + 1);
        boolean name = next == '_' || next < 128 && Character.isLetterOrDigit(next);
        if (name && (i == 0 || " \t\n\r\f[{,:-".indexOf(text.charAt(i - 1)) >= 0
            || Character.isWhitespace(text.charAt(i - 1)))) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether lines end only in LF (or CRLF) and every character is one YAML reads: a lone CR, NEL, LS or PS is a
   * line break to YAML, not to the split here, and a character YAML refuses may sit in a comment, which the split
   * skips. Either way the whole-file compose must see the text.
   */
  private static boolean plainLines(String text) {
    boolean onlyPrintableAscii = true;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c >= ' ' && c <= '~' || c == '\n') {
        continue; // printable to YAML: no need to ask it
      }
      if (c == '\r' ? i + 1 >= text.length() || text.charAt(i + 1) != '\n' : c == '\u0085' || c == '\u2028' || c == '\u2029') {
        return false;
      }
      onlyPrintableAscii &= c == '\r' || c == '\t';
    }
    // YAML's own check (surrogate pairs, the ranges it refuses) only when something else is in the text
    return onlyPrintableAscii || StreamReader.isPrintable(text);
  }

  private static boolean blankOrComment(String line) {
    int lead = leadingSpaces(line);
    return lead == line.length() || line.charAt(lead) == '#';
  }

  private static int leadingSpaces(String line) {
    int n = 0;
    while (n < line.length() && line.charAt(n) == ' ') {
      n++;
    }
    return n;
  }
}
