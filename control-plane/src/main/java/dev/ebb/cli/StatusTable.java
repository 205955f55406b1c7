package dev.ebb.cli;

import java.io.PrintStream;
import java.util.List;

/**
 * The table {@code ebb status} prints, whether it read the cluster's status annotations or a running Ebb's
 * {@code /status}: one row per route, then the errors that concern no single route.
 */
final class StatusTable {
  private static final String FORMAT = "%-28s %-28s %-40s %-40s %-7s %s%n";

  /** One route: its backends with weight in effect and open streams where known, drains and its last error. */
  record Row(String route, String hosts, String stable, String canary, String nodes, List<String> notes) {
    Row {
      notes = List.copyOf(notes);
    }
  }

  private StatusTable() {}

  static void print(List<Row> rows, String whenEmpty, List<String> otherErrors, PrintStream out) {
    out.printf(FORMAT, "ROUTE", "HOSTS", "STABLE", "CANARY", "NODES", "DRAINING / LAST ERROR");
    for (Row r : rows) {
      out.printf(FORMAT, r.route(), r.hosts(), r.stable(), r.canary(), r.nodes(),
          r.notes().isEmpty() ? "-" : String.join("; ", r.notes()));
    }
    if (rows.isEmpty()) {
      out.println(whenEmpty);
    }
    otherErrors.forEach(e -> out.println("error: " + e));
  }
}
