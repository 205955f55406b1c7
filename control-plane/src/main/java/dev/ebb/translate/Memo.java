package dev.ebb.translate;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Remembers the outputs of the last translation by input, so that an unchanged route, backend or listener
 * yields the very same message object; the publisher then reuses its hash instead of serializing it again.
 * Holds only what the last translation used.
 */
final class Memo<K, V> {
  private final boolean identity;
  private Map<K, V> previous;
  private Map<K, V> current;

  Memo() {
    this(false);
  }

  /** @param identity keys are the same object or not at all (for keys that are outputs of another memo) */
  Memo(boolean identity) {
    this.identity = identity;
    previous = newMap();
    current = newMap();
  }

  private Map<K, V> newMap() {
    return identity ? new java.util.IdentityHashMap<>() : new HashMap<>();
  }

  V get(K key, Function<K, V> compute) {
    V v = current.get(key);
    if (v == null) {
      v = previous.get(key);
      if (v == null) {
        v = compute.apply(key);
      }
      current.put(key, v);
    }
    return v;
  }

  /** Ends one translation: what it did not use is forgotten. */
  void roll() {
    previous = current;
    current = newMap();
  }
}
