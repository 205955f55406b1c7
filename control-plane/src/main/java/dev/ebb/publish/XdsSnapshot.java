package dev.ebb.publish;

import dev.ebb.translate.Translation;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An immutable, checked set of resources with content-hash versions, and the view each node group gets of
 * it. Built only through {@link #of}, which refuses a snapshot whose references dangle.
 */
public final class XdsSnapshot {
  /** What one node group gets: resources by type and name, and the clusters each RouteConfiguration names. */
  public record View(Map<TypeUrl, SortedMap<String, Res>> resources, Map<String, Set<String>> routeClusters,
      Map<TypeUrl, String> versions) {
    public SortedMap<String, Res> of(TypeUrl type) {
      return resources.get(type);
    }

    /** The content hash of every resource of this type in the view: the version of a response holding them all. */
    public String version(TypeUrl type) {
      return versions.get(type);
    }
  }

  /**
   * A socket listener and what it references, hashed: its RouteConfigurations and scopes by name (see
   * {@link Translation.EnvoyListener}); {@code source} says which node clusters get them.
   */
  public record ListenerRes(Res listener, SortedMap<String, Res> routes, SortedMap<String, Res> scopes,
      Translation.EnvoyListener source) {}

  private final String version;
  private final SortedMap<String, Res> clusters;
  private final SortedMap<String, Res> grpcClusters;
  private final SortedMap<String, Res> endpoints;
  private final List<ListenerRes> envoyListeners;
  private final SortedMap<String, Res> grpcListeners;
  private final SortedMap<String, Res> grpcRoutes;
  /** The clusters each RouteConfiguration names, by its name: Envoy's (whole and per host) and proxyless. */
  private final Map<String, Set<String>> envoyRouteClusters;
  private final Map<String, Set<String>> grpcRouteClusters;
  private final SortedMap<String, Res> secrets;
  private final Map<NodeGroup, View> views;
  /**
   * The views of the snapshot this one was built on (one level only: never that snapshot itself): a view map whose
   * entries are all the same objects is taken over, so streams holding it see "unchanged" by identity.
   */
  private final Map<NodeGroup, View> previousViews;
  private final long generation;
  private final java.time.Instant observedAt;
  /** The content digest of each of the snapshot's own resource maps, by identity. */
  private final Map<SortedMap<String, Res>, String> digests;

  private XdsSnapshot(SortedMap<String, Res> clusters, SortedMap<String, Res> grpcClusters,
      SortedMap<String, Res> endpoints,
      List<ListenerRes> envoyListeners, SortedMap<String, Res> grpcListeners, SortedMap<String, Res> grpcRoutes,
      Map<String, Set<String>> envoyRouteClusters, Map<String, Set<String>> grpcRouteClusters,
      SortedMap<String, Res> secrets, Map<NodeGroup, View> previousViews,
      Map<SortedMap<String, Res>, String> previousDigests) {
    this.previousViews = previousViews;
    this.clusters = clusters;
    this.secrets = secrets;
    this.grpcClusters = grpcClusters;
    this.endpoints = endpoints;
    this.envoyListeners = envoyListeners;
    this.grpcListeners = grpcListeners;
    this.grpcRoutes = grpcRoutes;
    this.envoyRouteClusters = envoyRouteClusters;
    this.grpcRouteClusters = grpcRouteClusters;
    this.views = new ConcurrentHashMap<>();
    this.generation = 0;
    this.observedAt = java.time.Instant.EPOCH;
    StringBuilder all = new StringBuilder();
    this.digests = new java.util.IdentityHashMap<>();
    for (SortedMap<String, Res> m : List.of(clusters, grpcClusters, endpoints, grpcListeners, grpcRoutes, secrets)) {
      // a map taken over from the previous snapshot keeps its digest: no walk over its thousands of names
      String d = previousDigests.get(m);
      if (d == null) {
        d = versionOf(m.values());
      }
      digests.put(m, d);
      all.append(d).append('|');
    }
    envoyListeners.forEach(l -> {
      all.append(l.listener().hash());
      l.routes().values().forEach(r -> all.append(r.name()).append('=').append(r.hash()).append(','));
      l.scopes().values().forEach(r -> all.append(r.name()).append('=').append(r.hash()).append(','));
      all.append(l.source().spec().nodeClusters()).append(';');
    });
    this.version = Res.shortSha256(all.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** Hashes every resource and checks every reference; throws {@link InconsistentSnapshotException}. */
  public static XdsSnapshot of(Translation t) {
    return of(t, null);
  }

  /**
   * The same, reusing the hash of every resource that is the very same message object as in {@code previous}
   * (the translator hands out the same objects for unchanged inputs).
   */
  public static XdsSnapshot of(Translation t, XdsSnapshot previous) {
    SortedMap<String, Res> clusters = hashAll(t.clusters(), previous == null ? null : previous.clusters);
    SortedMap<String, Res> grpcClusters = hashAll(t.grpcClusters(), previous == null ? null : previous.grpcClusters);
    SortedMap<String, Res> endpoints = hashAll(t.endpoints(), previous == null ? null : previous.endpoints);
    SortedMap<String, Res> grpcListeners = hashAll(t.grpcListeners(),
        previous == null ? null : previous.grpcListeners);
    SortedMap<String, Res> grpcRoutes = hashAll(t.grpcRoutes(), previous == null ? null : previous.grpcRoutes);
    SortedMap<String, Res> secrets = hashAll(t.secrets(), previous == null ? null : previous.secrets);
    Map<String, Res> previousListeners = new java.util.HashMap<>();
    if (previous != null) {
      previous.envoyListeners.forEach(l -> {
        previousListeners.put("l/" + l.listener().name(), l.listener());
        l.routes().forEach((n, r) -> previousListeners.put("r/" + n, r));
        l.scopes().forEach((n, r) -> previousListeners.put("s/" + n, r));
      });
    }
    List<ListenerRes> listeners = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    // the clusters each RouteConfiguration names: an unchanged one (the same object) names the same clusters, and
    // while the clusters are unchanged too they were checked already
    boolean sameClusters = previous != null && previous.clusters == clusters;
    Map<String, Set<String>> previousEnvoyRefs = previous == null ? Map.of() : previous.envoyRouteClusters;
    Map<String, Set<String>> envoyRefs = new java.util.HashMap<>();
    for (Translation.EnvoyListener l : t.envoyListeners()) {
      SortedMap<String, Res> routes = new TreeMap<>();
      l.routeConfigurations().forEach((n, rc) -> {
        Res before = previousListeners.get("r/" + n);
        Res r = reuse(before, rc);
        routes.put(n, r);
        Set<String> known = r == before ? previousEnvoyRefs.get(n) : null;
        Set<String> names = known != null ? known : clusterRefs(rc);
        envoyRefs.put(n, names);
        if (known == null || !sameClusters) {
          checkRefs("envoy/" + n, names, clusters, problems);
        }
      });
      SortedMap<String, Res> scopes = new TreeMap<>();
      l.scopes().forEach((n, scope) -> {
        scopes.put(n, reuse(previousListeners.get("s/" + n), scope));
        // a scope and the RouteConfiguration it names travel together into every view that gets the listener,
        // and Envoy asks for that RouteConfiguration by name as soon as it has the scope: it must be there
        if (!l.routeConfigurations().containsKey(scope.getRouteConfigurationName())) {
          problems.add("scope " + n + " of listener " + l.spec().name() + " names RouteConfiguration "
              + scope.getRouteConfigurationName() + ", which is not sent");
        }
      });
      listeners.add(new ListenerRes(reuse(previousListeners.get("l/" + l.listener().getName()), l.listener()),
          Collections.unmodifiableSortedMap(routes), Collections.unmodifiableSortedMap(scopes), l));
    }
    problems.addAll(sharedScopeTables(t.envoyListeners()));
    Map<String, Set<String>> grpcRefs;
    if (previous != null && previous.grpcRoutes == grpcRoutes && sameClusters) {
      grpcRefs = previous.grpcRouteClusters; // nothing changed for proxyless routes
    } else {
      grpcRefs = new java.util.HashMap<>();
      for (Map.Entry<String, RouteConfiguration> e : t.grpcRoutes().entrySet()) {
        String name = e.getKey();
        Set<String> known = previous != null && previous.grpcRoutes.get(name) == grpcRoutes.get(name)
            ? previous.grpcRouteClusters.get(name) : null;
        Set<String> names = known != null ? known : clusterRefs(e.getValue());
        grpcRefs.put(name, names);
        if (known == null || !sameClusters) {
          checkRefs("grpc/" + name, names, clusters, problems);
        }
      }
      grpcRefs = Collections.unmodifiableMap(grpcRefs);
    }
    for (Cluster c : t.clusters().values()) {
      if (c.getType() == Cluster.DiscoveryType.EDS && !endpoints.containsKey(c.getName())) {
        problems.add("cluster " + c.getName() + " has no ClusterLoadAssignment");
      }
    }
    t.envoyListeners().forEach(l -> l.spec().secretName().filter(n -> !secrets.containsKey(n))
        .ifPresent(n -> problems.add("listener " + l.spec().name() + " names secret " + n + ", which is not sent")));
    t.grpcListeners().keySet().stream().filter(n -> !grpcRoutes.containsKey(n))
        .forEach(n -> problems.add("gRPC listener " + n + " has no RouteConfiguration"));
    if (!problems.isEmpty()) {
      throw new InconsistentSnapshotException(String.join("; ", problems));
    }
    return new XdsSnapshot(clusters, grpcClusters, endpoints, List.copyOf(listeners), grpcListeners, grpcRoutes,
        Collections.unmodifiableMap(envoyRefs), grpcRefs, secrets, previous == null ? Map.of() : previous.views,
        previous == null ? Map.of() : previous.digests);
  }

  private static void checkRefs(String rc, Set<String> names, Map<String, Res> clusters, List<String> problems) {
    for (String n : names) {
      if (!clusters.containsKey(n)) {
        problems.add("RouteConfiguration " + rc + " names cluster " + n + ", which is not sent");
      }
    }
  }

  /**
   * Envoy subscribes to scopes as a wildcard, so every scoped listener of a node gets every scope the node is
   * sent: two scoped listeners on one node would share one table of scopes (the parsers refuse this).
   */
  private static List<String> sharedScopeTables(List<Translation.EnvoyListener> listeners) {
    List<String> problems = new ArrayList<>();
    List<Translation.EnvoyListener> scoped = listeners.stream().filter(l -> l.spec().scopesRoutesByHost()).toList();
    for (int i = 0; i < scoped.size(); i++) {
      for (int j = i + 1; j < scoped.size(); j++) {
        if (scoped.get(i).spec().sharesNodesWith(scoped.get(j).spec())) {
          problems.add("listeners " + scoped.get(i).spec().name() + " and " + scoped.get(j).spec().name()
              + " both scope routes by host for the same Envoy nodes");
        }
      }
    }
    return problems;
  }

  public static XdsSnapshot empty() {
    return new XdsSnapshot(new TreeMap<>(), new TreeMap<>(), new TreeMap<>(), List.of(), new TreeMap<>(),
        new TreeMap<>(), Map.of(), Map.of(), new TreeMap<>(), Map.of(), Map.of());
  }

  private XdsSnapshot(XdsSnapshot s, long generation, java.time.Instant observedAt) {
    this.clusters = s.clusters;
    this.grpcClusters = s.grpcClusters;
    this.endpoints = s.endpoints;
    this.envoyListeners = s.envoyListeners;
    this.grpcListeners = s.grpcListeners;
    this.grpcRoutes = s.grpcRoutes;
    this.envoyRouteClusters = s.envoyRouteClusters;
    this.grpcRouteClusters = s.grpcRouteClusters;
    this.secrets = s.secrets;
    this.views = s.views;
    this.previousViews = s.previousViews;
    this.digests = s.digests;
    this.version = s.version;
    this.generation = generation;
    this.observedAt = observedAt;
  }

  /** The same snapshot as published: its generation and when the change it carries was first seen. */
  public XdsSnapshot published(long generation, java.time.Instant observedAt) {
    return new XdsSnapshot(this, generation, observedAt);
  }

  public long generation() {
    return generation;
  }

  public java.time.Instant observedAt() {
    return observedAt;
  }

  /** Names of every cluster in the snapshot. */
  public java.util.Set<String> clusterNames() {
    return clusters.keySet();
  }

  /** Content hash of everything: the same input gives the same version on every replica and restart. */
  public String version() {
    return version;
  }

  public View view(NodeGroup group) {
    View v = views.get(group); // every response asks: no lambda, no lock on the common path
    return v != null ? v : views.computeIfAbsent(group, this::buildView);
  }

  private View buildView(NodeGroup group) {
    Map<TypeUrl, SortedMap<String, Res>> byType = new EnumMap<>(TypeUrl.class);
    byType.put(TypeUrl.CLUSTER, group.envoy() ? clusters : grpcClusters);
    byType.put(TypeUrl.ENDPOINT, endpoints);
    Map<String, Set<String>> viewRefs;
    if (group.envoy()) {
      Map<String, Set<String>> refs = new java.util.HashMap<>();
      viewRefs = refs;
      SortedMap<String, Res> listeners = new TreeMap<>();
      SortedMap<String, Res> routes = new TreeMap<>();
      SortedMap<String, Res> scopes = new TreeMap<>();
      SortedMap<String, Res> viewSecrets = new TreeMap<>();
      for (ListenerRes l : envoyListeners) {
        if (l.source().spec().servesNodeCluster(group.nodeCluster())) {
          l.source().spec().secretName().ifPresent(n -> viewSecrets.put(n, secrets.get(n)));
          listeners.put(l.listener().name(), l.listener());
          routes.putAll(l.routes());
          scopes.putAll(l.scopes());
          // make-before-break covers the per-host RouteConfigurations of scoped listeners too
          l.routes().keySet().forEach(n -> refs.put(n, envoyRouteClusters.get(n)));
        }
      }
      byType.put(TypeUrl.LISTENER, Collections.unmodifiableSortedMap(listeners));
      byType.put(TypeUrl.SCOPED_ROUTE, Collections.unmodifiableSortedMap(scopes));
      byType.put(TypeUrl.ROUTE, Collections.unmodifiableSortedMap(routes));
      // the same map object as long as this group's secrets are all of them (the common case)
      byType.put(TypeUrl.SECRET, viewSecrets.equals(secrets) ? secrets : Collections.unmodifiableSortedMap(viewSecrets));
    } else {
      byType.put(TypeUrl.SECRET, Collections.emptySortedMap());
      byType.put(TypeUrl.SCOPED_ROUTE, Collections.emptySortedMap());
      byType.put(TypeUrl.LISTENER, grpcListeners);
      byType.put(TypeUrl.ROUTE, grpcRoutes);
      viewRefs = grpcRouteClusters; // every proxyless RouteConfiguration is in the view
    }
    Map<TypeUrl, String> versions = new EnumMap<>(TypeUrl.class);
    View before = previousViews.get(group);
    for (Map.Entry<TypeUrl, SortedMap<String, Res>> e : byType.entrySet()) {
      SortedMap<String, Res> old = before == null ? null : before.of(e.getKey());
      if (old != null && sameEntries(old, e.getValue())) {
        e.setValue(old);
        versions.put(e.getKey(), before.version(e.getKey()));
      } else {
        versions.put(e.getKey(), versionOf(e.getValue().values()));
      }
    }
    return new View(byType, viewRefs, versions);
  }

  /** Same names mapped to the very same resource objects (unchanged resources keep their objects). */
  private static boolean sameEntries(SortedMap<String, Res> a, SortedMap<String, Res> b) {
    if (a == b) {
      return true;
    }
    if (a.size() != b.size()) {
      return false;
    }
    var ia = a.entrySet().iterator();
    var ib = b.entrySet().iterator();
    while (ia.hasNext()) {
      Map.Entry<String, Res> x = ia.next();
      Map.Entry<String, Res> y = ib.next();
      if (x.getValue() != y.getValue() || !x.getKey().equals(y.getKey())) {
        return false;
      }
    }
    return true;
  }

  /**
   * Version of a set of resources: the hash of their names and hashes, in name order. The xDS cache computes
   * versions of subsets with the same function, so a stream holding the whole view gets the view's version.
   */
  public static String versionOf(java.util.Collection<Res> resources) {
    return versionOf(resources, List.of());
  }

  /** The same, with names removed (delta responses). */
  public static String versionOf(java.util.Collection<Res> resources, List<String> removed) {
    StringBuilder sb = new StringBuilder();
    resources.forEach(r -> sb.append(r.name()).append('=').append(r.hash()).append(';'));
    removed.forEach(n -> sb.append('-').append(n).append(';'));
    return Res.hash(sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** The clusters a RouteConfiguration sends streams to. */
  public static Set<String> clusterRefs(RouteConfiguration rc) {
    Set<String> names = new TreeSet<>();
    rc.getVirtualHostsList().forEach(vh -> vh.getRoutesList().forEach(r -> {
      if (r.hasRoute()) {
        if (!r.getRoute().getCluster().isEmpty()) {
          names.add(r.getRoute().getCluster());
        }
        r.getRoute().getWeightedClusters().getClustersList().forEach(c -> names.add(c.getName()));
      }
    }));
    return Collections.unmodifiableSet(names);
  }

  private static <M extends com.google.protobuf.Message> SortedMap<String, Res> hashAll(Map<String, M> in,
      SortedMap<String, Res> previous) {
    if (previous != null && previous.size() == in.size() && in instanceof SortedMap) {
      // the common case, checked without a lookup: every resource the very object it was, in the same order
      var before = previous.entrySet().iterator();
      boolean same = true;
      for (Map.Entry<String, M> e : in.entrySet()) {
        Map.Entry<String, Res> b = before.next();
        if (b.getValue().message() != e.getValue() || !b.getKey().equals(e.getKey())) {
          same = false;
          break;
        }
      }
      if (same) {
        return previous;
      }
    }
    SortedMap<String, Res> out = new TreeMap<>();
    boolean same = previous != null && previous.size() == in.size();
    for (Map.Entry<String, M> e : in.entrySet()) {
      Res before = previous == null ? null : previous.get(e.getKey());
      Res r = reuse(before, e.getValue());
      same &= r == before;
      out.put(e.getKey(), r);
    }
    // nothing changed: keep the previous map itself, so that streams holding it see "same as before" by identity
    return same ? previous : Collections.unmodifiableSortedMap(out);
  }

  private static Res reuse(Res previous, com.google.protobuf.Message m) {
    if (previous != null && previous.message() == m) {
      return previous;
    }
    return Res.of(nameOf(m), m);
  }

  private static String nameOf(com.google.protobuf.Message m) {
    if (m instanceof Cluster c) {
      return c.getName();
    } else if (m instanceof io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment c) {
      return c.getClusterName();
    } else if (m instanceof io.envoyproxy.envoy.config.listener.v3.Listener l) {
      return l.getName();
    } else if (m instanceof io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret s) {
      return s.getName();
    } else if (m instanceof io.envoyproxy.envoy.config.route.v3.ScopedRouteConfiguration s) {
      return s.getName();
    }
    return ((RouteConfiguration) m).getName();
  }
}
