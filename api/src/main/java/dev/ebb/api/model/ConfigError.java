package dev.ebb.api.model;

import java.util.Objects;
import java.util.Optional;

/**
 * One rejected input. {@code object} names it ("route chat", "backend chat-v1", "file ebb.yaml"),
 * {@code message} is the whole sentence shown to people, e.g.
 * {@code route chat: canaryWeight: 150 is out of range 0..100}.
 *
 * @param location "file:line:column" where known
 */
public record ConfigError(String object, String field, String value, String message, Optional<String> location) {
  public ConfigError {
    Objects.requireNonNull(object, "object");
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(location, "location");
  }

  /** Builds {@code "<object>: <field>: <detail>"}, or {@code "<object>: <detail>"} when no field is concerned. */
  public static ConfigError of(String object, String field, String value, String detail) {
    return new ConfigError(object, field, value,
        object + ": " + (field.isEmpty() ? "" : field + ": ") + detail, Optional.empty());
  }

  public ConfigError at(String where) {
    return new ConfigError(object, field, value, message, Optional.of(where));
  }

  /** The message with its location, as logs and /status show it. */
  public String describe() {
    return location.filter(l -> !message.contains(l)).map(l -> message + " (" + l + ")").orElse(message);
  }
}
