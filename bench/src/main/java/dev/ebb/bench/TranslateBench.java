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
  }

  @Benchmark
  public XdsSnapshot build() {
    RolloutEngine.Result r = RolloutEngine.step(model, drains, now);
    return XdsSnapshot.of(translator.translate(r.desired()));
  }
}
