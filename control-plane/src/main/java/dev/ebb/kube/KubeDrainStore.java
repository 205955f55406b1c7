package dev.ebb.kube;

import dev.ebb.api.kube.Annotations;
import dev.ebb.api.kube.KubeObjects;
import dev.ebb.api.model.Route;
import dev.ebb.api.text.Durations;
import dev.ebb.publish.DrainStore;
import dev.ebb.rollout.DrainState;
import dev.ebb.rollout.DrainState.RouteBackend;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Drains recovered from the {@code ebb.dev/status} annotations the leader wrote: who had weight, and who
 * drained since when. Read once, at the first build (after the informers synced). Saving is the status
 * writer's job (leader only), so {@link #save} does nothing.
 */
final class KubeDrainStore implements DrainStore {
  private final Supplier<List<KubeObjects.Service>> services;

  KubeDrainStore(Supplier<List<KubeObjects.Service>> services) {
    this.services = services;
  }

  @Override
  public Loaded load() {
    SortedMap<RouteBackend, DrainState.Active> active = new TreeMap<>();
    SortedMap<RouteBackend, DrainState.DrainRecord> drains = new TreeMap<>();
    SortedMap<RouteBackend, DrainState.EarlyEnd> endedEarly = new TreeMap<>();
    for (KubeObjects.Service s : services.get()) {
      Optional<RouteStatus> status = RouteStatus.parse(s.annotations().get(Annotations.STATUS));
      if (status.isEmpty()) {
        continue;
      }
      dev.ebb.api.model.Protocol protocol = dev.ebb.api.model.Protocol.parse(
          s.annotations().getOrDefault(Annotations.PROTOCOL, "websocket")).orElse(dev.ebb.api.model.Protocol.WEBSOCKET);
      Duration timeout = Optional.ofNullable(s.annotations().get(Annotations.DRAIN_TIMEOUT)).map(t -> {
        try {
          return Durations.parse(t);
        } catch (IllegalArgumentException e) {
          return Route.DEFAULT_DRAIN_TIMEOUT;
        }
      }).orElse(Route.DEFAULT_DRAIN_TIMEOUT);
      status.get().weights().forEach((backend, w) -> {
        if (w > 0) {
          active.put(new RouteBackend(s.key(), backend), new DrainState.Active(timeout, List.of(), protocol));
        }
      });
      for (RouteStatus.DrainEntry d : status.get().draining()) {
        drains.put(new RouteBackend(s.key(), d.backend()), new DrainState.DrainRecord(d.start(),
            Duration.between(d.start(), d.deadline()), List.of(), protocol));
      }
      for (RouteStatus.EarlyEndEntry x : status.get().endedEarly()) {
        endedEarly.put(new RouteBackend(s.key(), x.backend()), new DrainState.EarlyEnd(x.start(), x.deadline(),
            x.at(), x.reason()));
      }
    }
    return new Loaded(new DrainState(active, drains, endedEarly), Optional.empty());
  }

  @Override
  public void save(DrainState state) {}
}
