package dev.ebb.api.file;

import dev.ebb.api.model.Backend;
import dev.ebb.api.model.ConfigError;
import dev.ebb.api.model.Endpoint;
import dev.ebb.api.model.EndpointState;
import dev.ebb.api.model.ListenerSpec;
import dev.ebb.api.model.ListenerTls;
import dev.ebb.api.model.Protocol;
import dev.ebb.api.model.Rollout;
import dev.ebb.api.model.Route;
import dev.ebb.api.model.RouteScoping;
import dev.ebb.api.text.Addresses;
import dev.ebb.api.text.Durations;
import dev.ebb.api.text.Weights;
import java.io.StringReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads the file source's YAML (SPEC section 4). Pure: text in, {@link ParsedConfig} out. Each listener,
 * route and backend is validated on its own, so one bad object does not reject the others.
 */
public final class FileConfigParser {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?");
  private static final Set<String> TOP = Set.of("listeners", "routes", "backends");
  private static final Set<String> LISTENER_FIELDS = Set.of("name", "address", "port", "nodeClusters", "tls",
      "trustedHops", "accessLog", "routeScoping");
  private static final Set<String> TLS_FIELDS = Set.of("certFile", "keyFile", "secret");
  private static final Pattern KUBE_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
  private static final Set<String> ROUTE_FIELDS = Set.of("name", "hosts", "protocol", "pathPrefix", "listener",
      "stable", "canary", "canaryWeight", "drainTimeout", "idleTimeout", "maxStreamDuration", "outlierDetection");
  private static final Set<String> BACKEND_FIELDS = Set.of("name", "endpoints");
  private static final Set<String> ENDPOINT_FIELDS = Set.of("address", "port", "zone", "state");

  private final String file;
  private final List<ConfigError> errors = new ArrayList<>();
  private final List<ConfigError> warnings = new ArrayList<>();
  /** Incremental reads: valid backends of the last read by their (reused) item node, and of this read. */
  private Map<Node, Backend> previousBackends = Map.of();
  private final Map<Node, Backend> nextBackends = new java.util.IdentityHashMap<>();
  private Map<Node, Route> previousRoutes = Map.of();
  private final Map<Node, Route> nextRoutes = new java.util.IdentityHashMap<>();

  private FileConfigParser(String file) {
    this.file = file;
  }

  /**
   * @param file the name shown in messages (usually the file's name as given on the command line)
   */
  public static ParsedConfig parse(String text, String file) {
    return new FileConfigParser(file).run(text);
  }

  /**
   * A parser for one file that is read again and again: items (routes, backends, listeners) whose text did not
   * change keep their composed YAML, so a re-read costs the changed items plus the checks across objects. Gives
   * exactly what {@link #parse} gives. Not thread-safe: one per source.
   */
  public static final class Incremental {
    private final ChunkedComposer composer = new ChunkedComposer();
    private Map<Node, Backend> backends = new java.util.IdentityHashMap<>();
    private Map<Node, Route> routes = new java.util.IdentityHashMap<>();

    public ParsedConfig parse(String text, String file) {
      Optional<MappingNode> root = composer.compose(text);
      if (root.isEmpty()) {
        backends = new java.util.IdentityHashMap<>();
        routes = new java.util.IdentityHashMap<>();
        return FileConfigParser.parse(text, file);
      }
      FileConfigParser p = new FileConfigParser(file);
      p.previousBackends = backends;
      p.previousRoutes = routes;
      ParsedConfig parsed = p.runOn(root.get());
      backends = p.nextBackends;
      routes = p.nextRoutes;
      return parsed;
    }

    /** Items taken from the previous read in the last parse (for tests and benchmarks). */
    public int reusedItems() {
      return composer.reused();
    }
  }

  private ParsedConfig run(String text) {
    String fileObject = "file " + file;
    Node root;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      options.setMaxAliasesForCollections(20);
      root = new Yaml(new SafeConstructor(options)).compose(new StringReader(text));
    } catch (MarkedYAMLException e) {
      Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      String where = m == null ? file : file + ":" + (m.getLine() + 1) + ":" + (m.getColumn() + 1);
      String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
      return ParsedConfig.unreadable(new ConfigError(fileObject, "yaml", "",
          fileObject + ": YAML error at " + where + ": " + problem, Optional.of(where)));
    } catch (YAMLException e) {
      return ParsedConfig.unreadable(ConfigError.of(fileObject, "yaml", "", e.getMessage()));
    }
    if (root == null) {
      return ParsedConfig.unreadable(ConfigError.of(fileObject, "", "",
          "the file is empty; write \"routes: []\" to serve no routes"));
    }
    if (!(root instanceof MappingNode rootMap)) {
      return ParsedConfig.unreadable(new ConfigError(fileObject, "", "",
          fileObject + ": the top level must be a mapping with listeners, routes and backends",
          Optional.of(location(root))));
    }
    return runOn(rootMap);
  }

  private ParsedConfig runOn(MappingNode rootMap) {
    String fileObject = "file " + file;
    YamlNodes top = YamlNodes.of(file, rootMap);
    top.rejectUnknown(TOP);
    List<Node> listenerNodes = top.list("listeners");
    List<Node> routeNodes = top.list("routes");
    List<Node> backendNodes = top.list("backends");
    if (!top.problems().isEmpty()) {
      // A misspelt or misshapen top-level key would otherwise read as "no routes": refuse the whole file.
      for (YamlNodes.Problem p : top.problems()) {
        errors.add(error(fileObject, p));
      }
      return new ParsedConfig(false, List.of(), List.of(), List.of(), Set.of(), Set.of(), Set.of(), errors,
          List.of());
    }

    Set<String> invalidListeners = new LinkedHashSet<>();
    List<ListenerSpec> listeners = new ArrayList<>();
    Set<String> listenerNames = new HashSet<>();
    if (!top.has("listeners")) {
      listeners.add(ListenerSpec.DEFAULT);
      listenerNames.add(ListenerSpec.DEFAULT.name());
    }
    Map<String, String> ports = new HashMap<>();
    int index = 0;
    for (Node n : listenerNodes) {
      index++;
      parseListener(n, index, listenerNames, ports, listeners).ifPresentOrElse(listeners::add, () -> {});
    }
    // names of listeners that were declared, valid or not: routes may reference them
    for (Node n : listenerNodes) {
      nameOf(n).ifPresent(name -> {
        if (listeners.stream().noneMatch(l -> l.name().equals(name))) {
          invalidListeners.add(name);
        }
      });
    }

    Set<String> declaredBackends = new HashSet<>();
    for (Node n : backendNodes) {
      Backend known = previousBackends.get(n); // parsed from this very node: its name is the node's
      if (known != null) {
        declaredBackends.add(known.name());
      } else {
        nameOf(n).ifPresent(declaredBackends::add);
      }
    }
    List<Backend> backends = new ArrayList<>();
    Set<String> invalidBackends = new LinkedHashSet<>();
    Set<String> seenBackends = new HashSet<>();
    index = 0;
    for (Node n : backendNodes) {
      index++;
      Optional<Backend> b = parseBackend(n, index, seenBackends);
      if (b.isPresent()) {
        backends.add(b.get());
      } else {
        nameOf(n).filter(name -> backends.stream().noneMatch(x -> x.name().equals(name)))
            .ifPresent(invalidBackends::add);
      }
    }

    Set<String> allListenerNames = new HashSet<>(listenerNames);
    allListenerNames.addAll(invalidListeners);
    // a listener declared with routeScoping: host refuses wildcard hosts even while it is invalid: its last
    // good version (which LastGood may keep) most likely scopes routes too
    Map<String, RouteScoping> scoping = new HashMap<>();
    for (Node n : listenerNodes) {
      nameOf(n).ifPresent(name -> scalarOf(n, "routeScoping").flatMap(RouteScoping::parse)
          .ifPresent(sc -> scoping.putIfAbsent(name, sc)));
    }
    listeners.forEach(l -> scoping.put(l.name(), l.routeScoping()));
    List<Route> routes = new ArrayList<>();
    Set<String> invalidRoutes = new LinkedHashSet<>();
    Set<String> seenRoutes = new HashSet<>();
    Map<String, String> servedBy = new HashMap<>();
    index = 0;
    for (Node n : routeNodes) {
      index++;
      Optional<Route> r = parseRoute(n, index, seenRoutes, allListenerNames, scoping, declaredBackends, servedBy);
      if (r.isPresent()) {
        routes.add(r.get());
      } else {
        nameOf(n).filter(name -> routes.stream().noneMatch(x -> x.name().equals(name)))
            .ifPresent(invalidRoutes::add);
      }
    }
    return new ParsedConfig(true, listeners, routes, backends, invalidListeners, invalidRoutes, invalidBackends,
        errors, warnings);
  }

  private Optional<ListenerSpec> parseListener(Node n, int index, Set<String> names, Map<String, String> ports,
      List<ListenerSpec> before) {
    if (!(n instanceof MappingNode m)) {
      errors.add(new ConfigError("listener #" + index, "(entry)", "",
          "listener #" + index + ": must be a mapping with name and port", Optional.of(location(n))));
      return Optional.empty();
    }
    YamlNodes y = YamlNodes.of(file, m);
    String object = y.scalar("name").map(s -> "listener " + s).orElse("listener #" + index);
    y.rejectUnknown(LISTENER_FIELDS);
    Optional<String> name = y.requiredScalar("name");
    name.ifPresent(s -> {
      if (!NAME.matcher(s).matches()) {
        y.problem("name", s, s + " is not a valid name (letters, digits, '.', '_' and '-')");
      } else if (!names.add(s)) {
        y.problem("name", s, s + " is defined twice");
      }
    });
    String address = y.scalar("address").orElse("0.0.0.0");
    if (!Addresses.isIpLiteral(address)) {
      y.problem("address", address, address + " is not an IP address");
    }
    int port = y.requiredScalar("port").map(p -> port(y, "port", p)).orElse(0);
    List<String> nodeClusters = y.scalars("nodeClusters");
    Optional<ListenerTls> tls = tls(y);
    int trustedHops = 0;
    Optional<String> hops = y.scalar("trustedHops");
    if (hops.isPresent()) {
      try {
        trustedHops = Integer.parseInt(hops.get());
      } catch (NumberFormatException e) {
        trustedHops = -1;
      }
      if (trustedHops < 0 || trustedHops > 10) {
        y.problem("trustedHops", hops.get(), hops.get() + " is not a number of proxies from 0 to 10");
      }
    }
    boolean accessLog = bool(y, "accessLog", true);
    String scopingText = y.scalar("routeScoping").orElse(RouteScoping.NONE.wireName());
    RouteScoping routeScoping = RouteScoping.parse(scopingText).orElseGet(() -> {
      y.problem("routeScoping", scopingText, scopingText + " is not one of none, host");
      return RouteScoping.NONE;
    });
    if (routeScoping == RouteScoping.HOST) {
      // Envoy subscribes to scopes as a wildcard (scoped_rds.h: subscription_->start({})), so every scoped
      // listener of a node shares the node's one table of scopes: a second one would serve the first one's
      // hosts, and a host on both would be a "scope key conflict" that rejects the whole update
      ListenerSpec probe = new ListenerSpec(name.orElse(""), address, port, nodeClusters);
      before.stream().filter(l -> l.scopesRoutesByHost() && l.sharesNodesWith(probe)).findFirst()
          .ifPresent(other -> y.problem("routeScoping", scopingText, "host is also set on listener " + other.name()
              + ", which serves the same Envoy nodes; Envoy keeps one table of host scopes per node, so only one"
              + " listener per node may scope routes by host (give them disjoint nodeClusters)"));
    }
    if (port > 0) {
      String key = address + ":" + port;
      String other = ports.putIfAbsent(key, name.orElse("#" + index));
      if (other != null) {
        y.problem("port", String.valueOf(port), port + " is already used by listener " + other);
      }
    }
    if (report(object, y)) {
      return Optional.empty();
    }
    return Optional.of(new ListenerSpec(name.orElseThrow(), address, port, nodeClusters, tls, trustedHops,
        accessLog, routeScoping));
  }

  /** {@code tls: {certFile, keyFile}} or {@code tls: {secret: NAMESPACE/NAME}} (SPEC 10). */
  private Optional<ListenerTls> tls(YamlNodes y) {
    Optional<Node> node = y.node("tls");
    if (node.isEmpty()) {
      return Optional.empty();
    }
    if (!(node.get() instanceof MappingNode m)) {
      y.problem("tls", "", "must be a mapping with certFile and keyFile, or with secret");
      return Optional.empty();
    }
    YamlNodes t = YamlNodes.of(file, m);
    t.rejectUnknown(TLS_FIELDS);
    Optional<String> cert = t.scalar("certFile");
    Optional<String> key = t.scalar("keyFile");
    Optional<String> secret = t.scalar("secret");
    Optional<ListenerTls> out = Optional.empty();
    if (secret.isPresent()) {
      if (cert.isPresent() || key.isPresent()) {
        t.problem("secret", secret.get(), "either secret or certFile and keyFile, not both");
      }
      String[] parts = secret.get().split("/", -1);
      if (parts.length != 2 || !KUBE_NAME.matcher(parts[0]).matches() || !KUBE_NAME.matcher(parts[1]).matches()) {
        t.problem("secret", secret.get(), secret.get() + " is not NAMESPACE/NAME of a Kubernetes Secret");
      } else {
        out = Optional.of(new ListenerTls.KubeSecret(parts[0], parts[1]));
      }
    } else if (cert.isEmpty() || key.isEmpty()) {
      t.problem(cert.isEmpty() ? "certFile" : "keyFile", "", "is required (PEM file), or give secret instead");
    } else if (cert.get().isBlank() || key.get().isBlank()) {
      t.problem(cert.get().isBlank() ? "certFile" : "keyFile", "", "must be a file path");
    } else {
      out = Optional.of(new ListenerTls.Files(cert.get(), key.get()));
    }
    for (YamlNodes.Problem p : t.problems()) {
      y.problems().add(new YamlNodes.Problem("tls." + p.field(), p.value(), p.detail(), p.at() == null ? m : p.at()));
    }
    return t.problems().isEmpty() ? out : Optional.empty();
  }

  private static boolean bool(YamlNodes y, String field, boolean defaultValue) {
    Optional<String> v = y.scalar(field);
    if (v.isEmpty()) {
      return defaultValue;
    }
    return switch (v.get()) {
      case "true" -> true;
      case "false" -> false;
      default -> {
        y.problem(field, v.get(), v.get() + " is not true or false");
        yield defaultValue;
      }
    };
  }

  private Optional<Backend> parseBackend(Node n, int index, Set<String> seen) {
    Backend known = previousBackends.get(n);
    if (known != null && seen.add(known.name())) {
      // the same item node as in the last read (its text did not change), valid then and so valid now
      nextBackends.put(n, known);
      return Optional.of(known);
    }
    Optional<Backend> b = parseBackendItem(n, index, seen);
    b.ifPresent(x -> nextBackends.put(n, x));
    return b;
  }

  private Optional<Backend> parseBackendItem(Node n, int index, Set<String> seen) {
    if (!(n instanceof MappingNode m)) {
      errors.add(new ConfigError("backend #" + index, "(entry)", "",
          "backend #" + index + ": must be a mapping with name and endpoints", Optional.of(location(n))));
      return Optional.empty();
    }
    YamlNodes y = YamlNodes.of(file, m);
    String object = y.scalar("name").map(s -> "backend " + s).orElse("backend #" + index);
    y.rejectUnknown(BACKEND_FIELDS);
    Optional<String> name = y.requiredScalar("name");
    name.ifPresent(s -> {
      if (!NAME.matcher(s).matches()) {
        y.problem("name", s, s + " is not a valid name (letters, digits, '.', '_' and '-')");
      } else if (!seen.add(s)) {
        y.problem("name", s, s + " is defined twice");
      }
    });
    List<Endpoint> endpoints = new ArrayList<>();
    Set<String> hostPorts = new HashSet<>();
    for (Node e : y.list("endpoints")) {
      parseEndpoint(y, e).ifPresent(ep -> {
        if (!hostPorts.add(ep.hostPort())) {
          y.problem("endpoints", ep.hostPort(), ep.hostPort() + " is listed twice");
        } else {
          endpoints.add(ep);
        }
      });
    }
    if (report(object, y)) {
      return Optional.empty();
    }
    return Optional.of(new Backend(name.orElseThrow(), endpoints));
  }

  private Optional<Endpoint> parseEndpoint(YamlNodes owner, Node n) {
    if (n instanceof ScalarNode s) {
      String text = s.getValue().trim();
      int colon = text.lastIndexOf(':');
      if (colon <= 0) {
        owner.problem("endpoints", text, text + " is not ADDRESS:PORT");
        return Optional.empty();
      }
      String host = text.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      } else if (host.indexOf(':') >= 0) {
        owner.problem("endpoints", text, text + " is not ADDRESS:PORT (write IPv6 addresses as [::1]:9001)");
        return Optional.empty();
      }
      if (!Addresses.isIpLiteral(host)) {
        owner.problem("endpoints", text, text + " does not start with an IP address (Envoy does not resolve"
            + " names in EDS)");
        return Optional.empty();
      }
      int port = port(owner, "endpoints", text.substring(colon + 1));
      return port > 0 ? Optional.of(Endpoint.ready(host, port)) : Optional.empty();
    }
    if (n instanceof MappingNode m) {
      YamlNodes y = YamlNodes.of(file, m);
      y.rejectUnknown(ENDPOINT_FIELDS);
      Optional<String> address = y.requiredScalar("address");
      address.ifPresent(a -> {
        if (!Addresses.isIpLiteral(a)) {
          y.problem("address", a, a + " is not an IP address");
        }
      });
      int port = y.requiredScalar("port").map(p -> port(y, "port", p)).orElse(0);
      String zone = y.scalar("zone").orElse("");
      String stateText = y.scalar("state").orElse("ready");
      EndpointState state = switch (stateText) {
        case "ready" -> EndpointState.READY;
        case "draining" -> EndpointState.DRAINING;
        default -> {
          y.problem("state", stateText, stateText + " is not one of ready, draining");
          yield EndpointState.READY;
        }
      };
      if (!y.problems().isEmpty()) {
        for (YamlNodes.Problem p : y.problems()) {
          owner.problems().add(new YamlNodes.Problem("endpoints." + p.field(), p.value(), p.detail(),
              p.at() == null ? n : p.at()));
        }
        return Optional.empty();
      }
      return Optional.of(new Endpoint(address.orElseThrow(), port, zone, state));
    }
    owner.problem("endpoints", "", "each endpoint must be \"ADDRESS:PORT\" or a mapping with address and port");
    return Optional.empty();
  }

  private Optional<Route> parseRoute(Node n, int index, Set<String> seen, Set<String> listenerNames,
      Map<String, RouteScoping> scoping, Set<String> backendNames, Map<String, String> servedBy) {
    Route known = previousRoutes.get(n);
    if (known != null && stillValid(known, seen, listenerNames, scoping, backendNames, servedBy)) {
      // the same item node as in the last read: what it says alone was valid; what it says with the rest of the
      // file (names, references, hosts) has just been checked again
      seen.add(known.name());
      known.hosts().forEach(h -> servedBy.put(known.listener() + "|" + h + "|" + known.pathPrefix(), known.name()));
      maxStreamWarning("route " + known.name(), known).ifPresent(warnings::add);
      nextRoutes.put(n, known);
      return Optional.of(known);
    }
    Optional<Route> r = parseRouteItem(n, index, seen, listenerNames, scoping, backendNames, servedBy);
    r.ifPresent(x -> nextRoutes.put(n, x));
    return r;
  }

  private static boolean stillValid(Route r, Set<String> seen, Set<String> listenerNames,
      Map<String, RouteScoping> scoping, Set<String> backendNames, Map<String, String> servedBy) {
    RouteScoping onListener = scoping.getOrDefault(r.listener(), RouteScoping.NONE);
    return !seen.contains(r.name()) && listenerNames.contains(r.listener())
        && r.hosts().stream().allMatch(h -> onListener.hostProblem(r.listener(), h).isEmpty()
            && !servedBy.containsKey(r.listener() + "|" + h + "|" + r.pathPrefix()))
        && r.backendNames().stream().allMatch(backendNames::contains);
  }

  private static Optional<ConfigError> maxStreamWarning(String object, Route r) {
    return r.maxStreamDuration().filter(d -> d.compareTo(r.drainTimeout()) > 0).map(d -> ConfigError.of(object,
        "maxStreamDuration", Durations.format(d), Durations.format(d) + " is longer than drainTimeout "
            + Durations.format(r.drainTimeout()) + ": streams can outlive the drain and are cut when the old backend"
            + " goes away"));
  }

  private Optional<Route> parseRouteItem(Node n, int index, Set<String> seen, Set<String> listenerNames,
      Map<String, RouteScoping> scoping, Set<String> backendNames, Map<String, String> servedBy) {
    if (!(n instanceof MappingNode m)) {
      errors.add(new ConfigError("route #" + index, "(entry)", "",
          "route #" + index + ": must be a mapping with name, hosts and stable", Optional.of(location(n))));
      return Optional.empty();
    }
    YamlNodes y = YamlNodes.of(file, m);
    String object = y.scalar("name").map(s -> "route " + s).orElse("route #" + index);
    y.rejectUnknown(ROUTE_FIELDS);
    Optional<String> name = y.requiredScalar("name");
    name.ifPresent(s -> {
      if (!NAME.matcher(s).matches()) {
        y.problem("name", s, s + " is not a valid name (letters, digits, '.', '_' and '-')");
      } else if (!seen.add(s)) {
        y.problem("name", s, s + " is defined twice");
      }
    });
    List<String> hosts = new ArrayList<>();
    if (!y.has("hosts")) {
      y.problem("hosts", "", "is required (a list of host names)");
    }
    for (String h : y.scalars("hosts")) {
      String problem = Addresses.hostProblem(h);
      if (!problem.isEmpty()) {
        y.problem("hosts", h, h + " " + problem);
      } else if (hosts.contains(h)) {
        y.problem("hosts", h, h + " is listed twice");
      } else {
        hosts.add(h);
      }
    }
    if (y.has("hosts") && hosts.isEmpty() && y.problems().stream().noneMatch(p -> p.field().equals("hosts"))) {
      y.problem("hosts", "[]", "must name at least one host");
    }
    String protocolText = y.scalar("protocol").orElse("websocket");
    Protocol protocol = Protocol.parse(protocolText).orElseGet(() -> {
      y.problem("protocol", protocolText, protocolText + " is not one of websocket, grpc, http");
      return Protocol.WEBSOCKET;
    });
    String pathPrefix = y.scalar("pathPrefix").orElse(Route.DEFAULT_PATH_PREFIX);
    if (!pathPrefix.startsWith("/") || pathPrefix.chars().anyMatch(c -> c <= ' ')) {
      y.problem("pathPrefix", pathPrefix, pathPrefix + " must start with / and contain no spaces");
    }
    String listener = y.scalar("listener").orElse(Route.DEFAULT_LISTENER);
    if (!listenerNames.contains(listener)) {
      y.problem("listener", listener, "listener " + listener + " is not defined");
    }
    RouteScoping onListener = scoping.getOrDefault(listener, RouteScoping.NONE);
    for (String h : hosts) {
      onListener.hostProblem(listener, h).ifPresent(why -> y.problem("hosts", h, why));
    }
    Optional<String> stable = y.requiredScalar("stable");
    stable.ifPresent(s -> {
      if (!backendNames.contains(s)) {
        y.problem("stable", s, "backend " + s + " is not defined");
      }
    });
    Optional<String> canary = y.scalar("canary");
    canary.ifPresent(c -> {
      if (!backendNames.contains(c)) {
        y.problem("canary", c, "backend " + c + " is not defined");
      } else if (stable.isPresent() && stable.get().equals(c)) {
        y.problem("canary", c, c + " is also the stable backend");
      }
    });
    int weight = 0;
    Optional<String> weightText = y.scalar("canaryWeight");
    if (weightText.isPresent()) {
      try {
        weight = Weights.parseBasisPoints(weightText.get());
        if (canary.isEmpty()) {
          y.problem("canaryWeight", weightText.get(), "is set but the route has no canary");
        }
      } catch (IllegalArgumentException e) {
        y.problem("canaryWeight", weightText.get(), e.getMessage());
      }
    }
    Duration drainTimeout = duration(y, "drainTimeout", Route.DEFAULT_DRAIN_TIMEOUT);
    if (drainTimeout.compareTo(Route.MAX_DRAIN_TIMEOUT) > 0) {
      y.problem("drainTimeout", Durations.format(drainTimeout),
          y.scalar("drainTimeout").orElse("") + " is longer than the maximum 168h");
    }
    Duration idleTimeout = duration(y, "idleTimeout", Route.DEFAULT_IDLE_TIMEOUT);
    boolean outlierDetection = bool(y, "outlierDetection", false);
    Optional<Duration> maxStream = y.has("maxStreamDuration")
        ? Optional.of(duration(y, "maxStreamDuration", Duration.ZERO)) : Optional.empty();
    if (maxStream.isPresent() && maxStream.get().isZero()) {
      maxStream = Optional.empty();
    }
    for (String h : hosts) {
      String key = listener + "|" + h + "|" + pathPrefix;
      String other = servedBy.get(key);
      if (other != null) {
        y.problem("hosts", h, h + " with pathPrefix " + pathPrefix + " is already served by route " + other
            + " on listener " + listener);
      }
    }
    if (report(object, y)) {
      return Optional.empty();
    }
    for (String h : hosts) {
      servedBy.put(listener + "|" + h + "|" + pathPrefix, name.orElseThrow());
    }
    Rollout rollout = new Rollout(stable.orElseThrow(), canary, canary.isPresent() ? weight : 0);
    Route route = new Route(name.orElseThrow(), hosts, protocol, pathPrefix, listener, rollout, drainTimeout,
        idleTimeout, maxStream, outlierDetection);
    maxStreamWarning(object, route).ifPresent(warnings::add);
    return Optional.of(route);
  }

  private Duration duration(YamlNodes y, String field, Duration defaultValue) {
    Optional<String> text = y.scalar(field);
    if (text.isEmpty()) {
      return defaultValue;
    }
    try {
      return Durations.parse(text.get());
    } catch (IllegalArgumentException e) {
      y.problem(field, text.get(), e.getMessage());
      return defaultValue;
    }
  }

  private int port(YamlNodes y, String field, String text) {
    try {
      int p = Integer.parseInt(text.trim());
      if (p >= 1 && p <= 65535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    y.problem(field, text, text + " is not a port (1..65535)");
    return 0;
  }

  /** Adds the object's problems to the errors; true when there were any. */
  private boolean report(String object, YamlNodes y) {
    for (YamlNodes.Problem p : y.problems()) {
      errors.add(error(object, p));
    }
    return !y.problems().isEmpty();
  }

  private ConfigError error(String object, YamlNodes.Problem p) {
    ConfigError e = ConfigError.of(object, p.field(), p.value(), p.detail());
    return p.at() == null ? e : e.at(location(p.at()));
  }

  private String location(Node n) {
    return file + ":" + (n.getStartMark().getLine() + 1) + ":" + (n.getStartMark().getColumn() + 1);
  }

  private static Optional<String> nameOf(Node n) {
    return scalarOf(n, "name");
  }

  /**
   * A scalar field of a mapping, read without validating anything else. A key given twice counts by its first
   * value, as everywhere else in the parser (a null first value does not make the second one the name).
   */
  private static Optional<String> scalarOf(Node n, String field) {
    if (n instanceof MappingNode m) {
      return m.getValue().stream()
          .filter(t -> t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(field))
          .map(t -> t.getValueNode())
          .findFirst()
          .filter(v -> v instanceof ScalarNode && !YamlNodes.isNull(v))
          .map(v -> ((ScalarNode) v).getValue());
    }
    return Optional.empty();
  }
}
