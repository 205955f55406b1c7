package dev.ebb.bench;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/**
 * What the simulated nodes read from a resource: only what they need to subscribe further and to tell which
 * change they hold (a "token": a route's canary weight, the sum of a backend's ports). Parsed once per
 * content across all nodes (keyed by versions, which every server here derives from content), so that
 * thousands of nodes fit in the load generator; name lists and sets are shared between nodes.
 */
final class Wire {
  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String SRDS = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration";
  /** Index order of the per-type counters. */
  static final List<String> TYPES = List.of(LDS, CDS, EDS, RDS, SRDS);

  /** One resource as the nodes see it. */
  record Summary(String name, String ref, Map<String, Integer> tokens, List<String> clusters, int token) {}

  private static final ConcurrentMap<String, Object> PARSED = new ConcurrentHashMap<>();
  private static final ConcurrentMap<Set<String>, Set<String>> SETS = new ConcurrentHashMap<>();

  private Wire() {}

  static int index(String type) {
    return TYPES.indexOf(type);
  }

  /**
   * A SotW response's resources, each parsed once per (type, version, name). With versions derived from content
   * (Ebb: of exactly the resources in the response; java-control-plane here: of every resource of the type;
   * naive: one counter for one snapshot), one name at one version is one content.
   */
  static List<Summary> sotw(String type, String version, List<Any> resources) {
    List<Summary> out = new ArrayList<>(resources.size());
    for (Any a : resources) {
      String name = nameOf(a);
      out.add(name == null ? summarize(type, a)
          : (Summary) cached("s|" + type + "|" + version + "|" + name, () -> summarize(type, a)));
    }
    return out;
  }

  /** Field 1 is the name in each of these types, and protobuf writes it first: read it without parsing. */
  private static String nameOf(Any a) {
    try {
      com.google.protobuf.CodedInputStream in = a.getValue().newCodedInput();
      return in.readTag() == 10 ? in.readStringRequireUtf8() : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** A delta resource, parsed once per (type, name, version). */
  static Summary delta(String type, String name, String version, Any resource) {
    return (Summary) cached("d|" + type + "|" + name + "|" + version, () -> summarize(type, resource));
  }

  private static Object cached(String key, Supplier<Object> parse) {
    Object v = PARSED.get(key);
    if (v == null) {
      if (PARSED.size() > 200_000) {
        PARSED.clear(); // old versions: bounded memory over a long run
      }
      v = parse.get();
      Object before = PARSED.putIfAbsent(key, v);
      v = before == null ? v : before;
    }
    return v;
  }

  /** One shared instance per distinct set of names. */
  static Set<String> canonical(Set<String> names) {
    Set<String> copy = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(names));
    Set<String> before = SETS.putIfAbsent(copy, copy);
    return before == null ? copy : before;
  }

  static Set<String> sorted(Iterable<String> names) {
    java.util.SortedSet<String> s = new TreeSet<>();
    names.forEach(s::add);
    Set<String> copy = java.util.Collections.unmodifiableSortedSet(s);
    Set<String> before = SETS.putIfAbsent(copy, copy);
    return before == null ? copy : before;
  }

  private static Summary summarize(String type, Any a) {
    try {
      switch (type) {
        case CDS -> {
          Cluster c = Cluster.parseFrom(a.getValue());
          String eds = c.getEdsClusterConfig().getServiceName();
          return new Summary(c.getName(), eds.isEmpty() ? c.getName() : eds, Map.of(), List.of(), 0);
        }
        case EDS -> {
          ClusterLoadAssignment cla = ClusterLoadAssignment.parseFrom(a.getValue());
          int ports = 0;
          for (LocalityLbEndpoints l : cla.getEndpointsList()) {
            for (LbEndpoint e : l.getLbEndpointsList()) {
              ports += e.getEndpoint().getAddress().getSocketAddress().getPortValue();
            }
          }
          return new Summary(cla.getClusterName(), "", Map.of(), List.of(), ports);
        }
        case LDS -> {
          Listener l = Listener.parseFrom(a.getValue());
          HttpConnectionManager hcm = l.hasApiListener()
              ? l.getApiListener().getApiListener().unpack(HttpConnectionManager.class)
              : l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
          // a listener that scopes its routes names no RouteConfiguration: its scopes (SRDS) do
          return new Summary(l.getName(), hcm.hasScopedRoutes() ? "" : hcm.getRds().getRouteConfigName(), Map.of(),
              List.of(), 0);
        }
        case SRDS -> {
          ScopedRouteConfiguration scope = ScopedRouteConfiguration.parseFrom(a.getValue());
          return new Summary(scope.getName(), scope.getRouteConfigurationName(), Map.of(), List.of(), 0);
        }
        default -> {
          RouteConfiguration rc = RouteConfiguration.parseFrom(a.getValue());
          Map<String, Integer> tokens = new HashMap<>();
          Set<String> clusters = new TreeSet<>();
          for (VirtualHost vh : rc.getVirtualHostsList()) {
            int canary = 0;
            for (Route r : vh.getRoutesList()) {
              if (!r.getRoute().getCluster().isEmpty()) {
                clusters.add(r.getRoute().getCluster());
              }
              List<WeightedCluster.ClusterWeight> ws = r.getRoute().getWeightedClusters().getClustersList();
              for (WeightedCluster.ClusterWeight w : ws) {
                clusters.add(w.getName());
              }
              // the canary is the first (b(i-1) sorts before b(i)); the ModelGen routes have one route each
              if (ws.size() > 1) {
                canary = ws.get(0).getWeight().getValue();
              }
            }
            tokens.put(vh.getName(), canary);
          }
          return new Summary(rc.getName(), "", Map.copyOf(tokens), List.copyOf(clusters), 0);
        }
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(type + ": " + e.getMessage(), e);
    }
  }
}
