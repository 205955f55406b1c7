package dev.ebb.publish;

/** Where the pipeline hands each published snapshot: the xDS server. Keeps publish free of the xds package. */
public interface SnapshotSink {
  /** Makes {@code snapshot} current and answers every stream it changes. Called on the pipeline's thread. */
  void publish(XdsSnapshot snapshot);
}
