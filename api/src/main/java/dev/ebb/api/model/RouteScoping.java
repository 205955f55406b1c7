package dev.ebb.api.model;

import java.util.Locale;
import java.util.Optional;

/**
 * How Envoy nodes look up the routes of a listener (SPEC 5). {@code NONE}: one RouteConfiguration for the whole
 * listener, resent whole on every change. {@code HOST}: scoped routes (SRDS), one scope and one small
 * RouteConfiguration per exact host, so a weight change resends only the RouteConfiguration of the hosts it
 * concerns.
 */
public enum RouteScoping {
  NONE,
  HOST;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Why a listener named {@code listener} with this scoping cannot serve {@code host}, or empty. Scoped routes
   * serve exact host names only: Envoy looks a scope up by the exact host (a hash lookup), with no wildcard and
   * no fallback scope, so a wildcard host would match nothing.
   */
  public Optional<String> hostProblem(String listener, String host) {
    if (this == HOST && host.startsWith("*")) {
      return Optional.of(host + " is a wildcard host, which listener " + listener + " cannot serve: it has"
          + " routeScoping: host, and scoped routes match exact host names only (no wildcard, no fallback scope)");
    }
    return Optional.empty();
  }

  public static Optional<RouteScoping> parse(String text) {
    for (RouteScoping s : values()) {
      if (s.wireName().equals(text)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }
}
