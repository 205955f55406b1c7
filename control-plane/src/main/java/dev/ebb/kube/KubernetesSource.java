package dev.ebb.kube;

import dev.ebb.api.file.LastGood;
import dev.ebb.api.file.ParsedConfig;
import dev.ebb.api.kube.AnnotationParser;
import dev.ebb.api.kube.KubeObjects;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.ListenerTls;
import dev.ebb.tls.TlsResolver;
import io.fabric8.kubernetes.api.model.Secret;
import dev.ebb.api.model.Model;
import dev.ebb.source.Source;
import dev.ebb.source.SourceStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPEC section 3: informers on Services and EndpointSlices (in the given namespaces, or all). Informer
 * callbacks only mark the source dirty; one thread re-reads the informer caches, parses, keeps last good
 * versions of rejected routes, and hands a model on when it differs from the last one. Nothing is handed on
 * before every informer has synced. A lost API server leaves the caches (and so the config) as they were;
 * the informers re-list and re-watch by themselves when it is back.
 */
public final class KubernetesSource implements Source {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesSource.class);

  private final KubernetesClient client;
  private final List<String> namespaces;
  private final List<ListenerSpec> listeners;
  private final Consumer<Model> sink;
  private final Clock clock;
  private final List<SharedIndexInformer<Service>> serviceInformers = new ArrayList<>();
  private final List<SharedIndexInformer<EndpointSlice>> sliceInformers = new ArrayList<>();
  /** One informer per Secret a TLS listener names (watched by name: Ebb reads no other Secret). */
  private final java.util.Map<ListenerTls.KubeSecret, SharedIndexInformer<Secret>> secretInformers =
      new java.util.LinkedHashMap<>();
  private final TlsResolver certificates;
  private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "ebb-kubernetes-source");
    t.setDaemon(true);
    return t;
  });
  private final AtomicBoolean dirty = new AtomicBoolean();
  private final List<Consumer<List<KubeObjects.Service>>> serviceListeners = new ArrayList<>();
  private final dev.ebb.source.StatusHolder status;
  private Model effective = Model.EMPTY;
  private Model lastSubmitted;
  private volatile List<KubeObjects.Service> services = List.of();
  private volatile java.util.Set<String> heldByPipeline = java.util.Set.of();

  public KubernetesSource(KubernetesClient client, List<String> namespaces, List<ListenerSpec> listeners,
      Consumer<Model> sink, Clock clock) {
    this(client, namespaces, listeners, java.nio.file.Path.of("."), sink, clock);
  }

  /** @param tlsBaseDir where relative certificate file paths of listeners are resolved (the listeners file's) */
  public KubernetesSource(KubernetesClient client, List<String> namespaces, List<ListenerSpec> listeners,
      java.nio.file.Path tlsBaseDir, Consumer<Model> sink, Clock clock) {
    this.certificates = new TlsResolver(tlsBaseDir, this::secret);
    this.client = client;
    this.namespaces = List.copyOf(namespaces);
    this.listeners = List.copyOf(listeners);
    this.sink = sink;
    this.clock = clock;
    this.status = new dev.ebb.source.StatusHolder(new SourceStatus("kubernetes", where(), false, Optional.empty(),
        List.of(), List.of(), "the " + dev.ebb.api.kube.Annotations.STATUS
            + " annotation of each route Service (written by the leader)"));
  }

  private String where() {
    return client.getMasterUrl() + (namespaces.isEmpty() ? " (all namespaces)" : " namespaces " + namespaces);
  }

  /** Called (on the source's thread) with every Service the informers hold, after each re-read. */
  public void onServices(Consumer<List<KubeObjects.Service>> listener) {
    serviceListeners.add(listener);
  }

  /** The Services as last read: route Services carry the status annotation the leader wrote. */
  public List<KubeObjects.Service> services() {
    return services;
  }

  @Override
  public void start() {
    ResourceEventHandler<HasMetadata> onChange = new ResourceEventHandler<>() {
      @Override
      public void onAdd(HasMetadata obj) {
        changed();
      }

      @Override
      public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
        changed();
      }

      @Override
      public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
        changed();
      }
    };
    if (namespaces.isEmpty()) {
      serviceInformers.add(client.services().inAnyNamespace().runnableInformer(0));
      sliceInformers.add(client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0));
    } else {
      for (String ns : namespaces) {
        serviceInformers.add(client.services().inNamespace(ns).runnableInformer(0));
        sliceInformers.add(client.discovery().v1().endpointSlices().inNamespace(ns).runnableInformer(0));
      }
    }
    for (ListenerSpec l : listeners) {
      if (l.tls().orElse(null) instanceof ListenerTls.KubeSecret ref && !secretInformers.containsKey(ref)) {
        secretInformers.put(ref, client.secrets().inNamespace(ref.namespace()).withName(ref.name())
            .runnableInformer(0));
      }
    }
    if (listeners.stream().anyMatch(l -> l.tls().orElse(null) instanceof ListenerTls.Files)) {
      // certificate files are polled: a rotation is seen within the period (SPEC 10: 5 s)
      worker.scheduleWithFixedDelay(this::changed, 2, 2, java.util.concurrent.TimeUnit.SECONDS);
    }
    List<SharedIndexInformer<? extends HasMetadata>> all = new ArrayList<>(serviceInformers);
    all.addAll(sliceInformers);
    all.addAll(secretInformers.values());
    for (SharedIndexInformer<? extends HasMetadata> informer : all) {
      @SuppressWarnings("unchecked")
      SharedIndexInformer<HasMetadata> i = (SharedIndexInformer<HasMetadata>) informer;
      i.addEventHandler(onChange);
      // keep retrying on errors instead of stopping: a lost API server is a pause, not an end
      informer.exceptionHandler((isStarted, t) -> {
        LOG.warn("kubernetes watch error ({}); retrying", t.toString());
        return true;
      });
      informer.start().whenComplete((v, t) -> {
        if (t != null) {
          LOG.warn("informer did not start: {}; retrying", t.toString());
        }
        changed();
      });
    }
  }

  private void changed() {
    if (dirty.compareAndSet(false, true)) {
      worker.execute(this::reread);
    }
  }

  private boolean synced() {
    return serviceInformers.stream().allMatch(SharedIndexInformer::hasSynced)
        && sliceInformers.stream().allMatch(SharedIndexInformer::hasSynced)
        && secretInformers.values().stream().allMatch(SharedIndexInformer::hasSynced);
  }

  /** Whether every informer is watching now (false while the API server is unreachable). */
  public boolean watching() {
    return serviceInformers.stream().allMatch(SharedIndexInformer::isWatching)
        && sliceInformers.stream().allMatch(SharedIndexInformer::isWatching)
        && secretInformers.values().stream().allMatch(SharedIndexInformer::isWatching);
  }

  private void reread() {
    dirty.set(false);
    try {
      if (!synced()) {
        return; // an empty or partial config would make Envoy drop clusters: wait for every informer
      }
      List<KubeObjects.Service> svc = new ArrayList<>();
      serviceInformers.forEach(i -> i.getStore().list().forEach(s -> svc.add(KubeMapping.service(s))));
      List<KubeObjects.EndpointSlice> slices = new ArrayList<>();
      sliceInformers.forEach(i -> i.getStore().list().forEach(s -> KubeMapping.slice(s).ifPresent(slices::add)));
      services = List.copyOf(svc);
      ParsedConfig parsed = AnnotationParser.parse(svc, slices, listeners, held(svc));
      LastGood.Result merged = LastGood.merge(effective, parsed);
      effective = merged.model();
      TlsResolver.Result tls = certificates.resolve(effective.listeners(), clock.instant());
      Model next = effective.withTls(tls.listeners(), tls.secrets());
      List<ConfigError> errors = new ArrayList<>(parsed.errors());
      errors.addAll(merged.errors());
      errors.addAll(tls.errors());
      List<ConfigError> warnings = new ArrayList<>(parsed.warnings());
      warnings.addAll(tls.warnings());
      SourceStatus before = status.get();
      status.set(before.next(true,
          Optional.of(before.lastChange().filter(t -> next.equals(lastSubmitted)).orElse(clock.instant())),
          errors, warnings));
      if (!errors.equals(before.errors())) {
        errors.forEach(e -> LOG.warn(e.describe()));
      }
      serviceListeners.forEach(l -> l.accept(services));
      if (!next.equals(lastSubmitted)) {
        lastSubmitted = next;
        LOG.info("kubernetes: {} routes, {} backends, {} certificates, {} rejected", next.routes().size(),
            next.backends().size(), next.secrets().size(), errors.size());
        sink.accept(next);
      }
    } catch (RuntimeException e) {
      LOG.error("kubernetes source: cannot read the informer caches; keeping the last good config", e);
    }
  }

  /**
   * Backends that draining keeps in the config: those the pipeline holds now, and those the status annotations
   * record as draining (after a restart, or on a new replica, before the first build knows its drains).
   */
  private java.util.Set<String> held(List<KubeObjects.Service> svc) {
    java.util.Set<String> held = new java.util.TreeSet<>(heldByPipeline);
    for (KubeObjects.Service s : svc) {
      RouteStatus.parse(s.annotations().get(dev.ebb.api.kube.Annotations.STATUS))
          .ifPresent(st -> st.draining().forEach(d -> held.add(d.backend())));
    }
    return held;
  }

  /** The backends the config holds for drains now; a change re-reads the caches. */
  public void holdBackends(java.util.Set<String> backends) {
    if (!backends.equals(heldByPipeline)) {
      heldByPipeline = java.util.Set.copyOf(backends);
      changed();
    }
  }

  /** Drains recovered from the status annotations, read at the pipeline's first build. */
  public dev.ebb.publish.DrainStore drainStore() {
    return new KubeDrainStore(this::services);
  }

  /** The PEM pair of a watched {@code kubernetes.io/tls} Secret, from the informer's cache. */
  private TlsResolver.Lookup secret(ListenerTls.KubeSecret ref) {
    SharedIndexInformer<Secret> informer = secretInformers.get(ref);
    List<Secret> found = informer == null ? List.of() : informer.getStore().list();
    if (found.isEmpty()) {
      return TlsResolver.Lookup.missing("Secret " + ref.namespace() + "/" + ref.name()
          + " does not exist (or Ebb may not read it)");
    }
    Secret s = found.get(0);
    java.util.Map<String, String> data = s.getData() == null ? java.util.Map.of() : s.getData();
    if (!data.containsKey("tls.crt") || !data.containsKey("tls.key")) {
      return TlsResolver.Lookup.missing("Secret " + ref.namespace() + "/" + ref.name() + " of type " + s.getType()
          + " has no tls.crt and tls.key (a kubernetes.io/tls Secret has both)");
    }
    try {
      java.util.Base64.Decoder b64 = java.util.Base64.getMimeDecoder();
      return TlsResolver.Lookup.of(new String(b64.decode(data.get("tls.crt")), java.nio.charset.StandardCharsets.US_ASCII),
          new String(b64.decode(data.get("tls.key")), java.nio.charset.StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      return TlsResolver.Lookup.missing("Secret " + ref.namespace() + "/" + ref.name() + " data is not base64");
    }
  }

  @Override
  public void onStatus(java.util.function.Consumer<SourceStatus> listener) {
    status.listen(listener);
  }

  @Override
  public SourceStatus status() {
    return status.get();
  }

  @Override
  public void close() {
    serviceInformers.forEach(SharedIndexInformer::close);
    sliceInformers.forEach(SharedIndexInformer::close);
    secretInformers.values().forEach(SharedIndexInformer::close);
    worker.shutdownNow();
  }
}
