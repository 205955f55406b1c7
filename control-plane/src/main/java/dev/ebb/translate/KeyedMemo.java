package dev.ebb.translate;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Like {@link Memo}, but found by a cheap key (a name) and kept while the input is equal to the last one: the
 * input is compared, never hashed. Inputs are mostly the very objects of the last build (equal at the first
 * identity check) or small records, while hashing them would walk every route and endpoint of the config on every
 * build. Holds only what the last translation used.
 */
final class KeyedMemo<K, I, V> {
  private record Entry<I, V>(I input, V value) {}

  private Map<K, Entry<I, V>> previous = new HashMap<>();
  private Map<K, Entry<I, V>> current = new HashMap<>();

  V get(K key, I input, Function<I, V> compute) {
    Entry<I, V> e = current.get(key);
    if (e == null || !Objects.equals(e.input(), input)) {
      Entry<I, V> before = previous.get(key);
      e = before != null && Objects.equals(before.input(), input) ? before : new Entry<>(input, compute.apply(input));
      current.put(key, e);
    }
    return e.value();
  }

  /** Ends one translation: what it did not use is forgotten. */
  void roll() {
    previous = current;
    current = new HashMap<>();
  }
}
