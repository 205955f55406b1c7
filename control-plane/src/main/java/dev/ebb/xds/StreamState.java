package dev.ebb.xds;

import dev.ebb.publish.NodeGroup;
import dev.ebb.publish.Res;
import dev.ebb.publish.TypeUrl;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * One ADS stream: its node, and per type what was last sent, ACKed and NACKed. Guarded by its own monitor;
 * every response on the stream is sent while holding it, so responses on one stream are ordered.
 */
public final class StreamState {
  /** How responses leave: the stream's transport, with gRPC flow control. */
  interface Sender {
    /** False while the transport's buffer is full: nothing is planned until it drains (then onReady). */
    boolean ready();

    void send(com.google.protobuf.Message response);
  }

  /** Per resource type. */
  static final class TypeState {
    /**
     * The client's last request of this type has not been answered yet: a response may be sent (one response in
     * flight per type, as the client ACKs or NACKs each before it gets the next).
     */
    boolean open;
    /** SotW: the names of the last request (empty with a wildcard). */
    List<String> requested = List.of();
    /** A CDS response went out since the last EDS response when this request came (Envoy re-warms clusters). */
    boolean hasClusterChanged;
    /**
     * Delta: name to version of what the client has (its ACKs and its initial_resource_versions). Empty and
     * immutable until a delta client asks ({@link TrackedVersions#mutable} before a change), as is
     * {@link #deltaPending}: most streams are state of the world and never use them.
     */
    Map<String, String> deltaTracked = Map.of();
    /** Delta: names subscribed to and not sent yet (a TreeSet once there is one). */
    Set<String> deltaPending = java.util.Collections.emptySet();
    boolean deltaWildcard;
    /** Set when a response was due while the transport was not ready: planned again on onReady. */
    boolean deferred;

    /**
     * What the client has once it ACKs the last response (immutable; shared between streams when it is a whole
     * view of the snapshot, which keeps the memory per node small).
     */
    Map<String, Res> sent = Map.of();
    String sentVersion;
    String sentNonce;
    /** Delta: the changes in the last response, applied to {@link #acked} on ACK. */
    Map<String, Res> deltaSent = Map.of();
    List<String> deltaRemoved = List.of();
    String deltaSignature;

    /** The resources the client has ACKed, by name (immutable, often shared). */
    Map<String, Res> acked = Map.of();
    String ackedVersion;
    Instant ackedAt;
    String nackedVersion;
    String nackedSignature;
    String nackDetail;
    Instant nackedAt;
    long nacks;
    boolean wildcard;
    long sentGeneration = -1;
    /** The version the response with {@link #sentNonce} carried, and whether that response was NACKed. */
    String sentNonceVersion;
    String nackedNonce;
    /** The names of the last request (the request's own list, which its watch holds anyway). */
    List<String> lastNames = List.of();
    /** The shared list read for the last request, if it was one (SotwRequestMarshaller): equal to lastNames. */
    List<String> lastSharedNames;
    /** The nonce of the last response ACKed: a later request that repeats it is no new ACK. */
    String ackedNonce;
    boolean seenRequest;
  }

  /** A type's ACK/NACK status for /status. */
  public record TypeStatus(TypeUrl type, Optional<String> sentVersion, Optional<String> ackedVersion,
      Optional<Instant> ackedAt, Optional<String> nackedVersion, Optional<String> nackDetail,
      Optional<Instant> nackedAt, long nacks, int resources) {}

  final long id;
  final Instant opened;
  final Sender sender;
  long nonces;
  /** Bytes of this stream's responses that its transport has not drained yet (see XdsCache's budget). */
  long inFlightBytes;
  boolean waitingForBudget;
  /** A CDS response went out and no EDS response since (java-control-plane's hasClusterChanged). */
  boolean clusterChanged;
  boolean delta;
  Node node;
  NodeGroup group;
  final Map<TypeUrl, TypeState> types = new EnumMap<>(TypeUrl.class);
  /** Set while a published change is being answered on this stream. */
  boolean publishing;
  /** A CDS response went out in the current publish: endpoints must follow in full (Envoy re-warms). */
  boolean clustersSentThisPublish;
  long awaitingGeneration = -1;
  java.time.Instant awaitingObservedAt;
  final java.util.EnumSet<TypeUrl> awaitingTypes = java.util.EnumSet.noneOf(TypeUrl.class);

  StreamState(long id, Instant opened) {
    this(id, opened, null);
  }

  StreamState(long id, Instant opened, Sender sender) {
    this.id = id;
    this.opened = opened;
    this.sender = sender;
  }

  /** The state of a type, made when the stream first needs it (a proxyless client uses four of six types). */
  TypeState type(TypeUrl t) {
    return types.computeIfAbsent(t, x -> new TypeState());
  }

  /** The state of a type if the stream has used it, else null. */
  TypeState typeIfUsed(TypeUrl t) {
    return types.get(t);
  }

  public long id() {
    return id;
  }

  public Instant opened() {
    return opened;
  }

  public synchronized boolean delta() {
    return delta;
  }

  public synchronized Optional<Node> node() {
    return Optional.ofNullable(node);
  }

  public synchronized Optional<NodeGroup> group() {
    return Optional.ofNullable(group);
  }

  public synchronized String nodeId() {
    return node == null ? "" : node.getId();
  }

  public synchronized List<TypeStatus> typeStatus() {
    return types.entrySet().stream()
        .filter(e -> e.getValue().sentVersion != null || e.getValue().nackedVersion != null)
        .map(e -> {
          TypeState s = e.getValue();
          return new TypeStatus(e.getKey(), Optional.ofNullable(s.sentVersion), Optional.ofNullable(s.ackedVersion),
              Optional.ofNullable(s.ackedAt), Optional.ofNullable(s.nackedVersion), Optional.ofNullable(s.nackDetail),
              Optional.ofNullable(s.nackedAt), s.nacks, s.sent.size());
        })
        .toList();
  }

  /** Whether the node asked for this resource (or for all of its type). */
  public synchronized boolean subscribed(TypeUrl type, String name) {
    TypeState s = types.get(type);
    return s != null && (s.wildcard || s.sent.containsKey(name) || s.acked.containsKey(name));
  }

  /** The hash of the version of {@code name} the node ACKed, if it ACKed one. */
  public synchronized Optional<String> ackedHash(TypeUrl type, String name) {
    TypeState s = types.get(type);
    Res r = s == null ? null : s.acked.get(name);
    return Optional.ofNullable(r == null ? null : r.hash());
  }
}
