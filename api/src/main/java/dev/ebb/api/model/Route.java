package dev.ebb.api.model;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One public entry point: hosts (Envoy virtual host domains), a path prefix, a protocol and a rollout.
 *
 * @param idleTimeout {@link Duration#ZERO} disables the idle timeout
 * @param maxStreamDuration hard lifetime of one stream, fixed when it starts; empty means none
 * @param outlierDetection whether Envoy ejects endpoints of this route's backends that keep failing (off by
 *     default: a backend shared with other routes gets it when any of them asks)
 */
public record Route(
    String name,
    List<String> hosts,
    Protocol protocol,
    String pathPrefix,
    String listener,
    Rollout rollout,
    Duration drainTimeout,
    Duration idleTimeout,
    Optional<Duration> maxStreamDuration,
    boolean outlierDetection) {

  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofMinutes(15);
  public static final Duration MAX_DRAIN_TIMEOUT = Duration.ofHours(168);
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);
  public static final String DEFAULT_LISTENER = "edge";
  public static final String DEFAULT_PATH_PREFIX = "/";

  public Route {
    Objects.requireNonNull(name, "name");
    hosts = List.copyOf(hosts);
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(pathPrefix, "pathPrefix");
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(rollout, "rollout");
    Objects.requireNonNull(drainTimeout, "drainTimeout");
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    Objects.requireNonNull(maxStreamDuration, "maxStreamDuration");
  }

  public Route(String name, List<String> hosts, Protocol protocol, String pathPrefix, String listener,
      Rollout rollout, Duration drainTimeout, Duration idleTimeout, Optional<Duration> maxStreamDuration) {
    this(name, hosts, protocol, pathPrefix, listener, rollout, drainTimeout, idleTimeout, maxStreamDuration, false);
  }

  /** The stable backend, then the canary if any. */
  public List<String> backendNames() {
    return rollout.canary().map(c -> List.of(rollout.stable(), c)).orElse(List.of(rollout.stable()));
  }

  public Route withRollout(Rollout newRollout) {
    return new Route(name, hosts, protocol, pathPrefix, listener, newRollout, drainTimeout, idleTimeout,
        maxStreamDuration, outlierDetection);
  }
}
