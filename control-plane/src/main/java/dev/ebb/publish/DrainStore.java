package dev.ebb.publish;

import dev.ebb.rollout.DrainState;
import java.util.Optional;

/** Where drain starts survive a restart (file source: a state file beside the YAML). */
public interface DrainStore {
  /** A store that remembers nothing. */
  DrainStore NONE = new DrainStore() {
    @Override
    public Loaded load() {
      return new Loaded(DrainState.EMPTY, Optional.empty());
    }

    @Override
    public void save(DrainState state) {}
  };

  /** What was read; a problem (corrupt file) means "no drains", reported, never a crash. */
  record Loaded(DrainState state, Optional<String> problem) {}

  Loaded load();

  /** Writes atomically; throws {@link java.io.UncheckedIOException} when it cannot. */
  void save(DrainState state);
}
