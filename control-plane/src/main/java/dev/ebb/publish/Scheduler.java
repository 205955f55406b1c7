package dev.ebb.publish;

import java.time.Duration;
import java.time.Instant;

/** Time and delayed work, injected so that debounce and drain tests run on a fake clock. */
public interface Scheduler {
  Instant now();

  /** Runs {@code task} after {@code delay}; the returned handle cancels it if it has not started. */
  Cancellable schedule(Duration delay, Runnable task);

  /** A scheduled task that can still be called off. */
  interface Cancellable {
    void cancel();
  }
}
