package dev.ebb.api.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.ebb.api.model.ConfigError;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the fuzz tests of the file parser found (docs/FUZZING.md, "Findings"), each as a plain test: a short input
 * that shows the rule, and the exact input the fuzzer wrote (in {@code fuzz-findings/}), replayed through the fuzz
 * test's own checks.
 */
class FileConfigParserFuzzFindingsTest {
  private static final String FILE = "ebb.yaml";
  private static final String ROUTE = """
      routes:
        - name: chat
          hosts: ["chat.example.com"]
          stable: chat-v1
          %s
      backends:
        - name: chat-v1
          endpoints: ["127.0.0.1:9001"]
      """;

  static byte[] finding(String name) {
    try (InputStream in = FileConfigParserFuzzFindingsTest.class.getResourceAsStream("fuzz-findings/" + name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void replay(String name) {
    new FileConfigParserFuzzTest().parseEditSequence(finding(name));
  }

  static void sameAsWholeFile(String text) {
    ParsedConfig whole = FileConfigParser.parse(text, FILE);
    ParsedConfigContract.checkFile(whole, FILE);
    FileConfigParser.Incremental incremental = new FileConfigParser.Incremental();
    assertThat(incremental.parse(text, FILE)).isEqualTo(whole);
    assertThat(incremental.parse(text, FILE)).isEqualTo(whole);
  }

  // ---- durations beyond Long.MAX_VALUE milliseconds (Durations.format threw ArithmeticException) ----

  @Test
  void aMaxStreamDurationBeyondLongMillisecondsDoesNotThrow() {
    String text = ROUTE.formatted("maxStreamDuration: 9223372036854775807s1ms");

    assertThatCode(() -> sameAsWholeFile(text)).doesNotThrowAnyException();
  }

  @Test
  void aDrainTimeoutBeyondLongMillisecondsIsAnErrorOfThatField() {
    String text = ROUTE.formatted("drainTimeout: 9223372036854775807s1ms");

    ParsedConfig p = FileConfigParser.parse(text, FILE);
    assertThat(p.invalidRoutes()).containsExactly("chat");
    assertThat(p.errors()).extracting(ConfigError::field).containsExactly("drainTimeout");
    sameAsWholeFile(text);
  }

  // ---- the incremental parser gave another result than the whole-file parse ----

  @ParameterizedTest(name = "U+{0}")
  @ValueSource(ints = {0x05, 0x07, 0x1b, 0x7f, 0xfffe})
  void aCharacterYamlRefusesInACommentMakesTheFileUnreadableForTheIncrementalParserToo(int c) {
    String text = "# a comment with " + Character.toString(c) + "\n" + ROUTE.formatted("");

    assertThat(FileConfigParser.parse(text, FILE).readable()).isFalse();
    sameAsWholeFile(text);
  }

  @Test
  void aCharacterYamlRefusesInACommentExactFuzzInput() {
    replay("control-character-in-a-comment");
  }

  @ParameterizedTest(name = "U+{0}")
  @ValueSource(ints = {'\r', 0x85, 0x2028, 0x2029})
  void aLineBreakOtherThanNewlineKeepsTheLinesOfLaterErrors(int lineBreak) {
    // YAML counts a lone CR, NEL, LS and PS as line breaks; the error in route b must name the same line either way
    String text = "routes:\n  - name: a" + Character.toString(lineBreak) + "    hosts: [\"a.example.com\"]\n"
        + "    stable: chat-v1\n  - name: b\n    hosts: [\"b.example.com\"]\n    stable: nowhere\n"
        + "backends:\n  - name: chat-v1\n    endpoints: [\"127.0.0.1:9001\"]\n";

    sameAsWholeFile(text);
  }

  @Test
  void aLoneCarriageReturnExactFuzzInput() {
    replay("lone-carriage-return");
  }

  // ---- an object whose name is YAML null was named invalid as "", "~" or "null" ----

  @ParameterizedTest(name = "name:{0}")
  @ValueSource(strings = {"", " ~", " null", " Null"})
  void aRouteBackendOrListenerWithANullNameIsNotNamedInvalidByThatText(String name) {
    String text = "listeners:\n  - name:" + name + "\n    port: 10001\n  - name: edge\n    port: 10000\n"
        + "routes:\n  - name:" + name + "\n    hosts: [\"chat.example.com\"]\n    stable: chat-v1\n"
        + "backends:\n  - name:" + name + "\n    endpoints: [\"127.0.0.1:9001\"]\n";

    ParsedConfig p = FileConfigParser.parse(text, FILE);
    assertThat(p.invalidListeners()).isEmpty();
    assertThat(p.invalidRoutes()).isEmpty();
    assertThat(p.invalidBackends()).isEmpty();
    assertThat(p.errors()).extracting(ConfigError::object).contains("listener #1", "route #1", "backend #1");
    sameAsWholeFile(text);
  }

  @Test
  void aRouteWithoutANameValueExactFuzzInput() {
    replay("route-without-a-name-value");
  }

  @Test
  void aBackendWithoutANameValueExactFuzzInput() {
    replay("backend-without-a-name-value");
  }

  @Test
  void aListenerWithoutANameValueExactFuzzInput() {
    replay("listener-without-a-name-value");
  }

  @Test
  void aListenerNamedTildeExactFuzzInput() {
    new ListenersFuzzTest().listeners(finding("listener-named-tilde"));
  }

  // ---- an empty key gave an error without a field ----

  @Test
  void anEmptyKeyIsNamedInItsError() {
    String text = "listeners:\n  - name: edge\n    port: 10000\n    \"\": x\n";

    List<ConfigError> errors = FileConfigParser.parse(text, FILE).errors();
    assertThat(errors).singleElement().satisfies(e -> {
      assertThat(e.object()).isEqualTo("listener edge");
      assertThat(e.field()).isNotEmpty();
      assertThat(e.message()).startsWith("listener edge: " + e.field() + ": ");
    });
  }

  @Test
  void anEmptyKeyExactFuzzInput() {
    new ListenersFuzzTest().listeners(finding("empty-key"));
  }

  // ---- a '#' right after a top-level key's colon is not a comment (found by the CI's fuzz run, 2026-12-01) ----

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"backends:#backends:", "backends:#x", "backends:# x", "routes:#routes:"})
  void aHashRightAfterATopLevelColonIsPartOfTheKeyNotAComment(String keyLine) {
    String text = ROUTE.formatted("").replace("backends:", keyLine);

    ParsedConfig whole = FileConfigParser.parse(text, FILE);
    assertThat(whole.backends()).isEmpty();
    sameAsWholeFile(text);
  }

  @Test
  void aCommentAfterASpaceStillEndsATopLevelKey() {
    String text = ROUTE.formatted("").replace("backends:", "backends: #backends:");

    assertThat(FileConfigParser.parse(text, FILE).backends()).hasSize(1);
    sameAsWholeFile(text);
  }

  @Test
  void aHashRightAfterATopLevelColonExactFuzzInput() {
    replay("hash-right-after-a-top-level-colon");
  }

  // ---- a name given twice, the first one null: listed invalid under the second, errors under its position ----

  @Test
  void aNameGivenTwiceCountsByItsFirstValueEvenWhenThatIsNull() {
    String text = ROUTE.formatted("name: chat").replace("- name: chat\n", "- name:\n");

    ParsedConfig p = FileConfigParser.parse(text, FILE);
    ParsedConfigContract.checkFile(p, FILE);
    assertThat(p.invalidRoutes()).isEmpty();
    assertThat(p.errors()).extracting(ConfigError::object).containsOnly("route #1");
    sameAsWholeFile(text);
  }

  @Test
  void aNameGivenTwiceFirstNullExactFuzzInput() {
    replay("name-given-twice-first-null");
  }
}
