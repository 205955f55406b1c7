package dev.ebb.source;

/** Where models come from: a file or Kubernetes. */
public interface Source extends AutoCloseable {
  void start();

  SourceStatus status();

  @Override
  void close();
}
