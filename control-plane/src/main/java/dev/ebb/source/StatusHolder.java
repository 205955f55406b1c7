package dev.ebb.source;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** A source's current status, and who hears of every new one (metrics count rejections as they are read). */
public final class StatusHolder {
  private volatile SourceStatus status;
  private final List<Consumer<SourceStatus>> listeners = new CopyOnWriteArrayList<>();

  public StatusHolder(SourceStatus initial) {
    this.status = initial;
  }

  public SourceStatus get() {
    return status;
  }

  public void set(SourceStatus next) {
    status = next;
    listeners.forEach(l -> l.accept(next));
  }

  public void listen(Consumer<SourceStatus> listener) {
    listeners.add(listener);
  }
}
