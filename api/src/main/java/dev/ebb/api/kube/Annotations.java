package dev.ebb.api.kube;

import java.util.Set;

/** The annotation contract of SPEC section 3. */
public final class Annotations {
  public static final String PREFIX = "ebb.dev/";
  public static final String HOSTS = PREFIX + "hosts";
  public static final String STABLE = PREFIX + "stable";
  public static final String CANARY = PREFIX + "canary";
  public static final String CANARY_WEIGHT = PREFIX + "canary-weight";
  public static final String DRAIN_TIMEOUT = PREFIX + "drain-timeout";
  public static final String PROTOCOL = PREFIX + "protocol";
  public static final String PORT = PREFIX + "port";
  public static final String PATH_PREFIX = PREFIX + "path-prefix";
  public static final String IDLE_TIMEOUT = PREFIX + "idle-timeout";
  public static final String MAX_STREAM_DURATION = PREFIX + "max-stream-duration";
  public static final String LISTENER = PREFIX + "listener";
  public static final String OUTLIER_DETECTION = PREFIX + "outlier-detection";
  /** Written by Ebb's leader; never read as input. */
  public static final String STATUS = PREFIX + "status";

  public static final Set<String> INPUTS = Set.of(HOSTS, STABLE, CANARY, CANARY_WEIGHT, DRAIN_TIMEOUT, PROTOCOL,
      PORT, PATH_PREFIX, IDLE_TIMEOUT, MAX_STREAM_DURATION, LISTENER, OUTLIER_DETECTION);

  private Annotations() {}
}
