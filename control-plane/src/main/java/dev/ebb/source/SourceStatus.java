package dev.ebb.source;

import dev.ebb.api.model.ConfigError;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a source has to say for /status and /readyz.
 *
 * @param synced true once a first complete, readable input was seen
 * @param errors rejected inputs in the current input; the objects they name keep their last good config
 * @param drainState where drain starts are kept across restarts (a state file, or the status annotations)
 */
public record SourceStatus(String kind, String location, boolean synced, Optional<Instant> lastChange,
    List<ConfigError> errors, List<ConfigError> warnings, String drainState) {
  public SourceStatus {
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }

  /** The same status after another read of the input. */
  public SourceStatus next(boolean synced, Optional<Instant> lastChange, List<ConfigError> errors,
      List<ConfigError> warnings) {
    return new SourceStatus(kind, location, synced, lastChange, errors, warnings, drainState);
  }
}
