package dev.ebb.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Res;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * /config_dump: the resources each node group gets, as JSON (each resource in protobuf's JSON mapping). Groups
 * are named by an id, which {@code /config_dump?group=ID} takes: {@code grpc} (proxyless gRPC clients),
 * {@code envoy} (Envoy nodes with no {@code node.cluster} a listener names) and {@code envoy:CLUSTER} (Envoy nodes
 * of that {@code node.cluster}). Any group can be asked for, connected or not, so the config of a
 * {@code nodeClusters: [sidecar]} listener can be checked before the first sidecar connects.
 */
public final class ConfigDump {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer()
      .usingTypeRegistry(JsonFormat.TypeRegistry.newBuilder()
          .add(HttpConnectionManager.getDescriptor())
          .add(Router.getDescriptor())
          .add(HttpProtocolOptions.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.getDescriptor())
          .build())
      .omittingInsignificantWhitespace();

  /**
   * What a dump is made of.
   *
   * @param snapshot the published config
   * @param listeners the listeners it was built from: every node cluster they name is a group of the dump
   * @param connected the groups of the nodes connected now
   */
  public record Input(XdsSnapshot snapshot, List<ListenerSpec> listeners, Collection<NodeGroup> connected) {
    public Input {
      listeners = List.copyOf(listeners);
      connected = List.copyOf(connected);
    }
  }

  private ConfigDump() {}

  /** The id of a group: {@code grpc}, {@code envoy} or {@code envoy:CLUSTER}. */
  public static String id(NodeGroup group) {
    if (!group.envoy()) {
      return "grpc";
    }
    return group.nodeCluster().isEmpty() ? "envoy" : "envoy:" + group.nodeCluster();
  }

  /** The group an id names ({@link #id}), or empty when it names none. */
  public static Optional<NodeGroup> group(String id) {
    if (id.equals("grpc")) {
      return Optional.of(NodeGroup.GRPC);
    }
    if (id.equals("envoy")) {
      return Optional.of(new NodeGroup(true, ""));
    }
    if (id.startsWith("envoy:") && id.length() > "envoy:".length()) {
      return Optional.of(new NodeGroup(true, id.substring("envoy:".length())));
    }
    return Optional.empty();
  }

  /**
   * The groups a dump shows when none is asked for: Envoy with no node cluster, proxyless gRPC, Envoy of every
   * node cluster a listener names, and the groups of connected nodes.
   */
  public static List<NodeGroup> groups(Input in) {
    Set<NodeGroup> groups = new LinkedHashSet<>();
    groups.add(new NodeGroup(true, ""));
    groups.add(NodeGroup.GRPC);
    Set<String> named = new TreeSet<>();
    in.listeners().forEach(l -> named.addAll(l.nodeClusters()));
    named.forEach(c -> groups.add(new NodeGroup(true, c)));
    groups.addAll(in.connected());
    return List.copyOf(groups);
  }

  /** The dump of {@code groups}; indented when {@code pretty}. */
  public static String render(Input in, List<NodeGroup> groups, boolean pretty) {
    try {
      JsonNode tree = tree(in, groups);
      return pretty ? JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree) + "\n"
          : JSON.writeValueAsString(tree);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The dump of every group {@link #groups} lists. */
  public static String render(Input in, boolean pretty) {
    return render(in, groups(in), pretty);
  }

  static ObjectNode tree(Input in, List<NodeGroup> groups) throws JsonProcessingException {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", in.snapshot().version());
    ArrayNode out = root.putArray("groups");
    for (NodeGroup g : groups) {
      ObjectNode group = out.addObject();
      group.put("group", g.label());
      group.put("nodeCluster", g.nodeCluster());
      group.put("id", id(g));
      group.put("connected", in.connected().contains(g));
      ObjectNode resources = group.putObject("resources");
      XdsSnapshot.View view = in.snapshot().view(g);
      for (TypeUrl t : TypeUrl.ORDER) {
        ArrayNode list = resources.putArray(t.shortName());
        for (Res r : view.of(t).values()) {
          ObjectNode res = list.addObject();
          res.put("name", r.name());
          res.put("version", r.hash());
          res.set("resource", JSON.readTree(json(redacted(r.message()))));
        }
      }
    }
    return root;
  }

  /** A private key never leaves Ebb except to the proxy: the dump shows that there is one, not what it is. */
  static Message redacted(Message m) {
    if (m instanceof io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret secret
        && secret.hasTlsCertificate()) {
      return secret.toBuilder().setTlsCertificate(secret.getTlsCertificate().toBuilder()
          .setPrivateKey(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
              .setInlineString("[redacted]"))).build();
    }
    return m;
  }

  static String json(Message m) {
    try {
      return PRINTER.print(m);
    } catch (InvalidProtocolBufferException e) {
      return quote("unprintable: " + e.getMessage());
    }
  }

  /** A JSON string literal (for the callers that still build JSON by hand). */
  public static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
