package dev.ebb.bench;

import dev.ebb.api.file.FileConfigParser;
import java.util.Locale;

/**
 * The file source's incremental parse of one-route edits of a large file, as the pipeline reads it after each
 * edit: {@code java -cp bench/target/ebb-bench.jar dev.ebb.bench.ParseCost [ROUTES] [ROUNDS]} prints the mean
 * time per parse of each round of 200 parses (the first rounds warm the JIT).
 */
public final class ParseCost {
  public static void main(String[] args) {
    int routes = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    String[] texts = new String[40];
    for (int c = 0; c < texts.length; c++) {
      texts[c] = ModelGen.yaml(routes, 0, 100 * (10 + c % 80), 0, false); // one route's weight differs
    }
    System.out.printf(Locale.ROOT, "%d routes, %d bytes%n", routes, texts[0].length());
    FileConfigParser.Incremental parser = new FileConfigParser.Incremental();
    long sink = 0;
    for (int round = 1; round <= rounds; round++) {
      int parses = 200;
      long start = System.nanoTime();
      for (int i = 0; i < parses; i++) {
        sink += parser.parse(texts[i % texts.length], "ebb.yaml").routes().size();
      }
      System.out.printf(Locale.ROOT, "round %d: %.2f ms per parse (%d items reused in the last)%n", round,
          (System.nanoTime() - start) / 1e6 / parses, parser.reusedItems());
    }
    if (sink == 0) {
      throw new IllegalStateException("nothing parsed");
    }
  }
}
