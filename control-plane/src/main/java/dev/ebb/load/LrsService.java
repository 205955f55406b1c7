package dev.ebb.load;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Load Reporting Service (envoy.service.load_stats.v3) on the xDS port. Each node's first message opens
 * its stream; Ebb answers with the clusters it wants reports for and the interval, and again whenever that
 * set of clusters changes. Every report goes to the {@link LoadTracker}.
 */
public final class LrsService extends LoadReportingServiceGrpc.LoadReportingServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(LrsService.class);
  private final LoadTracker tracker;
  private final Duration interval;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, StreamObserver<LoadStatsResponse>> streams = new ConcurrentHashMap<>();
  private volatile dev.ebb.xds.XdsGuard guard;

  /** Node authorization and the report size limit of the xDS port apply to load reports too (SPEC 11). */
  public void guard(dev.ebb.xds.XdsGuard g) {
    this.guard = g;
  }

  public LrsService(LoadTracker tracker, Duration interval) {
    this.tracker = tracker;
    this.interval = interval;
    tracker.interval(interval);
  }

  /** Asks every node for reports on these clusters from now on. */
  public void track(Set<String> clusters) {
    if (clusters.equals(tracker.tracked())) {
      return;
    }
    tracker.track(clusters);
    LoadStatsResponse r = response();
    streams.values().forEach(s -> send(s, r));
  }

  private LoadStatsResponse response() {
    // send_all_clusters: grpc-js-xds 1.14 never reports the first cluster of the list (an off-by-one in its
    // LRS client); every client honours send_all_clusters, and the tracker ignores what it does not track
    return LoadStatsResponse.newBuilder()
        .setSendAllClusters(true)
        .addAllClusters(new TreeSet<>(tracker.tracked()))
        .setLoadReportingInterval(Durations.fromMillis(interval.toMillis()))
        .build();
  }

  private static void send(StreamObserver<LoadStatsResponse> s, LoadStatsResponse r) {
    synchronized (s) {
      try {
        s.onNext(r);
      } catch (RuntimeException e) {
        // the stream is going away
      }
    }
  }

  @Override
  public StreamObserver<LoadStatsRequest> streamLoadStats(StreamObserver<LoadStatsResponse> out) {
    long id = ids.incrementAndGet();
    if (out instanceof ServerCallStreamObserver<LoadStatsResponse> call) {
      call.setOnCancelHandler(() -> close(id));
    }
    return new StreamObserver<>() {
      boolean first = true;

      boolean refused;

      @Override
      public void onNext(LoadStatsRequest req) {
        if (refused) {
          return;
        }
        dev.ebb.xds.XdsGuard g = guard;
        if (g != null && req.getSerializedSize() > g.limits().maxLoadReportBytes()) {
          g.reportTooBig(req.getNode().getId(), req.getSerializedSize());
          refuse(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription("load report of " + req.getSerializedSize()
              + " bytes: more than " + g.limits().maxLoadReportBytes() + " (--xds-max-load-report-bytes)"));
          return;
        }
        if (first && g != null) {
          java.util.Optional<io.grpc.Status> denied = g.admit(req.getNode());
          if (denied.isPresent()) {
            refuse(denied.get());
            return;
          }
        }
        boolean opening = first;
        if (first) {
          first = false;
          tracker.opened(id, req.getNode().getId(), req.getNode().getUserAgentName());
          streams.put(id, out);
          LOG.info("node {} opened a load report stream", req.getNode().getId());
          send(out, response());
        }
        // the first message introduces the node; every later one is a report, even an empty one
        if (!opening || req.getClusterStatsCount() > 0) {
          Map<String, long[]> byCluster = new HashMap<>();
          for (ClusterStats cs : req.getClusterStatsList()) {
            long[] v = byCluster.computeIfAbsent(cs.getClusterName(), c -> new long[4]);
            for (UpstreamLocalityStats l : cs.getUpstreamLocalityStatsList()) {
              v[0] += l.getTotalRequestsInProgress();
              v[1] += l.getTotalSuccessfulRequests();
              v[2] += l.getTotalErrorRequests();
              v[3] += l.getTotalIssuedRequests();
            }
          }
          tracker.report(id, byCluster);
        }
      }

      private void refuse(io.grpc.Status status) {
        refused = true;
        close(id);
        synchronized (out) {
          out.onError(status.asRuntimeException());
        }
      }

      @Override
      public void onError(Throwable t) {
        close(id);
      }

      @Override
      public void onCompleted() {
        close(id);
        synchronized (out) {
          out.onCompleted();
        }
      }
    };
  }

  private void close(long id) {
    streams.remove(id);
    tracker.closed(id);
  }
}
