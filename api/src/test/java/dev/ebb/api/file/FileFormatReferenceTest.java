package dev.ebb.api.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/FILE-FORMAT.md is the reference of the file source: every field the parser knows is in its tables, and
 * every field in its tables is one the parser knows. The parser's field sets are read from the parser itself, so
 * a field added there fails this test until the reference lists it.
 */
class FileFormatReferenceTest {
  private static final Path REFERENCE = Path.of("..", "docs", "FILE-FORMAT.md");
  private static final Path README = Path.of("..", "README.md");

  /** Each of the parser's field sets and the heading of its table in the reference. */
  private static final Map<String, String> SECTIONS = Map.of(
      "TOP", "Top level",
      "LISTENER_FIELDS", "`listeners[]`",
      "TLS_FIELDS", "`listeners[].tls`",
      "ROUTE_FIELDS", "`routes[]`",
      "BACKEND_FIELDS", "`backends[]`",
      "ENDPOINT_FIELDS", "`backends[].endpoints[]`");

  private static final Pattern ROW = Pattern.compile("^\\|\\s*`([^`]+)`\\s*\\|");

  @Test
  void everyFieldTheParserKnowsIsInTheReferenceAndNoOther() throws Exception {
    Map<String, Set<String>> documented = tables(Files.readString(REFERENCE, StandardCharsets.UTF_8));
    Map<String, Set<String>> known = parserFieldSets();
    assertThat(known.keySet()).as("field sets of FileConfigParser; a new one needs a table in docs/FILE-FORMAT.md"
        + " and an entry in SECTIONS").containsExactlyInAnyOrderElementsOf(SECTIONS.keySet());
    known.forEach((set, fields) -> {
      String heading = SECTIONS.get(set);
      assertThat(documented).as("docs/FILE-FORMAT.md has a table under a heading with " + heading)
          .containsKey(heading);
      assertThat(documented.get(heading)).as("fields in the table \"" + heading + "\" of docs/FILE-FORMAT.md"
          + " (FileConfigParser." + set + ")").containsExactlyInAnyOrderElementsOf(fields);
    });
  }

  @Test
  void theReferencesCompleteExampleParsesWithoutErrorsOrWarnings() throws IOException {
    String doc = Files.readString(REFERENCE, StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("```yaml\n(.*?)```", Pattern.DOTALL).matcher(doc);
    assertThat(m.find()).as("a yaml block in docs/FILE-FORMAT.md").isTrue();
    ParsedConfig p = FileConfigParser.parse(m.group(1), "FILE-FORMAT.md");
    assertThat(p.errors()).isEmpty();
    assertThat(p.warnings()).isEmpty();
    assertThat(p.listeners()).hasSize(3);
    assertThat(p.routes()).hasSize(1);
    assertThat(p.backends()).hasSize(2);
  }

  /**
   * Issue 14: the README's walkthrough told users to edit examples/ebb.yaml, which tests read, so following it
   * broke the build. It works on a copy; no file under examples/ is one users are told to edit.
   */
  @Test
  void theReadmeNeverTellsUsersToEditAShippedExample() throws IOException {
    String readme = Files.readString(README, StandardCharsets.UTF_8);
    Matcher edits = Pattern.compile("(?i)\\bedit\\s+`([^`]+)`").matcher(readme);
    List<String> edited = new ArrayList<>();
    while (edits.find()) {
      edited.add(edits.group(1));
    }
    assertThat(edited).as("files the README tells users to edit").isNotEmpty()
        .noneMatch(f -> f.startsWith("examples/"));
    assertThat(readme).contains("cp examples/ebb.yaml my.yaml").contains("docs/FILE-FORMAT.md");
  }

  /** The private static {@code Set<String>} constants of the parser: TOP and every *_FIELDS. */
  private static Map<String, Set<String>> parserFieldSets() throws IllegalAccessException {
    Map<String, Set<String>> out = new TreeMap<>();
    for (Field f : FileConfigParser.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && Set.class.isAssignableFrom(f.getType())
          && (f.getName().equals("TOP") || f.getName().endsWith("_FIELDS"))) {
        f.setAccessible(true);
        Set<String> fields = new LinkedHashSet<>();
        for (Object o : (Set<?>) f.get(null)) {
          fields.add((String) o);
        }
        out.put(f.getName(), fields);
      }
    }
    return out;
  }

  /** The first column (a `field`) of every table, by the heading above it (its first backticked part, or all). */
  static Map<String, Set<String>> tables(String markdown) {
    Map<String, Set<String>> out = new LinkedHashMap<>();
    String heading = "";
    for (String line : markdown.split("\n")) {
      if (line.startsWith("#")) {
        String text = line.replaceFirst("^#+\\s*", "").trim();
        Matcher code = Pattern.compile("`[^`]+`").matcher(text);
        heading = code.find() ? code.group() : text;
        continue;
      }
      Matcher row = ROW.matcher(line);
      if (row.find()) {
        out.computeIfAbsent(heading, h -> new LinkedHashSet<>()).add(row.group(1));
      }
    }
    return out;
  }
}
