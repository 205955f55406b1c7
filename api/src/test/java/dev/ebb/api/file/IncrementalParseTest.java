package dev.ebb.api.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The incremental parser re-composes only the items whose text changed, and says exactly what a full parse says. */
class IncrementalParseTest {
  static String routes(int n, int changed, String weight) {
    StringBuilder y = new StringBuilder("# many routes\nroutes:\n");
    for (int i = 0; i < n; i++) {
      y.append("  - name: r").append(i).append("   # route ").append(i).append('\n')
          .append("    hosts: [\"h").append(i).append(".example.com\"]\n")
          .append("    stable: b").append(i).append('\n')
          .append("    canary: c").append(i).append('\n')
          .append("    canaryWeight: ").append(i == changed ? weight : "10").append("\n\n");
    }
    y.append("backends:\n");
    for (int i = 0; i < n; i++) {
      y.append("- name: b").append(i).append("\n  endpoints: [\"10.0.").append(i / 250).append('.')
          .append(i % 250).append(":80\"]\n");
      y.append("- name: c").append(i).append("\n  endpoints:\n    - {address: 10.1.").append(i / 250).append('.')
          .append(i % 250).append(", port: 80, zone: z}\n");
    }
    return y.toString();
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"&a [1]", "x: *a", "- &r {a: 1}", "[*a]", "{k: *a}",
      ",*a", "&_x", "\t*a"})
  void anchorsAndAliasesAreFound(String text) {
    assertThat(ChunkedComposer.hasAliasOrAnchor(text)).isTrue();
    assertThat(ChunkedComposer.hasAliasOrAnchor("routes:\n  - " + text + "\n")).isTrue();
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"a&b", "x*y", "a: \"*\"", "& a", "* a", "a: 5*", "q&*"})
  void textThatIsNoAnchorOrAliasIsNotTakenForOne(String text) {
    assertThat(ChunkedComposer.hasAliasOrAnchor(text)).isFalse();
  }

  @Test
  void aWeightEditRecomposesOneRouteAndGivesWhatAFullParseGives() {
    FileConfigParser.Incremental p = new FileConfigParser.Incremental();
    String before = routes(300, 7, "10");
    assertThat(p.parse(before, "ebb.yaml")).isEqualTo(FileConfigParser.parse(before, "ebb.yaml"));
    String after = routes(300, 7, "55.5");
    ParsedConfig parsed = p.parse(after, "ebb.yaml");
    assertThat(parsed).isEqualTo(FileConfigParser.parse(after, "ebb.yaml"));
    assertThat(p.reusedItems()).isEqualTo(900 - 1);
    assertThat(parsed.routes().get(7).rollout().canaryWeightBasisPoints()).isEqualTo(5550);
  }

  @Test
  void anErrorInAnEditedItemIsReportedAtItsLineInTheFile() {
    FileConfigParser.Incremental p = new FileConfigParser.Incremental();
    p.parse(routes(50, 3, "10"), "ebb.yaml");
    String bad = routes(50, 3, "150");
    ParsedConfig parsed = p.parse(bad, "ebb.yaml");
    assertThat(parsed).isEqualTo(FileConfigParser.parse(bad, "ebb.yaml"));
    assertThat(parsed.errors()).singleElement().satisfies(e -> {
      assertThat(e.message()).isEqualTo("route r3: canaryWeight: 150 is out of range 0..100");
      assertThat(e.location()).contains("ebb.yaml:" + (2 + 3 * 6 + 5) + ":19");
    });
  }

  @Test
  void shapesItDoesNotSplitFallBackToTheWholeFileWithTheSameResult() {
    for (String text : new String[] {
        "routes: []\nbackends: []\n",
        "routes:\n  - &r {name: a, hosts: [a.example.com], stable: b}\nbackends:\n  - {name: b}\n",
        "rotues:\n  - name: a\n",
        "routes:\n  - name: a\n    hosts: [a.example.com]\n    stable: b\nroutes:\n  - name: x\n",
        "routes:\n  - name: a\n    hosts: [a.example.com\n",
        "---\nroutes: []\n",
        "routes:\n\t- name: a\n",
        "",
    }) {
      FileConfigParser.Incremental p = new FileConfigParser.Incremental();
      assertThat(p.parse(text, "ebb.yaml")).as(text).isEqualTo(FileConfigParser.parse(text, "ebb.yaml"));
    }
  }

  @Test
  void theShippedExampleParsesTheSame() throws Exception {
    String text = Files.readString(Path.of("../examples/ebb.yaml"));
    FileConfigParser.Incremental p = new FileConfigParser.Incremental();
    assertThat(p.parse(text, "ebb.yaml")).isEqualTo(FileConfigParser.parse(text, "ebb.yaml"));
    assertThat(p.parse(text, "ebb.yaml")).isEqualTo(FileConfigParser.parse(text, "ebb.yaml"));
    assertThat(p.reusedItems()).isPositive();
  }
}
