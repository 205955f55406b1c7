package dev.ebb.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.publish.DrainStore;
import dev.ebb.rollout.DrainState;
import dev.ebb.rollout.DrainState.RouteBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileDrainStoreTest {
  @TempDir
  Path dir;

  @Test
  void drainsSurviveARoundTrip() {
    Path yaml = dir.resolve("ebb.yaml");
    FileDrainStore store = new FileDrainStore(FileDrainStore.besides(yaml));
    assertThat(store.file()).isEqualTo(dir.resolve("ebb.yaml.ebb-state.json"));
    var active = new TreeMap<RouteBackend, DrainState.Active>();
    // active backends are stored without endpoints (the source has them); drains keep theirs
    active.put(new RouteBackend("chat", "v2"), new DrainState.Active(Duration.ofMinutes(15), List.of(),
        dev.ebb.api.model.Protocol.GRPC));
    var drains = new TreeMap<RouteBackend, DrainState.DrainRecord>();
    drains.put(new RouteBackend("chat", "v1"), new DrainState.DrainRecord(Instant.parse("2026-01-01T00:00:00.123Z"),
        Duration.ofMinutes(15), List.of(new Endpoint("::1", 81, "z1", EndpointState.DRAINING)),
        dev.ebb.api.model.Protocol.WEBSOCKET));
    var early = new TreeMap<RouteBackend, DrainState.EarlyEnd>();
    early.put(new RouteBackend("feed", "v0"), new DrainState.EarlyEnd(Instant.parse("2026-01-01T00:00:00Z"),
        Instant.parse("2026-01-01T00:15:00Z"), Instant.parse("2026-01-01T00:02:30Z"), "load reports: idle"));
    DrainState state = new DrainState(active, drains, early);
    store.save(state);
    DrainStore.Loaded loaded = new FileDrainStore(store.file()).load();
    assertThat(loaded.problem()).isEmpty();
    assertThat(loaded.state()).isEqualTo(state);
  }

  @Test
  void missingFileMeansNoDrains() {
    DrainStore.Loaded loaded = new FileDrainStore(dir.resolve("none.json")).load();
    assertThat(loaded.problem()).isEmpty();
    assertThat(loaded.state()).isEqualTo(DrainState.EMPTY);
  }

  @Test
  void corruptFileIsReportedAndTreatedAsNoDrains() throws Exception {
    Path f = dir.resolve("ebb.yaml.ebb-state.json");
    Files.writeString(f, "{\"drains\": [{\"route\": \"chat\"");
    DrainStore.Loaded loaded = new FileDrainStore(f).load();
    assertThat(loaded.state()).isEqualTo(DrainState.EMPTY);
    assertThat(loaded.problem()).hasValueSatisfying(p -> assertThat(p).contains("is corrupt").contains(f.toString())
        .contains("starting with no drains"));
  }

  /** Issue 14.6: a state file that cannot be written (a read-only ConfigMap mount) points at --state-file. */
  @Test
  void aStateFileThatCannotBeWrittenNamesTheFlag() throws Exception {
    Path notADirectory = Files.writeString(dir.resolve("mount"), "a file where a directory should be");
    FileDrainStore store = new FileDrainStore(notADirectory.resolve("ebb.yaml.ebb-state.json"));
    var drains = new TreeMap<RouteBackend, DrainState.DrainRecord>();
    drains.put(new RouteBackend("chat", "v1"), new DrainState.DrainRecord(Instant.parse("2026-03-01T12:00:00Z"),
        Duration.ofMinutes(15), List.of(), dev.ebb.api.model.Protocol.WEBSOCKET));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.save(new DrainState(new TreeMap<>(), drains)))
        .isInstanceOf(java.io.UncheckedIOException.class)
        .hasMessageStartingWith("cannot write drain state " + store.file() + ": ")
        .hasMessageEndingWith("; if its directory is read-only (a ConfigMap mount), give a writable path with"
            + " --state-file PATH");
  }
}
