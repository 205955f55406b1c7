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
    Warmup.Result first = Warmup.run(SETTINGS, Duration.ofMinutes(1), 12);
    Warmup.Result second = Warmup.run(SETTINGS, Duration.ofMinutes(1), 12);
    assertThat(first.builds()).isEqualTo(12);
    assertThat(second.builds()).isEqualTo(12);
    assertThat(second.lastVersion()).isNotEmpty().isEqualTo(first.lastVersion());
    assertThat(second.bytes()).isPositive().isEqualTo(first.bytes());
  }

  @Test
  void stopsWhenItsBudgetIsSpent() {
    assertThat(Warmup.run(SETTINGS, Duration.ZERO, Integer.MAX_VALUE).builds()).isZero();
    // no build cap: only the budget ends it (checked between stages, so it can overrun by one stage)
    Warmup.Result r = Warmup.run(SETTINGS, Duration.ofMillis(300), Integer.MAX_VALUE);
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
    Warmup.Result r = Warmup.run(SETTINGS, Duration.ofMinutes(1), 6, served::add);

    assertThat(served).hasSize(6);
    assertThat(served.get(5).version()).isEqualTo(r.lastVersion());
    // 5, 10, 20, 40, 80, 160 routes, two backends each
    assertThat(r.parsedItems()).isEqualTo(3 * (5 + 10 + 20 + 40 + 80 + 160));
  }
}
