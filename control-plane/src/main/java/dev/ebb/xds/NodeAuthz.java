package dev.ebb.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Status;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * SPEC 11 node authorization: which node clusters the identity in a client certificate (a SAN URI such as a
 * SPIFFE ID, or a DNS name) may claim. {@code *} may stand for the last path segment of a URI. A stream whose
 * node claims a cluster its certificate may not claim is refused with PERMISSION_DENIED before it gets anything.
 */
public final class NodeAuthz {
  /** One entry of the file. */
  public record Rule(String identity, Set<String> nodeClusters) {
    boolean matches(String id) {
      if (identity.endsWith("/*")) {
        String prefix = identity.substring(0, identity.length() - 1);
        return id.startsWith(prefix) && id.length() > prefix.length() && id.indexOf('/', prefix.length()) < 0;
      }
      return identity.equals(id);
    }
  }

  private final List<Rule> rules;

  public NodeAuthz(List<Rule> rules) {
    this.rules = List.copyOf(rules);
  }

  /** Reads {@code --xds-node-authz}: a YAML list of {identity, nodeClusters}. Errors name the entry and field. */
  public static NodeAuthz load(Path file) {
    Object doc;
    try (Reader r = Files.newBufferedReader(file)) {
      doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("--xds-node-authz " + file + ": cannot read it: " + e.getMessage(), e);
    }
    if (!(doc instanceof List<?> list)) {
      throw new IllegalArgumentException("--xds-node-authz " + file + ": must be a list of {identity, nodeClusters}");
    }
    List<Rule> rules = new ArrayList<>();
    int i = 0;
    for (Object o : list) {
      i++;
      String where = "--xds-node-authz " + file + ": entry #" + i;
      if (!(o instanceof Map<?, ?> m) || !(m.get("identity") instanceof String id) || id.isBlank()) {
        throw new IllegalArgumentException(where + ": identity: is required (a SAN URI or DNS name)");
      }
      if (id.indexOf('*') >= 0 && !(id.endsWith("/*") && id.indexOf('*') == id.length() - 1)) {
        throw new IllegalArgumentException(where + ": identity: " + id + ": * is allowed only as the last path"
            + " segment");
      }
      if (!(m.get("nodeClusters") instanceof List<?> clusters) || clusters.isEmpty()
          || !clusters.stream().allMatch(c -> c instanceof String s && !s.isBlank())) {
        throw new IllegalArgumentException(where + ": nodeClusters: must be a non-empty list of node.cluster names");
      }
      Set<String> names = new LinkedHashSet<>();
      clusters.forEach(c -> names.add((String) c));
      if (!(m.keySet().stream().allMatch(k -> k.equals("identity") || k.equals("nodeClusters")))) {
        throw new IllegalArgumentException(where + ": only identity and nodeClusters are known fields");
      }
      rules.add(new Rule(id, names));
    }
    return new NodeAuthz(rules);
  }

  /** Why {@code identities} may not claim the node's cluster, or empty when one of them may. */
  public Optional<String> deny(List<String> identities, Node node) {
    for (String id : identities) {
      for (Rule r : rules) {
        if (r.matches(id) && r.nodeClusters().contains(node.getCluster())) {
          return Optional.empty();
        }
      }
    }
    return Optional.of("identity " + (identities.isEmpty() ? "(none)" : String.join(",", identities))
        + " may not claim node cluster \"" + node.getCluster() + "\" (node " + node.getId() + ")");
  }

  /** Status for a refused stream. */
  static Status denied(String why) {
    return Status.PERMISSION_DENIED.withDescription(why);
  }
}
