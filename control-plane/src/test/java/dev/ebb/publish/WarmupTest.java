package dev.ebb.publish;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.file.FileConfigParser;
import dev.ebb.api.file.ParsedConfig;
import dev.ebb.api.model.Model;
import dev.ebb.rollout.DrainState;
import dev.ebb.rollout.RolloutEngine;
import dev.ebb.translate.EnvoyTranslator;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class WarmupTest {
  static final EnvoyTranslator.Settings SETTINGS = EnvoyTranslator.Settings.DEFAULT;

  @Test
  void runsTwiceWithTheSameOutcomeSoItLeavesNoStateBehind() {
    Warmup.Result first = Warmup.run(SETTINGS, Duration.ofMinutes(1), 12, 3);
    Warmup.Result second = Warmup.run(SETTINGS, Duration.ofMinutes(1), 12, 3);
    assertThat(first.builds()).isEqualTo(12);
    assertThat(second.builds()).isEqualTo(12);
    assertThat(second.lastVersion()).isNotEmpty().isEqualTo(first.lastVersion());
    assertThat(second.bytes()).isPositive().isEqualTo(first.bytes());
  }

  @Test
  void stopsWhenItsBudgetIsSpent() {
    assertThat(Warmup.run(SETTINGS, Duration.ZERO, Integer.MAX_VALUE, Integer.MAX_VALUE).builds()).isZero();
    // no build cap: only the budget ends it (checked between stages, so it can overrun by one stage)
    Warmup.Result r = Warmup.run(SETTINGS, Duration.ofMillis(300), Integer.MAX_VALUE, 0);
    assertThat(r.took()).isGreaterThanOrEqualTo(Duration.ofMillis(300)).isLessThan(Duration.ofSeconds(30));
  }

  @Test
  void thePublicEntryPointKeepsToTheBuildCap() {
    Duration took = Warmup.run(SETTINGS, Duration.ofMillis(500));
    assertThat(took).isLessThan(Duration.ofSeconds(30));
  }

  @Test
  void theSyntheticModelStartsAndEndsDrains() {
    DrainState drains = DrainState.EMPTY;
    boolean started = false;
    boolean ended = false;
    for (int i = 0; i < 10; i++) {
      RolloutEngine.Result step = RolloutEngine.step(Warmup.model(i, Warmup.ROUTES), drains,
          Instant.EPOCH.plusSeconds(i));
      assertThat(step.desired().routes()).hasSize(Warmup.ROUTES);
      started |= step.next().drains().size() > drains.drains().size();
      ended |= !step.ended().isEmpty();
      drains = step.next();
    }
    assertThat(started).isTrue();
    assertThat(ended).isTrue();
  }

  @Test
  void theWarmUpFileReadsBackAsTheModelItWasWrittenFrom() {
    for (int i : new int[] {0, 3, 11}) {
      Model model = Warmup.model(i, Warmup.ROUTES);
      ParsedConfig read = FileConfigParser.parse(Warmup.yaml(model), "warmup.yaml");

      assertThat(read.errors()).isEmpty();
      // the synthetic routes keep streams up to an hour with a 3 s drain: the parser says so, and reads them
      assertThat(read.warnings()).extracting(dev.ebb.api.model.ConfigError::field).containsOnly("maxStreamDuration");
      assertThat(read.listeners()).isEqualTo(model.listeners());
      assertThat(read.routes()).isEqualTo(model.routes());
      assertThat(read.backends()).isEqualTo(model.backends());
    }
  }

  @Test
  void eachBuildIsReadAsAnEditedFileAndHandedToTheServingSide() {
    java.util.List<XdsSnapshot> served = new java.util.ArrayList<>();
    Warmup.Result r = Warmup.run(SETTINGS, Duration.ofMinutes(1), 6, 0, served::add);

    assertThat(served).hasSize(6);
    assertThat(served.get(5).version()).isEqualTo(r.lastVersion());
    // 5, 10, 20, 40, 80, 160 routes, two backends each, but a third of them with no canary in every other build
    int items = 0;
    for (int i = 0; i < 6; i++) {
      Model m = Warmup.model(i, Warmup.routesAt(i));
      items += m.routes().size() + m.backends().size();
    }
    // builds 1, 3 and 5 are plain: 3 of 10, 13 of 40 and 53 of 160 routes have no canary backend
    assertThat(items).isEqualTo(3 * (5 + 10 + 20 + 40 + 80 + 160) - (3 + 13 + 53));
    assertThat(r.parsedItems()).isEqualTo(items);
  }

  @Test
  void anEditMovesOneRoutesWeightAndEveryThirdEditOneEndpointOfABackendWithZones() {
    for (boolean plain : new boolean[] {false, true}) {
      Model before = Warmup.model(0, 60, plain);
      Model after = Warmup.edited(before, 0);
      java.util.List<Integer> changed = new java.util.ArrayList<>();
      for (int i = 0; i < before.routes().size(); i++) {
        if (!before.routes().get(i).equals(after.routes().get(i))) {
          changed.add(i);
          assertThat(after.routes().get(i).withRollout(before.routes().get(i).rollout()))
              .isEqualTo(before.routes().get(i));
          assertThat(after.routes().get(i).rollout().canaryWeightBasisPoints())
              .isNotEqualTo(before.routes().get(i).rollout().canaryWeightBasisPoints());
        }
      }
      assertThat(changed).hasSize(1);
      assertThat(after.backends()).isEqualTo(before.backends());
      assertThat(after.listeners()).isEqualTo(before.listeners());

      Model third = Warmup.edited(after, 2);
      java.util.List<dev.ebb.api.model.Backend> moved = third.backends().stream()
          .filter(b -> !after.backends().contains(b)).toList();
      assertThat(moved).hasSize(1);
      assertThat(moved.get(0).endpoints().get(0).zone()).isNotEmpty();
    }
  }

  @Test
  void theEditsBuildConfigsOfBothShapes() {
    java.util.List<XdsSnapshot> served = new java.util.ArrayList<>();
    Warmup.Result r = Warmup.run(SETTINGS, Duration.ofMinutes(1), 0, Warmup.SHAPE_RUN + 1, served::add);

    assertThat(r.edits()).isEqualTo(Warmup.SHAPE_RUN + 1);
    NodeGroup warm = new NodeGroup(true, "warm");
    // the first run has the TLS listener (and its certificate) that only "warm" nodes get; the plain one has not
    assertThat(served.get(0).view(warm).of(TypeUrl.LISTENER)).hasSize(2);
    assertThat(served.get(Warmup.SHAPE_RUN - 1).view(warm).of(TypeUrl.LISTENER)).hasSize(2);
    assertThat(served.get(Warmup.SHAPE_RUN).view(warm).of(TypeUrl.LISTENER)).hasSize(1);
  }

  @Test
  void theFirstEditsAreOnASmallConfig() {
    Warmup.Result r = Warmup.run(SETTINGS, Duration.ofMinutes(1), 0, 1);
    Model small = Warmup.model(0, Warmup.SMALL_ROUTES, false);

    assertThat(r.edits()).isEqualTo(1);
    assertThat(r.parsedItems()).isEqualTo(small.routes().size() + small.backends().size());
  }

  @Test
  void theBackgroundWarmUpWaitsWhileTheServerIsBusyAndStopsAtItsLimit() {
    Warmup w = new Warmup(SETTINGS, snapshot -> {});
    java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
    assertThat(w.inBackground(Duration.ofMillis(1200), () -> asked.incrementAndGet() > 0, () -> false)).isZero();
    assertThat(asked.get()).isBetween(2, 4); // asked every half second

    long start = System.nanoTime();
    int edits = w.inBackground(Duration.ofSeconds(5), () -> false, () -> false);
    assertThat(edits).isPositive();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void theBackgroundWarmUpEndsAtTheFirstWindowOfEditsInWhichTheJitCompiledNothing() {
    java.util.concurrent.atomic.AtomicInteger configs = new java.util.concurrent.atomic.AtomicInteger();
    Warmup w = new Warmup(SETTINGS, snapshot -> configs.incrementAndGet());
    int flatFrom = Warmup.SMALL_EDITS + 2 * Warmup.QUIET_WINDOW + Warmup.QUIET_WINDOW / 2;
    // the JIT compiles 100 ms per edit until edit flatFrom, then nothing
    int edits = w.inBackground(Duration.ofMinutes(2), () -> false, () -> false, null,
        () -> 100L * Math.min(configs.get(), flatFrom));
    // small edits first (too quick to judge by), then windows of QUIET_WINDOW edits: the one that ends at
    // SMALL_EDITS + 3 windows still saw compilation (half a window's); the next saw none
    assertThat(edits).isEqualTo(Warmup.SMALL_EDITS + 4 * Warmup.QUIET_WINDOW);
    assertThat(configs.get()).isEqualTo(edits);
  }

  @Test
  void theBackgroundWarmUpEndsWhenARealChangeComes() {
    Warmup w = new Warmup(SETTINGS, snapshot -> {});
    java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
    // no change for the first two edits, then one
    assertThat(w.inBackground(Duration.ofMinutes(1), () -> false, () -> asked.incrementAndGet() > 2)).isEqualTo(2);
  }

  @Test
  void theBackgroundWarmUpRunsItsFirstStepOnceNothingIsBusyAndBeforeItsFirstEdit() {
    java.util.List<String> seen = new java.util.ArrayList<>();
    Warmup w = new Warmup(SETTINGS, snapshot -> seen.add("config"));
    java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger stops = new java.util.concurrent.atomic.AtomicInteger();
    // busy for the first two looks, then not; a change after three more looks at stop
    int edits = w.inBackground(Duration.ofMinutes(1), () -> asked.incrementAndGet() <= 2,
        () -> stops.incrementAndGet() > 5, () -> seen.add("first at busy look " + asked.get()));

    assertThat(seen).first().isEqualTo("first at busy look 3");
    assertThat(seen).filteredOn("first at busy look 3"::equals).hasSize(1);
    assertThat(seen.subList(1, seen.size())).containsOnly("config").hasSize(edits);
    assertThat(edits).isEqualTo(2); // stop is asked before each step: 1-2 busy, 3 the first step, 4-5 edits, 6 ends
  }

  @Test
  void theBackgroundWarmUpEndsWhenItsThreadIsInterrupted() {
    Warmup w = new Warmup(SETTINGS, snapshot -> {});
    Thread.currentThread().interrupt();
    try {
      assertThat(w.inBackground(Duration.ofMinutes(1), () -> false, () -> false)).isZero();
    } finally {
      Thread.interrupted();
    }
  }
}
