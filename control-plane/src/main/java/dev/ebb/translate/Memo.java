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
  private Map<K, V> previous = new HashMap<>();
  private Map<K, V> current = new HashMap<>();

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
    current = new HashMap<>();
  }
}
