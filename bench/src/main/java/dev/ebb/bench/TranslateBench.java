package dev.ebb.bench;

import dev.ebb.api.model.Model;
import dev.ebb.publish.XdsSnapshot;
import dev.ebb.rollout.DrainState;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.translate.EnvoyTranslator;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** The pure stages: rollout step + translate + snapshot build (hashes, reference check) for one model. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TranslateBench {
  @Param({"100", "1000", "10000"})
  public int routes;

  Model model;
  EnvoyTranslator translator;
  DrainState drains;
  Instant now;

  @Setup
  public void setup() {
    model = ModelGen.model(routes, 2000, 0);
    translator = new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT);
    now = Instant.parse("2026-01-01T00:00:00Z");
    drains = RolloutEngine.step(model, DrainState.EMPTY, now).next();
    shifted = ModelGen.model(routes, 2100, 0);
    hotShifted = ModelGen.model(routes, 2000, 2100, 0);
  }

  Model shifted;
  Model hotShifted;
  XdsSnapshot previous;
  boolean flip;

  /** A whole build from nothing: what a restart or a first sync costs. */
  @Benchmark
  public XdsSnapshot fullBuild() {
    RolloutEngine.Result r = RolloutEngine.step(model, drains, now);
    return XdsSnapshot.of(new EnvoyTranslator(EnvoyTranslator.Settings.DEFAULT).translate(r.desired()));
  }

  /** A weight change of the half of the routes mid-rollout, on top of the previous build (what a shift costs). */
  @Benchmark
  public XdsSnapshot weightChange() {
    flip = !flip;
    RolloutEngine.Result r = RolloutEngine.step(flip ? shifted : model, drains, now);
    previous = XdsSnapshot.of(translator.translate(r.desired()), previous);
    return previous;
  }

  /** A weight change of one route (a rollout step), on top of the previous build. */
  @Benchmark
  public XdsSnapshot oneRouteChange() {
    flip = !flip;
    RolloutEngine.Result r = RolloutEngine.step(flip ? hotShifted : model, drains, now);
    previous = XdsSnapshot.of(translator.translate(r.desired()), previous);
    return previous;
  }

  /**
   * The rollout step alone for a one-route change, and the comparison with the drain state before it (the
   * pipeline stores the drain state only when it changed): the part of a build before the translator.
   */
  @Benchmark
  public boolean oneRouteRolloutStep() {
    flip = !flip;
    RolloutEngine.Result r = RolloutEngine.step(flip ? hotShifted : model, drains, now);
    return r.next().equals(drains);
  }
}
