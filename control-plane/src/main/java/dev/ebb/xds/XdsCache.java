package dev.ebb.xds;

import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Res;
import dev.ebb.publish.SnapshotSink;
import dev.ebb.publish.TypeUrl;
import dev.ebb.publish.XdsSnapshot;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stream tracker of Ebb's ADS server: every open stream, what each asked for, was sent, ACKed and NACKed,
 * and the current snapshot. Requests and published snapshots come in here; {@link ResponsePlanner} decides what a
 * stream gets next; this class applies the plan and sends it. That gives:
 *
 * <ul>
 *   <li>responses that carry a content-hash version of exactly what they hold, sent only when that differs
 *       from the last response on the stream, so a NACKed version is never sent twice in a row (no NACK loop)
 *       while a re-subscription (new names, same versions) is always answered;
 *   <li>make-before-break: a node that subscribes to all clusters (Envoy) gets a RouteConfiguration only once
 *       it has ACKed every cluster that configuration names; until then it keeps the version it has;
 *   <li>EDS re-sent after every CDS response (Envoy waits for it after a cluster update);
 *   <li>flow control: nothing is planned for a stream whose transport is not ready; when it is again, the plan is
 *       made from the newest snapshot, so a slow client gets the newest state, never a queue of stale ones.
 * </ul>
 */
public final class XdsCache implements SnapshotSink {
  private static final Logger LOG = LoggerFactory.getLogger(XdsCache.class);

  private final ConcurrentMap<Long, StreamState> streams = new ConcurrentHashMap<>();
  /** Resource names, one String per name across all streams (SotW requests repeat every name on every ACK). */
  private final ConcurrentMap<String, String> names = new ConcurrentHashMap<>();
  /** Name lists, one List per distinct list across streams (so streams asking for the same names share it). */
  private final com.google.common.collect.Interner<List<String>> nameLists =
      com.google.common.collect.Interners.newWeakInterner();
  private final Diffs diffs = new Diffs();
  private final Subsets subsets = new Subsets();
  private final Clock clock;
  private final XdsEvents events;
  private volatile XdsSnapshot snapshot;

  /**
   * Bytes of responses handed to the transport and not yet drained below its buffer threshold, over all streams.
   * Above {@link #budgetBytes}, a stream with nothing in flight waits before it gets its next response, so
   * thousands of nodes syncing at once hold a bounded amount of direct memory, not one full config each.
   */
  private final java.util.concurrent.atomic.AtomicLong inFlight = new java.util.concurrent.atomic.AtomicLong();
  private final long budgetBytes;
  private final java.util.Queue<StreamState> waiting = new java.util.concurrent.ConcurrentLinkedQueue<>();

  public static final long DEFAULT_BUDGET_BYTES = 128L * 1024 * 1024;

  public XdsCache(Clock clock, XdsEvents events) {
    this(clock, events, DEFAULT_BUDGET_BYTES);
  }

  public XdsCache(Clock clock, XdsEvents events, long budgetBytes) {
    this.clock = clock;
    this.events = events;
    this.budgetBytes = budgetBytes;
  }

  /** Bytes handed to transports that have not drained yet (for metrics and tests). */
  public long bytesInFlight() {
    return inFlight.get();
  }

  /** Makes {@code next} current and answers every open request it changes, in the order CDS, EDS, SDS, LDS, RDS. */
  @Override
  public void publish(XdsSnapshot next) {
    this.snapshot = next;
    diffs.clear();
    subsets.roll();
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

  public Optional<XdsSnapshot> current() {
    return Optional.ofNullable(snapshot);
  }

  public Collection<StreamState> streams() {
    return List.copyOf(streams.values());
  }

  // ---- stream lifecycle (AdsService) ----

  StreamState open(long id, StreamState.Sender sender) {
    StreamState s = new StreamState(id, clock.instant(), sender);
    streams.put(id, s);
    return s;
  }

  void closed(StreamState s) {
    if (streams.remove(s.id) != null) {
      synchronized (s) {
        drained(s);
      }
      events.streamClosed(s);
      wakeWaiting();
    }
  }

  /** The transport can take more: plan what was held back, from the newest snapshot. */
  void onReady(StreamState s) {
    synchronized (s) {
      drained(s);
      resume(s);
    }
    wakeWaiting();
  }

  private void drained(StreamState s) {
    if (s.inFlightBytes > 0) {
      inFlight.addAndGet(-s.inFlightBytes);
      s.inFlightBytes = 0;
    }
  }

  /** Plans every type that was held back on {@code s}. Holds its monitor. */
  private void resume(StreamState s) {
    s.waitingForBudget = false;
    for (TypeUrl t : TypeUrl.ORDER) {
      StreamState.TypeState ts = s.typeIfUsed(t);
      if (ts != null && ts.deferred) {
        ts.deferred = false;
        evaluate(s, t);
      }
    }
  }

  /** Streams that waited for the budget go on while there is room; never holds two streams' monitors. */
  private void wakeWaiting() {
    StreamState next;
    while (inFlight.get() < budgetBytes && (next = waiting.poll()) != null) {
      if (streams.containsKey(next.id)) {
        synchronized (next) {
          resume(next);
        }
      }
    }
  }

  private void node(StreamState s, io.envoyproxy.envoy.config.core.v3.Node node, boolean hasNode) {
    boolean first = s.node == null;
    if (hasNode && s.node == null) {
      s.node = node;
      s.group = NodeGroup.of(node);
    }
    if (first && s.node != null) {
      events.streamOpened(s);
    }
  }

  // ---- state of the world ----

  void onSotwRequest(StreamState s, DiscoveryRequest request) {
    onSotwRequest(s, SotwRequest.of(request));
  }

  void onSotwRequest(StreamState s, SotwRequest read) {
    DiscoveryRequest request = read.message();
    List<String> requestNames = read.names();
    synchronized (s) {
      node(s, request.getNode(), request.hasNode());
      Optional<TypeUrl> type = TypeUrl.of(request.getTypeUrl());
      if (type.isEmpty()) {
        return; // a type Ebb does not serve: never answered
      }
      StreamState.TypeState ts = s.type(type.get());
      // an empty list is a wildcard only when a stream starts with it (Envoy); grpc-java sends one later to
      // unsubscribe from everything
      boolean empty = requestNames.isEmpty();
      ts.wildcard = type.get().wildcardByDefault() && (requestNames.contains("*")
          || empty && (!ts.seenRequest || ts.wildcard));
      ts.seenRequest = true;
      if (!request.getResponseNonce().isEmpty() && request.getResponseNonce().equals(ts.sentNonce)) {
        if (request.hasErrorDetail()) {
          if (!ts.sentNonce.equals(ts.nackedNonce)) {
            // the client repeats the error on later requests with the same nonce: one NACK, counted once
            nacked(s, type.get(), ts, ts.sentNonceVersion, request.getErrorDetail().getMessage());
          }
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
      // Most requests (ACKs) repeat the last list: the very same shared list (SotwRequestMarshaller), or one
      // compared in order; nothing is built for them
      if (requestNames != ts.lastSharedNames && !requestNames.equals(ts.lastNames)) {
        List<String> interned = intern(requestNames);
        if (!ts.wildcard) {
          // a name the client no longer asks for is dropped on its side: if it asks again, it must be answered
          ts.acked = onlyRequested(ts.acked, interned);
        }
        ts.lastNames = interned;
      }
      ts.lastSharedNames = read.shared() ? requestNames : null;
      // a request that answers an older response than the last one is stale: the client will answer the last
      if (!request.getResponseNonce().isEmpty() && !request.getResponseNonce().equals(ts.sentNonce)) {
        return;
      }
      ts.open = true;
      ts.requested = ts.lastNames;
      ts.hasClusterChanged = s.clusterChanged;
      evaluate(s, type.get());
    }
  }

  private List<String> intern(List<String> in) {
    String[] out = new String[in.size()];
    for (int i = 0; i < out.length; i++) {
      String n = in.get(i);
      String canonical = names.putIfAbsent(n, n);
      out[i] = canonical == null ? n : canonical;
    }
    return nameLists.intern(List.of(out));
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

  // ---- delta ----

  void onDeltaRequest(StreamState s, DeltaDiscoveryRequest request) {
    synchronized (s) {
      s.delta = true;
      node(s, request.getNode(), request.hasNode());
      Optional<TypeUrl> type = TypeUrl.of(request.getTypeUrl());
      if (type.isEmpty()) {
        return;
      }
      StreamState.TypeState ts = s.type(type.get());
      if (!ts.seenRequest) {
        ts.seenRequest = true;
        // Envoy's first request for listeners and clusters subscribes to everything by naming nothing
        ts.deltaWildcard = type.get().wildcardByDefault() && request.getResourceNamesSubscribeCount() == 0;
        // a reconnecting client says what it has: only what differs is sent
        ts.deltaTracked = TrackedVersions.mutable(ts.deltaTracked);
        request.getInitialResourceVersionsMap().forEach((n, v) -> ts.deltaTracked.put(intern(n), v));
      }
      String nonce = request.getResponseNonce();
      if (!nonce.isEmpty() && nonce.equals(ts.sentNonce) && !nonce.equals(ts.nackedNonce)
          && !nonce.equals(ts.ackedNonce)) {
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
          Map<String, String> forward = fastForward(ts.deltaTracked, ts.deltaSent, ts.deltaRemoved, ts.acked);
          if (forward != null) {
            ts.deltaTracked = forward;
            ts.deltaPending.removeAll(ts.deltaSent.keySet());
          } else if (!ts.deltaSent.isEmpty() || !ts.deltaRemoved.isEmpty()) {
            ts.deltaTracked = TrackedVersions.mutable(ts.deltaTracked);
            ts.deltaSent.forEach((n, r) -> ts.deltaTracked.put(n, r.hash()));
            ts.deltaRemoved.forEach(ts.deltaTracked::remove);
            ts.deltaPending.removeAll(ts.deltaSent.keySet());
          }
          // most clients now have exactly the shared view: share it instead of holding their own copy
          ts.deltaTracked = TrackedVersions.compact(ts.deltaTracked, ts.acked);
          acked(s, type.get(), ts);
        }
      }
      for (String n : request.getResourceNamesSubscribeList()) {
        if (n.equals("*")) {
          ts.deltaWildcard = true;
        } else if (!ts.deltaTracked.containsKey(n)) {
          if (!(ts.deltaPending instanceof java.util.TreeSet)) {
            ts.deltaPending = new java.util.TreeSet<>(ts.deltaPending);
          }
          ts.deltaPending.add(intern(n));
        }
      }
      for (String n : request.getResourceNamesUnsubscribeList()) {
        if (n.equals("*")) {
          ts.deltaWildcard = false;
        } else if (ts.deltaTracked.containsKey(n) || ts.deltaPending.contains(n)) {
          ts.deltaTracked = TrackedVersions.mutable(ts.deltaTracked);
          ts.deltaTracked.remove(n);
          ts.deltaPending.remove(n);
        }
      }
      ts.wildcard = ts.deltaWildcard;
      if (!nonce.isEmpty() && !nonce.equals(ts.sentNonce)) {
        return; // answers an older response: the client will answer the last one too
      }
      ts.open = true;
      ts.hasClusterChanged = s.clusterChanged;
      evaluate(s, type.get());
    }
  }

  /**
   * Delta ACK of a client that had exactly one shared map and was sent exactly the difference to another shared
   * map (what most clients get for a change): it now has that map. Known from the difference of the two maps,
   * computed once for all streams, in time proportional to the change instead of a copy and a comparison of every
   * name per stream. Null when that does not hold: the caller applies the response name by name.
   */
  private Map<String, String> fastForward(Map<String, String> tracked, Map<String, Res> sent, List<String> removed,
      Map<String, Res> acked) {
    Diffs.Diff d = tracked instanceof TrackedVersions t ? diffs.cached(t.base(), acked) : null;
    if (d == null || d.changed().size() != sent.size() || !d.removed().equals(removed)) {
      return null;
    }
    if (sent == d.changedMapIfMade()) {
      return new TrackedVersions(acked); // it was sent exactly this difference, as the one shared map
    }
    for (Res r : d.changed()) {
      if (sent.get(r.name()) != r) {
        return null;
      }
    }
    return new TrackedVersions(acked);
  }

  private String intern(String n) {
    String canonical = names.putIfAbsent(n, n);
    return canonical == null ? n : canonical;
  }

  // ---- ACK / NACK ----

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

  // ---- planning and sending ----

  /** Answers the stream's open request for {@code type} if there is anything new to say. Holds the monitor. */
  private void evaluate(StreamState s, TypeUrl type) {
    XdsSnapshot snap = snapshot;
    if (snap == null || s.group == null) {
      return; // nothing published yet: never answer with an empty config
    }
    StreamState.TypeState ts = s.typeIfUsed(type);
    if (ts == null || !ts.open) {
      return; // never asked for, or its last request is answered
    }
    if (!s.sender.ready()) {
      ts.deferred = true; // planned from the newest snapshot once the transport drains
      return;
    }
    if (s.inFlightBytes == 0 && inFlight.get() >= budgetBytes) {
      ts.deferred = true; // other streams hold the budget: this one goes on when some of it drains
      if (!s.waitingForBudget) {
        s.waitingForBudget = true;
        waiting.add(s);
      }
      return;
    }
    XdsSnapshot.View view = snap.view(s.group);
    StreamState.TypeState cds = s.typeIfUsed(TypeUrl.CLUSTER);
    ResponsePlanner.ClusterAcks clusters = cds == null ? new ResponsePlanner.ClusterAcks(false, Map.of())
        : new ResponsePlanner.ClusterAcks(cds.wildcard, cds.acked);
    if (s.delta) {
      Set<String> rewarming = cds != null && type == TypeUrl.ENDPOINT
          && (s.clustersSentThisPublish || ts.hasClusterChanged) ? cds.deltaSent.keySet() : Set.of();
      ts.hasClusterChanged = false;
      ResponsePlanner.delta(new ResponsePlanner.DeltaInput(type, ts.deltaWildcard, ts.deltaTracked, ts.deltaPending,
          ts.sent, ts.acked, ts.sentVersion, ts.nackedSignature, rewarming), view, clusters,
          (from, to) -> to == view.of(type) ? diffs.between(from, to) : Diffs.compute(from, to))
          .ifPresent(p -> sendDelta(s, type, ts, p, snap));
    } else {
      boolean rewarm = ts.hasClusterChanged || s.clustersSentThisPublish;
      ResponsePlanner.sotw(new ResponsePlanner.SotwInput(type, ts.wildcard, ts.requested,
          ts.sent, ts.sentVersion, ts.acked, rewarm), view, clusters,
          (from, to) -> to == view.of(type) || subsets.isShared(to) ? diffs.between(from, to)
              : Diffs.compute(from, to),
          subsets::of)
          .ifPresent(p -> sendSotw(s, type, ts, p, snap));
    }
  }

  private void sendSotw(StreamState s, TypeUrl type, StreamState.TypeState ts, ResponsePlanner.Plan p,
      XdsSnapshot snap) {
    ts.sent = p.sent();
    ts.sentVersion = p.version();
    ts.hasClusterChanged = false;
    if (!p.respond()) {
      return; // the client's names shrank: nothing new to tell it
    }
    ts.open = false;
    String nonce = Long.toString(++s.nonces);
    DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder().setVersionInfo(p.version())
        .setTypeUrl(type.url()).setNonce(nonce);
    p.resources().forEach(r -> b.addResources(r.any()));
    DiscoveryResponse response = b.build();
    noteSent(s, type, snap);
    ts.sentNonce = nonce;
    ts.sentNonceVersion = p.version();
    clusterFlag(s, type);
    s.sender.send(response);
    counted(s, response.getSerializedSize());
    events.pushed(s, type, p.version(), response.getResourcesCount(), response.getSerializedSize());
    events.responded(s, type, response);
  }

  private void sendDelta(StreamState s, TypeUrl type, StreamState.TypeState ts, ResponsePlanner.Plan p,
      XdsSnapshot snap) {
    ts.sent = p.sent();
    ts.sentVersion = p.version();
    ts.deltaSent = p.changed();
    ts.deltaRemoved = p.removed();
    ts.deltaSignature = p.signature();
    ts.open = false;
    String nonce = Long.toString(++s.nonces);
    DeltaDiscoveryResponse.Builder b = DeltaDiscoveryResponse.newBuilder().setSystemVersionInfo(p.version())
        .setTypeUrl(type.url()).setNonce(nonce).addAllRemovedResources(p.removed());
    p.changed().forEach((n, r) -> b.addResources(n.equals(r.name()) ? r.resource()
        : Resource.newBuilder().setName(n).setVersion(r.hash()).setResource(r.any()).build()));
    DeltaDiscoveryResponse response = b.build();
    noteSent(s, type, snap);
    ts.sentNonce = nonce;
    ts.sentNonceVersion = p.version();
    clusterFlag(s, type);
    s.sender.send(response);
    counted(s, response.getSerializedSize());
    events.pushed(s, type, p.version(), response.getResourcesCount(), response.getSerializedSize());
    events.responded(s, type, response);
  }

  /** A response the transport could not take below its threshold counts against the budget until it drains. */
  private void counted(StreamState s, int bytes) {
    if (!s.sender.ready()) {
      s.inFlightBytes += bytes;
      inFlight.addAndGet(bytes);
    }
  }

  /** Envoy re-warms clusters after a CDS response and waits for their endpoints: the next EDS goes in full. */
  private static void clusterFlag(StreamState s, TypeUrl type) {
    if (type == TypeUrl.CLUSTER) {
      s.clusterChanged = true;
    } else if (type == TypeUrl.ENDPOINT) {
      s.clusterChanged = false;
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
}
