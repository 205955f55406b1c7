package dev.ebb;

import java.util.TimeZone;

/**
 * Log lines start with an ISO-8601 timestamp in UTC ({@code simplelogger.properties}). slf4j-simple formats
 * with the JVM's default time zone, fixed when its first logger is made, so {@link #init} sets that zone to UTC
 * before anything logs. Ebb itself reads time only as {@code Instant}s, which have no zone.
 */
final class Logging {
  private Logging() {}

  static void init() {
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
  }
}
