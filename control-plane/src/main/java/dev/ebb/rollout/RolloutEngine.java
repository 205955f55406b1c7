package dev.ebb.rollout;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.Model;
import dev.ebb.api.model.Route;
import dev.ebb.rollout.DesiredState.BackendState;
import dev.ebb.rollout.DesiredState.Drain;
import dev.ebb.rollout.DesiredState.RouteState;
import dev.ebb.rollout.DesiredState.WeightedBackend;
import dev.ebb.rollout.DrainState.Active;
import dev.ebb.rollout.DrainState.DrainRecord;
import dev.ebb.rollout.DrainState.RouteBackend;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Pure: (model, previous drain state, now) to (desired state, next drain state). SPEC section 2:
 *
 * <ul>
 *   <li>a backend that had weight on a route and has none now (weight to 0, replaced as stable, canary
 *       removed, route removed, backend entry removed) drains from now until now + the route's drain timeout;
 *   <li>while it drains its cluster stays, with every endpoint it had since the drain began (those that
 *       vanished as DRAINING), and no route sends it new streams;
 *   <li>weight again cancels the drain; drains of one backend from two routes are independent;
 *   <li>every backend a route names stays in the config (a canary at weight 0 keeps its cluster warm): a
 *       canary rolled back to 0 drains (its open streams are tracked to the deadline, SPEC 2.1 and 2.7), and when
 *       that drain ends its cluster stays, at 0% (SPEC 5); {@link EndedDrain#keptBy} says so.
 * </ul>
 */
public final class RolloutEngine {
  /** The desired state now, what to remember for the next run, and the drains that ended in this step. */
  public record Result(DesiredState desired, DrainState next, List<EndedDrain> ended) {
    public Result {
      ended = List.copyOf(ended);
    }
  }

  /**
   * A drain that ended: its deadline passed, its backend went idle early, or it got weight again.
   *
   * @param keptBy the route that still names the backend, so that its cluster stays in the config (a canary
   *     rolled back to 0 stays warm at 0% once its drain is over); empty when the cluster left the config
   */
  public record EndedDrain(String route, String backend, Instant start, Instant deadline, Outcome outcome,
      Optional<String> keptBy) {
    /** How a drain ended. */
    public enum Outcome { EXPIRED, IDLE, CANCELLED }

    public EndedDrain(String route, String backend, Instant start, Instant deadline, Outcome outcome) {
      this(route, backend, start, deadline, outcome, Optional.empty());
    }
  }

  /**
   * What load reports say: whether every reporting node has reported, at least twice since {@code since},
   * no stream in progress on the backend's cluster (false when no node reports).
   */
  @FunctionalInterface
  public interface IdleSignal {
    IdleSignal NONE = (backend, since) -> false;

    boolean idleSince(String backend, Instant since);

    /** Why {@link #idleSince} said yes, for the record other replicas and operators read. */
    default String reason(String backend) {
      return "load reports show no stream in progress or started since the drain began";
    }
  }

  private RolloutEngine() {}

  /** The desired state of a model with no history (no drains). */
  public static DesiredState desired(Model model, Instant now) {
    return step(model, DrainState.EMPTY, now).desired();
  }

  public static Result step(Model model, DrainState previous, Instant now) {
    return step(model, previous, now, IdleSignal.NONE);
  }

  /**
   * A parsed backend with nothing remembered, by the identity of the parsed object (weak: gone with it): its
   * endpoints in order. Parsers hand out the same object while a backend's text or slices do not change.
   */
  private static final java.util.concurrent.ConcurrentMap<Backend, Backend> CANONICAL =
      new com.google.common.collect.MapMaker().weakKeys().makeMap();

  public static Result step(Model model, DrainState previous, Instant now, IdleSignal idle) {
    Map<String, Backend> defs = model.backendsByName();
    SortedMap<RouteBackend, Active> active = new TreeMap<>();
    List<RouteState> routes = new ArrayList<>();
    for (Route r : model.routes()) {
      List<WeightedBackend> weights = weights(r);
      routes.add(new RouteState(r, routed(r, weights, defs)));
      for (WeightedBackend w : weights) {
        Backend b = defs.get(w.backend());
        active.put(new RouteBackend(r.name(), w.backend()),
            new Active(r.drainTimeout(), b == null ? List.of() : b.endpoints(), r.protocol()));
      }
    }

    SortedMap<RouteBackend, DrainRecord> drains = new TreeMap<>();
    List<EndedDrain> ended = new ArrayList<>();
    // drains that go on (not cancelled by new weight)
    previous.drains().forEach((key, d) -> {
      if (!active.containsKey(key)) {
        Duration timeout = model.route(key.route()).map(Route::drainTimeout).orElse(d.timeout());
        drains.put(key, new DrainRecord(d.start(), timeout, remembered(defs.get(key.backend()), d.endpoints()),
            d.protocol()));
      } else {
        ended.add(new EndedDrain(key.route(), key.backend(), d.start(), d.deadline(), EndedDrain.Outcome.CANCELLED));
      }
    });
    // backends that just lost their weight
    previous.active().forEach((key, a) -> {
      if (!active.containsKey(key) && !drains.containsKey(key)) {
        Duration timeout = model.route(key.route()).map(Route::drainTimeout).orElse(a.drainTimeout());
        drains.put(key, new DrainRecord(now, timeout, remembered(defs.get(key.backend()), a.endpoints()),
            a.protocol()));
      }
    });
    // early ends decided before (here, by another replica, or before a restart) hold until the drain's deadline
    SortedMap<RouteBackend, DrainState.EarlyEnd> endedEarly = new TreeMap<>(previous.endedEarly());
    endedEarly.values().removeIf(x -> !now.isBefore(x.deadline()));
    drains.entrySet().removeIf(e -> {
      DrainRecord d = e.getValue();
      DrainState.EarlyEnd recorded = endedEarly.get(e.getKey());
      EndedDrain.Outcome outcome;
      if (!now.isBefore(d.deadline())) {
        outcome = EndedDrain.Outcome.EXPIRED;
      } else if (recorded != null && recorded.start().equals(d.start())) {
        outcome = EndedDrain.Outcome.IDLE;
      } else if (!d.endpoints().isEmpty() && idle.idleSince(e.getKey().backend(), d.start())) {
        // a drain that knows no endpoints (restored after its backend vanished) cannot be seen idle: deadline
        outcome = EndedDrain.Outcome.IDLE;
        endedEarly.put(e.getKey(), new DrainState.EarlyEnd(d.start(), d.deadline(), now,
            idle.reason(e.getKey().backend())));
      } else {
        outcome = null;
      }
      if (outcome != null) {
        ended.add(new EndedDrain(e.getKey().route(), e.getKey().backend(), d.start(), d.deadline(), outcome));
      }
      return outcome != null;
    });

    Map<String, List<Drain>> drainsByBackend = new TreeMap<>();
    Map<String, List<Endpoint>> rememberedByBackend = new TreeMap<>();
    drains.forEach((key, d) -> {
      drainsByBackend.computeIfAbsent(key.backend(), b -> new ArrayList<>())
          .add(new Drain(key.route(), key.backend(), d.start(), d.deadline(), d.protocol()));
      rememberedByBackend.computeIfAbsent(key.backend(), b -> new ArrayList<>()).addAll(d.endpoints());
    });
    List<String> names = new ArrayList<>();
    for (Route r : model.routes()) {
      r.backendNames().stream().filter(defs::containsKey).forEach(names::add);
    }
    names.addAll(drainsByBackend.keySet());
    Map<String, BackendState> backends = new TreeMap<>();
    for (String name : names) {
      backends.computeIfAbsent(name, n -> {
        Backend def = defs.get(n);
        List<Endpoint> rememberedHere = rememberedByBackend.getOrDefault(n, List.of());
        Backend b;
        if (def != null && rememberedHere.isEmpty()) {
          // nothing remembered (the common case): the same object build after build for the same parsed backend,
          // so the translator finds it unchanged at the first identity check
          b = CANONICAL.get(def);
          if (b == null) {
            List<Endpoint> endpoints = remembered(def, List.of());
            if (endpoints == def.endpoints()) {
              b = def; // already in order; not stored (a value that holds its weak key would keep it forever)
            } else {
              b = new Backend(n, endpoints);
              CANONICAL.put(def, b);
            }
          }
        } else {
          b = new Backend(n, remembered(def, rememberedHere));
        }
        return new BackendState(b, drainsByBackend.getOrDefault(n, List.of()));
      });
    }
    // a drain's end removes the cluster only when nothing else keeps it: a route that still lists the backend
    // (a canary at 0% stays warm), or another route's drain
    List<EndedDrain> told = ended.stream().map(e -> backends.containsKey(e.backend())
        ? new EndedDrain(e.route(), e.backend(), e.start(), e.deadline(), e.outcome(),
            keeper(model, drainsByBackend, e.route(), e.backend()))
        : e).toList();
    Optional<Instant> next = drains.values().stream().map(DrainRecord::deadline).min(Instant::compareTo);
    DesiredState desired = new DesiredState(model.listeners(), routes, new ArrayList<>(backends.values()), next,
        model.secrets());
    return new Result(desired, new DrainState(active, drains, endedEarly), told);
  }

  /** The route that keeps a backend in the config: its own route if that still lists it, else another. */
  private static Optional<String> keeper(Model model, Map<String, List<Drain>> drainsByBackend, String route,
      String backend) {
    if (model.route(route).map(r -> r.backendNames().contains(backend)).orElse(false)) {
      return Optional.of(route);
    }
    return model.routes().stream().filter(r -> r.backendNames().contains(backend)).map(Route::name).findFirst()
        .or(() -> drainsByBackend.getOrDefault(backend, List.of()).stream().map(Drain::route).findFirst());
  }

  /**
   * The backend's current endpoints, plus every remembered endpoint it no longer lists, as DRAINING: a pod
   * that went away during a drain keeps its established streams until the deadline.
   */
  static List<Endpoint> remembered(Backend current, List<Endpoint> remembered) {
    if (remembered.isEmpty() && current != null && sortedAndDistinct(current.endpoints())) {
      return current.endpoints(); // the common case (nothing draining): what the rest would give, the same list
    }
    Map<String, Endpoint> byHostPort = new LinkedHashMap<>();
    if (current != null) {
      current.endpoints().forEach(e -> byHostPort.put(e.hostPort(), e));
    }
    for (Endpoint e : remembered) {
      byHostPort.putIfAbsent(e.hostPort(), e.withState(EndpointState.DRAINING));
    }
    return byHostPort.values().stream().sorted(Endpoint.ORDER).toList();
  }

  /** In {@link Endpoint#ORDER}, strictly, all in one zone: so no two share a host and port. */
  private static boolean sortedAndDistinct(List<Endpoint> endpoints) {
    for (int i = 1; i < endpoints.size(); i++) {
      Endpoint a = endpoints.get(i - 1);
      Endpoint b = endpoints.get(i);
      if (!a.zone().equals(b.zone()) || Endpoint.ORDER.compare(a, b) >= 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * What the route lists: the backends with weight, plus the route's other backend at weight 0 (a canary rolled
   * back to 0, or the old stable of a canary at 100) while its entry exists. Every client family tested accepts a
   * 0 entry (docs/COMPATIBILITY.md), and gRPC clients keep a cluster warm, and counted in their load reports, only
   * while a route names it; Envoy ignores a 0 weight.
   */
  static List<WeightedBackend> routed(Route r, List<WeightedBackend> weights, Map<String, Backend> defs) {
    if (r.rollout().canary().isEmpty()) {
      return weights;
    }
    Map<String, Integer> w = new TreeMap<>();
    for (String b : List.of(r.rollout().stable(), r.rollout().canary().get())) {
      if (defs.containsKey(b)) {
        w.put(b, 0);
      }
    }
    weights.forEach(x -> w.put(x.backend(), x.weight()));
    return w.entrySet().stream().map(e -> new WeightedBackend(e.getKey(), e.getValue())).toList();
  }

  /** Non-zero weights only, sorted by backend name: the backends that get the route's new streams. */
  static List<WeightedBackend> weights(Route r) {
    Map<String, Integer> w = new TreeMap<>();
    if (r.rollout().stableWeightBasisPoints() > 0) {
      w.put(r.rollout().stable(), r.rollout().stableWeightBasisPoints());
    }
    r.rollout().canary().filter(c -> r.rollout().canaryWeightBasisPoints() > 0)
        .ifPresent(c -> w.put(c, r.rollout().canaryWeightBasisPoints()));
    return w.entrySet().stream().map(e -> new WeightedBackend(e.getKey(), e.getValue())).toList();
  }
}
