package dev.ebb.api.model;

import java.util.Comparator;
import java.util.Objects;

/**
 * One address of a backend.
 *
 * @param address IP literal (v4 or v6, without brackets)
 * @param port 1..65535
 * @param zone locality zone, "" when unknown
 * @param state READY takes new streams, DRAINING only keeps established ones
 */
public record Endpoint(String address, int port, String zone, EndpointState state) {
  public static final Comparator<Endpoint> ORDER =
      Comparator.comparing(Endpoint::zone)
          .thenComparing(Endpoint::address)
          .thenComparingInt(Endpoint::port)
          .thenComparing(Endpoint::state);

  public Endpoint {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(zone, "zone");
    Objects.requireNonNull(state, "state");
  }

  public static Endpoint ready(String address, int port) {
    return new Endpoint(address, port, "", EndpointState.READY);
  }

  public Endpoint withState(EndpointState newState) {
    return new Endpoint(address, port, zone, newState);
  }

  /** The identity of an endpoint, without its state. */
  public String hostPort() {
    return (address.indexOf(':') >= 0 ? "[" + address + "]" : address) + ":" + port;
  }
}
