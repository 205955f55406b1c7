package dev.ebb.xds;

import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Res;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.WatchCancelledException;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ebb's answer to java-control-plane's {@code SimpleCache}: the {@link ConfigWatcher} behind its ADS server,
 * plus the server callbacks that tell it which stream a request belongs to. Per stream and type it knows
 * what it sent, and what was ACKed or NACKed, which gives:
 *
 * <ul>
 *   <li>responses that carry a content-hash version of exactly what they hold, sent only when that differs
 *       from the last response on the stream, so a NACKed version is never sent twice in a row (no NACK loop)
 *       while a re-subscription (new names, same versions) is always answered;
 *   <li>make-before-break: a node that subscribes to all clusters (Envoy) gets a RouteConfiguration only once
 *       it has ACKed every cluster that configuration names; until then it keeps the version it has;
 *   <li>EDS re-sent after every CDS response (Envoy waits for it after a cluster update).
 * </ul>
 */
public final class XdsCache implements ConfigWatcher, DiscoveryServerCallbacks {
  private static final Logger LOG = LoggerFactory.getLogger(XdsCache.class);

  private final ConcurrentMap<Long, StreamState> streams = new ConcurrentHashMap<>();
  /** The stream whose request is being handled on this thread: set by the request callback, read by watches. */
  private final ThreadLocal<StreamState> handling = new ThreadLocal<>();
  private final Clock clock;
  private final XdsEvents events;
  private volatile XdsSnapshot snapshot;

  public XdsCache(Clock clock, XdsEvents events) {
    this.clock = clock;
    this.events = events;
  }

  /** Makes {@code next} current and answers every open watch it changes, in the order CDS, EDS, LDS, RDS. */
  public void publish(XdsSnapshot next) {
    this.snapshot = next;
    for (StreamState s : streams.values()) {
      synchronized (s) {
        s.publishing = true;
        s.clustersSentThisPublish = false;
        try {
          for (TypeUrl t : TypeUrl.ORDER) {
            evaluate(s, t);
          }
        } finally {
          s.publishing = false;
          // only for this pass: a later EDS ACK must not be answered by a full resend (that would loop)
          s.clustersSentThisPublish = false;
        }
      }
    }
  }

  /**
   * A response caused by a published change: the node has that change once it ACKs every type the change
   * sent it (one propagation sample per node per change).
   */
  private void noteSent(StreamState s, TypeUrl type, XdsSnapshot snap) {
    s.type(type).sentGeneration = snap.generation();
    if (!s.publishing) {
      return;
    }
    if (type == TypeUrl.CLUSTER) {
      s.clustersSentThisPublish = true;
    }
    if (s.awaitingGeneration != snap.generation()) {
      s.awaitingGeneration = snap.generation();
      s.awaitingObservedAt = snap.observedAt();
      s.awaitingTypes.clear();
    }
    s.awaitingTypes.add(type);
  }

  public Optional<XdsSnapshot> current() {
    return Optional.ofNullable(snapshot);
  }

  public Collection<StreamState> streams() {
    return List.copyOf(streams.values());
  }

  // ---- server callbacks: they run on the gRPC thread of the stream, just before the watch is created ----

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    StreamState s = new StreamState(streamId, clock.instant());
    streams.put(streamId, s);
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId);
  }

  private void closed(long streamId) {
    StreamState s = streams.remove(streamId);
    if (s != null) {
      events.streamClosed(s);
    }
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
    StreamState s = stream(streamId);
    handling.set(s);
    synchronized (s) {
      boolean first = s.node == null;
      if (request.hasNode() && s.node == null) {
        s.node = request.getNode();
        s.group = NodeGroup.of(request.getNode());
      }
      if (first && s.node != null) {
        events.streamOpened(s);
      }
      Optional<TypeUrl> type = TypeUrl.of(request.getTypeUrl());
      if (type.isEmpty()) {
        return;
      }
      StreamState.TypeState ts = s.type(type.get());
      // an empty list is a wildcard only when a stream starts with it (Envoy); grpc-java sends one later to
      // unsubscribe from everything
      boolean empty = request.getResourceNamesCount() == 0;
      ts.wildcard = type.get().wildcardByDefault() && (request.getResourceNamesList().contains("*")
          || empty && (!ts.seenRequest || ts.wildcard));
      ts.seenRequest = true;
      if (!request.getResponseNonce().isEmpty() && request.getResponseNonce().equals(ts.sentNonce)) {
        if (request.hasErrorDetail()) {
          nacked(s, type.get(), ts, ts.sentNonceVersion, request.getErrorDetail().getMessage());
          ts.nackedVersion = ts.sentNonceVersion;
          ts.nackedNonce = ts.sentNonce;
          ts.sent = ts.acked; // what the client has is what it had before that response
        } else if (!ts.sentNonce.equals(ts.nackedNonce) && !ts.sentNonce.equals(ts.ackedNonce)
            && request.getVersionInfo().equals(ts.sentNonceVersion)) {
          // after a NACK the client keeps the nonce on later requests: those are not ACKs; nor is a later
          // request that repeats an ACKed nonce (a re-subscription): one response, one ACK
          ts.ackedNonce = ts.sentNonce;
          ts.acked = ts.sent;
          acked(s, type.get(), ts);
        }
      }
      if (!ts.wildcard) {
        // a name the client no longer asks for is dropped on its side: if it asks again, it must be answered.
        // Most requests (ACKs) repeat the last list: compared in order, no set is built for them
        List<String> names = request.getResourceNamesList();
        if (!names.equals(ts.lastNames)) {
          ts.acked = onlyRequested(ts.acked, names);
        }
        ts.lastNames = names;
      }
    }
  }

  private static Map<String, Res> onlyRequested(Map<String, Res> acked, List<String> names) {
    if (acked.isEmpty()) {
      return acked;
    }
    Set<String> requested = new java.util.HashSet<>(names);
    if (requested.containsAll(acked.keySet())) {
      return acked; // keeps a shared view map shared
    }
    Map<String, Res> kept = new TreeMap<>(acked);
    kept.keySet().retainAll(requested);
    return Map.copyOf(kept);
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    StreamState s = stream(streamId);
    handling.set(s);
    synchronized (s) {
      boolean first = s.node == null;
      s.delta = true;
      if (request.hasNode() && s.node == null) {
        s.node = request.getNode();
        s.group = NodeGroup.of(request.getNode());
      }
      if (first && s.node != null) {
        events.streamOpened(s);
      }
      Optional<TypeUrl> type = TypeUrl.of(request.getTypeUrl());
      if (type.isEmpty()) {
        return;
      }
      StreamState.TypeState ts = s.type(type.get());
      ts.wildcard = type.get().wildcardByDefault();
      if (!request.getResponseNonce().isEmpty() && request.getResponseNonce().equals(ts.sentNonce)
          && !request.getResponseNonce().equals(ts.nackedNonce)
          && !request.getResponseNonce().equals(ts.ackedNonce)) {
        if (request.hasErrorDetail()) {
          nacked(s, type.get(), ts, ts.sentVersion, request.getErrorDetail().getMessage());
          ts.nackedVersion = ts.sentVersion;
          ts.nackedNonce = ts.sentNonce;
          ts.nackedSignature = ts.deltaSignature;
          // what the client has is what it had before this response
          ts.sent = ts.acked;
        } else {
          ts.ackedNonce = ts.sentNonce;
          ts.acked = ts.sent;
          acked(s, type.get(), ts);
        }
      }
    }
  }

  private void acked(StreamState s, TypeUrl type, StreamState.TypeState ts) {
    ts.ackedVersion = ts.sentVersion;
    ts.ackedAt = clock.instant();
    if (ts.nackedVersion != null && !ts.nackedVersion.equals(ts.ackedVersion)) {
      // a newer version was accepted: the rejection is history (counted in nacks), not a current problem
      ts.nackedVersion = null;
      ts.nackDetail = null;
      ts.nackedAt = null;
    }
    events.acked(s, type, ts.sentVersion);
    if (ts.sentGeneration == s.awaitingGeneration && s.awaitingTypes.remove(type) && s.awaitingTypes.isEmpty()) {
      events.propagated(s, java.time.Duration.between(s.awaitingObservedAt, ts.ackedAt));
    }
    if (type == TypeUrl.CLUSTER) {
      // routes held back for these clusters may go now
      evaluate(s, TypeUrl.ROUTE);
    }
  }

  private void nacked(StreamState s, TypeUrl type, StreamState.TypeState ts, String version, String detail) {
    ts.nacks++;
    ts.nackDetail = detail;
    ts.nackedAt = clock.instant();
    LOG.warn("node {} ({}) rejected {} version {}: {}", s.nodeId(), s.group == null ? "?" : s.group.label(),
        type.shortName(), version, detail);
    events.nacked(s, type, version, detail, java.util.Set.copyOf(ts.sent.keySet()));
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    StreamState s = streams.get(streamId);
    if (s == null) {
      return;
    }
    TypeUrl.of(response.getTypeUrl()).ifPresent(t -> {
      s.type(t).sentNonce = response.getNonce();
      s.type(t).sentNonceVersion = response.getVersionInfo();
      events.pushed(s, t, response.getVersionInfo(), response.getResourcesCount(), response.getSerializedSize());
      events.responded(s, t, response);
    });
  }

  @Override
  public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    StreamState s = streams.get(streamId);
    if (s == null) {
      return;
    }
    TypeUrl.of(response.getTypeUrl()).ifPresent(t -> {
      s.type(t).sentNonce = response.getNonce();
      s.type(t).sentNonceVersion = response.getSystemVersionInfo();
      events.pushed(s, t, response.getSystemVersionInfo(), response.getResourcesCount(),
          response.getSerializedSize());
      events.responded(s, t, response);
    });
  }

  private StreamState stream(long streamId) {
    return streams.computeIfAbsent(streamId, id -> new StreamState(id, clock.instant()));
  }

  // ---- watches ----

  @Override
  public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
      Consumer<Response> responseConsumer, boolean hasClusterChanged, boolean allowDefaultEmptyEdsUpdate) {
    Watch watch = new Watch(ads, allowDefaultEmptyEdsUpdate, request, responseConsumer);
    StreamState s = handling.get();
    handling.remove();
    Optional<TypeUrl> type = TypeUrl.of(request.getTypeUrl());
    if (s == null || type.isEmpty()) {
      return watch; // a type Ebb does not serve: never answered
    }
    synchronized (s) {
      StreamState.TypeState ts = s.type(type.get());
      ts.sotwWatch = watch;
      ts.sotwHasClusterChanged = hasClusterChanged;
      watch.setStop(() -> {
        synchronized (s) {
          if (ts.sotwWatch == watch) {
            ts.sotwWatch = null;
          }
        }
      });
      evaluate(s, type.get());
    }
    return watch;
  }

  @Override
  public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
      Map<String, String> resourceVersions, Set<String> pendingResources, boolean isWildcard,
      Consumer<DeltaResponse> responseConsumer, boolean hasClusterChanged) {
    // copies: the server keeps mutating its own maps on the stream's thread
    Map<String, String> tracked = Map.copyOf(resourceVersions);
    Set<String> pending = Set.copyOf(pendingResources);
    DeltaWatch watch = new DeltaWatch(request, tracked, pending, requesterVersion, isWildcard, responseConsumer);
    StreamState s = handling.get();
    handling.remove();
    Optional<TypeUrl> type = TypeUrl.of(request.getTypeUrl());
    if (s == null || type.isEmpty()) {
      return watch;
    }
    synchronized (s) {
      StreamState.TypeState ts = s.type(type.get());
      ts.deltaWatch = watch;
      ts.deltaTracked = tracked;
      ts.deltaPending = pending;
      ts.sotwHasClusterChanged = hasClusterChanged;
      watch.setStop(() -> {
        synchronized (s) {
          if (ts.deltaWatch == watch) {
            ts.deltaWatch = null;
          }
        }
      });
      evaluate(s, type.get());
    }
    return watch;
  }

  /** Answers the stream's open watch for {@code type} if there is anything new to say. Holds the monitor. */
  private void evaluate(StreamState s, TypeUrl type) {
    XdsSnapshot snap = snapshot;
    if (snap == null || s.group == null) {
      return; // nothing published yet: never answer with an empty config
    }
    XdsSnapshot.View view = snap.view(s.group);
    StreamState.TypeState ts = s.type(type);
    if (ts.sotwWatch != null && !ts.sotwWatch.isCancelled()) {
      evaluateSotw(s, type, ts, view);
    } else if (ts.deltaWatch != null && !ts.deltaWatch.isCancelled()) {
      evaluateDelta(s, type, ts, view);
    }
  }

  private void evaluateSotw(StreamState s, TypeUrl type, StreamState.TypeState ts, XdsSnapshot.View view) {
    Watch watch = ts.sotwWatch;
    List<String> names = watch.request().getResourceNamesList();
    SortedMap<String, Res> all = view.of(type);
    Map<String, Res> candidate;
    String version = null;
    if (ts.wildcard || coversAll(ts, watch, all)) {
      candidate = all; // shared by every stream with the same view
      version = view.version(type);
    } else {
      SortedMap<String, Res> subset = new TreeMap<>();
      for (String n : names) {
        Res r = all.get(n);
        if (r != null) {
          subset.put(n, r);
        }
      }
      candidate = subset;
    }
    if (type == TypeUrl.ROUTE) {
      Map<String, Res> held = holdRoutesForUnackedClusters(s, view, candidate, ts.sent);
      if (held != candidate) {
        candidate = held;
        version = null;
      }
    }
    if (version == null) {
      version = versionOf(candidate.values(), List.of());
    }
    boolean resendEndpoints = type == TypeUrl.ENDPOINT && (ts.sotwHasClusterChanged || s.clustersSentThisPublish)
        && !candidate.isEmpty();
    if (version.equals(ts.sentVersion) && !resendEndpoints) {
      return;
    }
    if (candidate.isEmpty() && !ts.wildcard && ts.sentVersion == null) {
      return; // names that do not exist (yet): wait rather than answer with nothing
    }
    // Listeners and clusters: always the whole state. Endpoints and routes: only what the client does not have
    // (xDS allows partial state-of-the-world responses for these types), except when Envoy re-warms clusters.
    Collection<Res> toSend;
    if (type.wildcardByDefault() || resendEndpoints || ts.sentVersion == null) {
      toSend = candidate.values();
    } else {
      // the watch exists because the client answered our last response: what it ACKed is what it has
      Map<String, Res> had = ts.acked;
      toSend = candidate.values().stream().filter(r -> {
        Res h = had.get(r.name());
        return h == null || !h.hash().equals(r.hash());
      }).toList();
    }
    ts.sent = candidate;
    ts.sentVersion = version;
    ts.sotwHasClusterChanged = false;
    if (toSend.isEmpty()) {
      return; // the client's names shrank: nothing new to tell it
    }
    ts.sotwWatch = null;
    List<com.google.protobuf.Message> resources = toSend.stream().map(Res::message).toList();
    noteSent(s, type, snapshot);
    try {
      watch.respond(Response.create(watch.request(), resources, version));
    } catch (WatchCancelledException e) {
      // the stream went away meanwhile
    }
  }

  /**
   * Whether the watch's names include every resource of the view (Envoy's EDS usually does). Remembered per
   * watch and view, since every publish asks again for every stream.
   */
  private static boolean coversAll(StreamState.TypeState ts, Watch watch, SortedMap<String, Res> all) {
    if (ts.coversWatch == watch && ts.coversView == all) {
      return ts.covers;
    }
    List<String> names = watch.request().getResourceNamesList();
    boolean covers = false;
    if (names.size() >= all.size() && !all.isEmpty()) {
      java.util.Set<String> requested = new java.util.HashSet<>(names);
      covers = requested.containsAll(all.keySet());
    }
    ts.coversWatch = watch;
    ts.coversView = all;
    ts.covers = covers;
    return covers;
  }

  private void evaluateDelta(StreamState s, TypeUrl type, StreamState.TypeState ts, XdsSnapshot.View view) {
    DeltaWatch watch = ts.deltaWatch;
    SortedMap<String, Res> all = view.of(type);
    if (ts.sent == all && ts.acked == all && ts.deltaPending.isEmpty() && ts.sentVersion != null
        && !(type == TypeUrl.ENDPOINT && (s.clustersSentThisPublish || ts.sotwHasClusterChanged))) {
      return; // the node has exactly this view (the same shared map): nothing to compare name by name
    }
    Set<String> scope = new TreeSet<>();
    if (watch.isWildcard()) {
      scope.addAll(all.keySet());
    } else {
      scope.addAll(ts.deltaTracked.keySet());
      scope.addAll(ts.deltaPending);
    }
    Map<String, Res> changed = new TreeMap<>();
    // Envoy re-warms a changed cluster and waits for its endpoints (even unchanged ones): send them again
    Set<String> rewarming = type == TypeUrl.ENDPOINT && (s.clustersSentThisPublish || ts.sotwHasClusterChanged)
        ? s.type(TypeUrl.CLUSTER).deltaSent.keySet() : Set.of();
    for (String n : scope) {
      Res r = all.get(n);
      if (r != null && (!r.hash().equals(ts.deltaTracked.get(n)) || rewarming.contains(n))) {
        changed.put(n, r);
      }
    }
    ts.sotwHasClusterChanged = false;
    if (type == TypeUrl.ROUTE) {
      changed = new TreeMap<>(holdRoutesForUnackedClusters(s, view, changed, ts.sent));
      // a held route the client already has at that version needs no update
      changed.entrySet().removeIf(e -> e.getValue().hash().equals(ts.deltaTracked.get(e.getKey())));
    }
    List<String> removed = ts.deltaTracked.keySet().stream().filter(n -> !all.containsKey(n)).sorted().toList();
    boolean first = ts.sentVersion == null;
    if (changed.isEmpty() && removed.isEmpty() && !first) {
      return;
    }
    String signature = versionOf(changed.values(), removed);
    if (signature.equals(ts.nackedSignature)) {
      return; // exactly what the client rejected: wait for a new config
    }
    Map<String, Res> after;
    String version;
    StreamState.TypeState cds = s.type(TypeUrl.CLUSTER);
    boolean holding = type == TypeUrl.ROUTE && cds.wildcard && cds.acked != view.of(TypeUrl.CLUSTER)
        && !view.routeClusters().values().stream().allMatch(cds.acked.keySet()::containsAll);
    if (!holding && scope.containsAll(all.keySet())) {
      after = all; // the client will have exactly this view: share it
      version = view.version(type);
    } else {
      TreeMap<String, Res> merged = new TreeMap<>(ts.sent);
      merged.putAll(changed);
      removed.forEach(merged::remove);
      after = merged;
      version = versionOf(after.values(), List.of());
    }
    ts.sent = after;
    ts.sentVersion = version;
    ts.deltaSent = changed;
    ts.deltaRemoved = removed;
    ts.deltaSignature = signature;
    ts.deltaWatch = null;
    noteSent(s, type, snapshot);
    Map<String, VersionedResource<?>> resources = new LinkedHashMap<>();
    changed.forEach((n, r) -> resources.put(n, VersionedResource.create(r.message(), r.hash())));
    try {
      watch.respond(DeltaResponse.create(watch.request(), resources, removed, version));
    } catch (WatchCancelledException e) {
      // the stream went away meanwhile
    }
  }

  /**
   * Make-before-break for nodes that subscribe to every cluster: a RouteConfiguration that names a cluster
   * the node has not ACKed is replaced by the version last sent (or left out) until the CDS ACK arrives.
   */
  private static Map<String, Res> holdRoutesForUnackedClusters(StreamState s, XdsSnapshot.View view,
      Map<String, Res> candidate, Map<String, Res> previouslySent) {
    StreamState.TypeState cds = s.type(TypeUrl.CLUSTER);
    if (!cds.wildcard) {
      return candidate; // proxyless gRPC asks for clusters by name only once a route names them
    }
    if (cds.acked == view.of(TypeUrl.CLUSTER)) {
      return candidate; // the node ACKed exactly this snapshot's clusters (the shared map): nothing to hold
    }
    Set<String> acked = cds.acked.keySet();
    Map<String, Res> result = candidate;
    List<String> held = new ArrayList<>();
    for (String name : candidate.keySet()) {
      Set<String> needed = view.routeClusters().getOrDefault(name, Set.of());
      if (!acked.containsAll(needed)) {
        if (result == candidate) {
          result = new TreeMap<>(candidate);
        }
        held.add(name);
        Res previous = previouslySent.get(name);
        if (previous != null) {
          result.put(name, previous);
        } else {
          result.remove(name);
        }
      }
    }
    if (!held.isEmpty()) {
      LOG.debug("stream {}: holding RouteConfiguration {} until its clusters are ACKed", s.id, held);
    }
    return result;
  }

  /** The version of what a response holds (delta: its changes and removals); see XdsSnapshot#versionOf. */
  static String versionOf(Collection<Res> resources, List<String> removed) {
    return XdsSnapshot.versionOf(resources, removed);
  }
}
