package dev.ebb.source;

import dev.ebb.api.file.FileConfigParser;
import dev.ebb.api.file.LastGood;
import dev.ebb.api.file.ParsedConfig;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Model;
import dev.ebb.tls.TlsResolver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPEC 4: reads the YAML file and re-reads it when it changes. Watches the directory, so a new file renamed
 * over the old one (what editors and config tools do) and a Kubernetes ConfigMap's symlink swap are seen;
 * a slow poll backs the watch up. Content that did not change is not handed on.
 */
public final class FileSource implements Source {
  private static final Logger LOG = LoggerFactory.getLogger(FileSource.class);

  private final Path file;
  private final Consumer<Model> sink;
  private final Clock clock;
  private final Duration poll;
  private final Object lock = new Object();
  private final StatusHolder status;
  private final TlsResolver certificates;
  /** Re-reads compose only the items whose text changed (a 1,000-route file and a one-route edit). */
  private final FileConfigParser.Incremental parser = new FileConfigParser.Incremental();
  /** The file's model, before certificates are resolved; the last good versions of rejected objects. */
  private Model effective = Model.EMPTY;
  private Model lastSubmitted;
  private List<ConfigError> fileErrors = List.of();
  private List<ConfigError> fileWarnings = List.of();
  private List<ConfigError> tlsErrors = List.of();
  private String lastText;
  private boolean synced;
  private WatchService watcher;
  private Thread thread;
  private volatile boolean closed;

  public FileSource(Path file, Consumer<Model> sink, Clock clock, Duration poll) {
    this(file, FileDrainStore.besides(file), sink, clock, poll);
  }

  /** @param stateFile where the drain state is kept ({@code --state-file}; default beside the YAML), for /status */
  public FileSource(Path file, Path stateFile, Consumer<Model> sink, Clock clock, Duration poll) {
    this.file = file.toAbsolutePath().normalize();
    this.sink = sink;
    this.clock = clock;
    this.poll = poll;
    this.certificates = new TlsResolver(this.file.getParent(), TlsResolver.KubeSecrets.NONE);
    this.status = new StatusHolder(new SourceStatus("file", this.file.toString(), false, Optional.empty(),
        List.of(), List.of(), "file " + stateFile.toAbsolutePath().normalize()));
  }

  @Override
  public void start() {
    reload();
    try {
      watcher = FileSystems.getDefault().newWatchService();
      file.getParent().register(watcher, StandardWatchEventKinds.ENTRY_CREATE,
          StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
    } catch (IOException e) {
      LOG.warn("cannot watch {} ({}); polling every {}", file.getParent(), e.getMessage(), poll);
    }
    thread = new Thread(this::watchLoop, "ebb-file-source");
    thread.setDaemon(true);
    thread.start();
  }

  private void watchLoop() {
    while (!closed) {
      try {
        WatchKey key = watcher == null ? null : watcher.poll(poll.toMillis(), TimeUnit.MILLISECONDS);
        if (watcher == null) {
          Thread.sleep(poll.toMillis());
        }
        if (key != null) {
          // any event in the directory may be our file (a rename over it, a ConfigMap's ..data swap):
          // re-read, and let the content comparison drop the rest
          key.pollEvents();
          key.reset();
        }
        reload();
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      } catch (RuntimeException e) {
        LOG.error("file source: unexpected error; still watching", e);
      }
    }
  }

  /**
   * Reads the file now, and the certificate files of TLS listeners (a rotation shows as new content on one of
   * the polls); public so tests and a SIGHUP-like trigger need not wait for the watcher.
   */
  public void reload() {
    synchronized (lock) {
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        if (lastText == null || !lastText.equals("\u0000missing")) {
          lastText = "\u0000missing";
          String why = e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.toString();
          ConfigError err = ConfigError.of("file " + file.getFileName(), "", file.toString(),
              "cannot read " + file + ": " + why + (synced ? "; keeping the last good config" : ""));
          LOG.warn(err.describe());
          status.set(status.get().next(synced, status.get().lastChange(), List.of(err), List.of()));
        }
        return;
      }
      boolean textChanged = !text.equals(lastText);
      if (textChanged) {
        lastText = text;
        ParsedConfig parsed = parser.parse(text, file.getFileName().toString());
        LastGood.Result merged = LastGood.merge(effective, parsed);
        List<ConfigError> errors = new ArrayList<>(parsed.errors());
        errors.addAll(merged.errors());
        for (ConfigError e : errors) {
          LOG.warn("{}{}", e.describe(), parsed.readable() ? "" : "; keeping the last good config");
        }
        parsed.warnings().forEach(w -> LOG.warn(w.describe()));
        if (parsed.readable()) {
          synced = true;
          effective = merged.model();
        }
        fileErrors = errors;
        fileWarnings = parsed.warnings();
      }
      if (!synced) {
        status.set(status.get().next(false, Optional.empty(), fileErrors, fileWarnings));
        return;
      }
      TlsResolver.Result tls = certificates.resolve(effective.listeners(), clock.instant());
      if (!tls.errors().equals(tlsErrors)) {
        tls.errors().stream().filter(e -> !tlsErrors.contains(e)).forEach(e -> LOG.warn(e.describe()));
        tlsErrors = tls.errors();
      }
      Model next = effective.withTls(tls.listeners(), tls.secrets());
      boolean modelChanged = !next.equals(lastSubmitted);
      if (textChanged || modelChanged || !status.get().errors().equals(concat(fileErrors, tls.errors()))) {
        status.set(status.get().next(true,
            modelChanged || status.get().lastChange().isEmpty() ? Optional.of(clock.instant())
                : status.get().lastChange(),
            concat(fileErrors, tls.errors()), concat(fileWarnings, tls.warnings())));
      }
      if (modelChanged) {
        if (lastSubmitted != null && !textChanged) {
          LOG.info("certificates changed: {}", tls.secrets());
        } else {
          LOG.info("read {}: {} routes, {} backends, {} errors", file, next.routes().size(), next.backends().size(),
              fileErrors.size() + tls.errors().size());
        }
        lastSubmitted = next;
        sink.accept(next);
      }
    }
  }

  private static List<ConfigError> concat(List<ConfigError> a, List<ConfigError> b) {
    List<ConfigError> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
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
    closed = true;
    if (watcher != null) {
      try {
        watcher.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
