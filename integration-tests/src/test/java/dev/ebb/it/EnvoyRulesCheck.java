package dev.ebb.it;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.ebb.it.rules.ProtoRules;
import dev.ebb.publish.TypeUrl;
import dev.ebb.xds.StreamState;
import dev.ebb.xds.XdsEvents;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Envoy's own acceptance rules (the protoc-gen-validate rules of its protos) applied to every resource Ebb sends
 * to any client of an integration test: every node group, SotW and delta, as it leaves the server. Ebb in the
 * test fixtures reports here; a fixture fails its test on close when anything it sent broke a rule.
 */
final class EnvoyRulesCheck implements XdsEvents {
  private final List<String> violations = new CopyOnWriteArrayList<>();
  private final AtomicLong checked = new AtomicLong();

  EnvoyRulesCheck() {
    // the rules' type registry is built once per JVM by loading every class of the api jar: seconds on 2 cores
    // while Ebb's background warm-up runs. Built here, on the test's thread before Ebb starts, not inside the
    // first response (where it held that stream, and the first config came after the tests' 10 s deadline)
    ProtoRules.typeRegistry();
  }

  @Override
  public void responded(StreamState stream, TypeUrl type, Message response) {
    String who = "node " + stream.nodeId() + " (" + stream.group().map(g -> g.label() + "/" + g.nodeCluster())
        .orElse("?") + ")";
    if (response instanceof DiscoveryResponse r) {
      int i = 0;
      for (Any any : r.getResourcesList()) {
        check(who, type.shortName() + " #" + i++ + " (SotW)", any);
      }
    } else if (response instanceof DeltaDiscoveryResponse r) {
      r.getResourcesList().forEach(res -> check(who, type.shortName() + " " + res.getName() + " (delta)",
          res.getResource()));
    }
  }

  private void check(String who, String resource, Any any) {
    checked.incrementAndGet();
    ProtoRules.checkAny(resource, any).forEach(v -> violations.add(who + ": " + v));
  }

  long checked() {
    return checked.get();
  }

  List<String> violations() {
    return List.copyOf(violations);
  }

  /** Throws when any resource sent so far breaks one of Envoy's rules. */
  void assertNone() {
    if (!violations.isEmpty()) {
      throw new AssertionError(violations.size() + " resources sent by Ebb break Envoy's proto rules:\n  "
          + String.join("\n  ", violations.subList(0, Math.min(20, violations.size()))));
    }
  }
}
