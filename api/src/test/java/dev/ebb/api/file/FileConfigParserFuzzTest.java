package dev.ebb.api.file;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzzes the file source's parser with arbitrary text (SPEC 4 and 7). The input, read as UTF-8, is an edit
 * sequence: up to four versions of the file separated by NUL bytes, read one after the other by one
 * {@link FileConfigParser.Incremental} (as the file source does on every change), then the last one once more
 * (every item reused).
 *
 * <p>Each version must: not throw; give a result that keeps {@link ParsedConfigContract} (unreadable with errors
 * about the file, or readable with only valid objects and an error naming object and field for each refused one);
 * and be exactly {@code equals} to the whole-file parse of the same text, errors and locations included, whatever
 * was read before. Replayed from {@code FileConfigParserFuzzTestInputs/parseEditSequence/} in every build; see
 * docs/FUZZING.md for real fuzzing.
 */
class FileConfigParserFuzzTest {
  static final String FILE = "ebb.yaml";
  static final int MAX_VERSIONS = 4;

  @FuzzTest(maxDuration = "10m")
  void parseEditSequence(byte[] data) {
    List<String> versions = versions(data);
    FileConfigParser.Incremental incremental = new FileConfigParser.Incremental();
    for (int i = 0; i < versions.size(); i++) {
      String text = versions.get(i);
      ParsedConfig whole = FileConfigParser.parse(text, FILE);
      ParsedConfigContract.checkFile(whole, FILE);
      ParsedConfigContract.equal(whole, incremental.parse(text, FILE),
          "version " + (i + 1) + " of " + versions.size() + ", read incrementally after the ones before it");
    }
    String last = versions.get(versions.size() - 1);
    ParsedConfigContract.equal(FileConfigParser.parse(last, FILE), incremental.parse(last, FILE),
        "the last version read again");
  }

  /** The versions in an input: its UTF-8 text split at NUL characters, at most {@link #MAX_VERSIONS}. */
  static List<String> versions(byte[] data) {
    return Arrays.asList(new String(data, StandardCharsets.UTF_8).split("\u0000", MAX_VERSIONS));
  }
}
