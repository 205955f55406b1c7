package dev.ebb.api.model;

/** Whether an endpoint may take new streams. DRAINING keeps established streams but gets no new ones. */
public enum EndpointState {
  READY,
  DRAINING
}
