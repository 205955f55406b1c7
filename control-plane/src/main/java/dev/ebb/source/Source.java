package dev.ebb.source;

import java.util.function.Consumer;

/** Where models come from: a file or Kubernetes. */
public interface Source extends AutoCloseable {
  void start();

  SourceStatus status();

  /**
   * Called (on the source's thread) after every read of the input, changed model or not: a bad value that
   * changes nothing in the model is still news for metrics and status.
   */
  void onStatus(Consumer<SourceStatus> listener);

  @Override
  void close();
}
