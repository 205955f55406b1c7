package dev.ebb.admin;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Res;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/** /config_dump: the resources each node group gets, as protobuf JSON. */
public final class ConfigDump {
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer()
      .usingTypeRegistry(JsonFormat.TypeRegistry.newBuilder()
          .add(HttpConnectionManager.getDescriptor())
          .add(Router.getDescriptor())
          .add(HttpProtocolOptions.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.getDescriptor())
          .build())
      .omittingInsignificantWhitespace();

  private ConfigDump() {}

  /** Groups: proxyless gRPC, Envoy with no node cluster, and the groups of every connected node. */
  public static String render(XdsSnapshot snapshot, Collection<NodeGroup> connected) {
    Set<NodeGroup> groups = new LinkedHashSet<>();
    groups.add(new NodeGroup(true, ""));
    groups.add(NodeGroup.GRPC);
    groups.addAll(connected);
    StringBuilder sb = new StringBuilder();
    sb.append("{\"version\":\"").append(snapshot.version()).append("\",\"groups\":[");
    boolean firstGroup = true;
    for (NodeGroup g : groups) {
      if (!firstGroup) {
        sb.append(',');
      }
      firstGroup = false;
      sb.append("{\"group\":\"").append(g.label()).append("\",\"nodeCluster\":")
          .append(quote(g.nodeCluster())).append(",\"resources\":{");
      boolean firstType = true;
      XdsSnapshot.View view = snapshot.view(g);
      for (TypeUrl t : TypeUrl.ORDER) {
        if (!firstType) {
          sb.append(',');
        }
        firstType = false;
        sb.append('"').append(t.shortName()).append("\":[");
        boolean first = true;
        for (Res r : view.of(t).values()) {
          if (!first) {
            sb.append(',');
          }
          first = false;
          sb.append("{\"name\":").append(quote(r.name())).append(",\"version\":\"").append(r.hash())
              .append("\",\"resource\":").append(json(redacted(r.message()))).append('}');
        }
        sb.append(']');
      }
      sb.append("}}");
    }
    sb.append("]}");
    return sb.toString();
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

  public static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
