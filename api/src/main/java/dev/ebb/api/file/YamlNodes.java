package dev.ebb.api.file;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** A YAML mapping read field by field, reporting problems with the field's name, value and position. */
final class YamlNodes {
  /** A problem in one field; the caller prefixes the object name. */
  record Problem(String field, String value, String detail, Node at) {}

  private final String file;
  private final Map<String, NodeTuple> fields = new LinkedHashMap<>();
  private final List<Problem> problems = new ArrayList<>();

  private YamlNodes(String file) {
    this.file = file;
  }

  static YamlNodes of(String file, MappingNode node) {
    YamlNodes y = new YamlNodes(file);
    for (NodeTuple t : node.getValue()) {
      if (!(t.getKeyNode() instanceof ScalarNode key)) {
        y.problems.add(new Problem("(key)", "", "keys must be plain names", t.getKeyNode()));
        continue;
      }
      if (y.fields.containsKey(key.getValue())) {
        y.problems.add(new Problem(key.getValue(), "", "is given twice", key));
        continue;
      }
      y.fields.put(key.getValue(), t);
    }
    return y;
  }

  List<Problem> problems() {
    return problems;
  }

  String location(Node n) {
    return file + ":" + (n.getStartMark().getLine() + 1) + ":" + (n.getStartMark().getColumn() + 1);
  }

  void rejectUnknown(Set<String> known) {
    for (Map.Entry<String, NodeTuple> e : fields.entrySet()) {
      if (!known.contains(e.getKey())) {
        // an empty key ("": x) is named by its quotes, so the message still says which field
        problems.add(new Problem(e.getKey().isEmpty() ? "\"\"" : e.getKey(), "", "is not a known field (known: " + String.join(", ",
            known.stream().sorted().toList()) + ")", e.getValue().getKeyNode()));
      }
    }
  }

  boolean has(String field) {
    return fields.containsKey(field) && !isNull(fields.get(field).getValueNode());
  }

  Optional<Node> node(String field) {
    NodeTuple t = fields.get(field);
    return t == null || isNull(t.getValueNode()) ? Optional.empty() : Optional.of(t.getValueNode());
  }

  /** A scalar's text; a non-scalar is reported and read as empty. */
  Optional<String> scalar(String field) {
    Optional<Node> n = node(field);
    if (n.isEmpty()) {
      return Optional.empty();
    }
    if (n.get() instanceof ScalarNode s) {
      return Optional.of(s.getValue());
    }
    problems.add(new Problem(field, "", "must be a single value, not a list or mapping", n.get()));
    return Optional.empty();
  }

  Optional<String> requiredScalar(String field) {
    if (!has(field)) {
      problems.add(new Problem(field, "", "is required", null));
      return Optional.empty();
    }
    return scalar(field);
  }

  /** A sequence of nodes; a scalar or mapping is reported and read as empty. */
  List<Node> list(String field) {
    Optional<Node> n = node(field);
    if (n.isEmpty()) {
      return List.of();
    }
    if (n.get() instanceof SequenceNode s) {
      return s.getValue();
    }
    problems.add(new Problem(field, "", "must be a list", n.get()));
    return List.of();
  }

  /** A list of scalars. */
  List<String> scalars(String field) {
    List<String> out = new ArrayList<>();
    for (Node n : list(field)) {
      if (n instanceof ScalarNode s) {
        out.add(s.getValue());
      } else {
        problems.add(new Problem(field, "", "must be a list of single values", n));
      }
    }
    return out;
  }

  void problem(String field, String value, String detail) {
    NodeTuple t = fields.get(field);
    problems.add(new Problem(field, value, detail, t == null ? null : t.getValueNode()));
  }

  static boolean isNull(Node n) {
    return n instanceof ScalarNode s && s.getTag().getValue().endsWith(":null");
  }
}
