package dev.ebb.publish;

/** A snapshot whose references dangle; publishing it would stall or break clients, so it is refused. */
public final class InconsistentSnapshotException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InconsistentSnapshotException(String message) {
    super(message);
  }
}
