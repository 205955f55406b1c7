package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * SPEC 12: the Helm chart, rendered by Helm itself (helm-java), checked for what an install depends on:
 * strict lint, golden files of every scenario, RBAC equal to the API calls Ebb really makes, probes on real
 * admin paths, flags Ebb knows, restrictive security contexts, a schema that rejects bad values, and an Envoy
 * bootstrap that Envoy's own proto accepts with no unknown field.
 *
 * <p>Golden files: {@code src/test/resources/chart-golden}. After an intended chart change, regenerate them with
 * {@code mvn -B verify -pl integration-tests -Dit.test=ChartIT -Debb.updateGolden=true} and review the diff.
 */
class ChartIT {
  static final Path CHART = Path.of("../charts/ebb");
  static final Path GOLDEN = Path.of("src/test/resources/chart-golden");
  static final String NS = "ebb-system";

  /** The value sets the golden files cover. */
  enum Scenario {
    DEFAULTS(Map.of()),
    WATCH_NAMESPACES(Map.of("watchNamespaces[0]", "team-a", "watchNamespaces[1]", "team-b")),
    ENVOY(Map.of("envoy.enabled", "true")),
    ENVOY_DAEMONSET(Map.of("envoy.enabled", "true", "envoy.kind", "DaemonSet")),
    XDS_TLS(Map.of("xds.tls.secretName", "ebb-xds-tls")),
    MONITORED(Map.of("envoy.enabled", "true", "metrics.serviceMonitor.enabled", "true",
        "networkPolicy.enabled", "true")),
    ONE_REPLICA(Map.of("replicaCount", "1"));

    final Map<String, String> values;

    Scenario(Map<String, String> values) {
      this.values = values;
    }

    String file() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ".yaml";
    }
  }

  static String render(Map<String, String> values) {
    TemplateCommand t = new Helm(CHART).template().withName("ebb").withNamespace(NS);
    for (var e : new java.util.TreeMap<>(values).entrySet()) {
      t = t.set(e.getKey(), e.getValue());
    }
    return t.call();
  }

  /** The rendered objects, as plain maps. */
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> objects(String rendered) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object doc : new Yaml().loadAll(rendered)) {
      if (doc instanceof Map<?, ?> m) {
        out.add((Map<String, Object>) m);
      }
    }
    return out;
  }

  static List<Map<String, Object>> ofKind(List<Map<String, Object>> objects, String kind) {
    return objects.stream().filter(o -> kind.equals(o.get("kind"))).toList();
  }

  static Map<String, Object> one(List<Map<String, Object>> objects, String kind, String name) {
    return objects.stream().filter(o -> kind.equals(o.get("kind")) && name.equals(at(o, "metadata.name")))
        .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " " + name + " rendered"));
  }

  /** The value at a dotted path of maps ("spec.template.spec"); null when absent. */
  @SuppressWarnings("unchecked")
  static <T> T at(Object root, String path) {
    Object o = root;
    for (String k : path.split("\\.")) {
      if (!(o instanceof Map<?, ?> m)) {
        return null;
      }
      o = m.get(k);
    }
    return (T) o;
  }

  static List<Map<String, Object>> containers(Map<String, Object> workload) {
    return at(workload, "spec.template.spec.containers");
  }

  static Map<String, Object> container(Map<String, Object> workload, String name) {
    return containers(workload).stream().filter(c -> name.equals(c.get("name"))).findFirst()
        .orElseThrow(() -> new AssertionError("no container " + name));
  }

  @Test
  void lintsStrictly() {
    LintResult r = new Helm(CHART).lint().strict().call();
    assertThat(r.isFailed()).as("helm lint --strict: %s", r.getMessages()).isFalse();
  }

  @ParameterizedTest
  @EnumSource(Scenario.class)
  void renderedOutputMatchesItsGoldenFile(Scenario s) throws Exception {
    String rendered = render(s.values);
    Path golden = GOLDEN.resolve(s.file());
    if (Boolean.getBoolean("ebb.updateGolden")) {
      Files.createDirectories(GOLDEN);
      Files.writeString(golden, rendered, StandardCharsets.UTF_8);
    }
    assertThat(golden).as("golden file %s (regenerate: mvn -B verify -pl integration-tests -Dit.test=ChartIT "
        + "-Debb.updateGolden=true)", golden).exists();
    assertThat(rendered).as("chart output for %s differs from %s; if the change is intended, regenerate: "
        + "mvn -B verify -pl integration-tests -Dit.test=ChartIT -Debb.updateGolden=true", s, golden)
        .isEqualTo(Files.readString(golden, StandardCharsets.UTF_8));
  }

  @Test
  void theDefaultInstallIsCompleteAndHasNoEnvoy() {
    List<Map<String, Object>> o = objects(render(Map.of()));
    Map<String, Object> deploy = one(o, "Deployment", "ebb");
    assertThat((Integer) at(deploy, "spec.replicas")).isEqualTo(2);
    one(o, "Service", "ebb-xds");
    one(o, "Service", "ebb-metrics");
    one(o, "ServiceAccount", "ebb");
    one(o, "ConfigMap", "ebb-listeners");
    one(o, "PodDisruptionBudget", "ebb");
    assertThat(ofKind(o, "ClusterRole")).hasSize(1);
    assertThat(o).noneMatch(x -> String.valueOf((Object) at(x, "metadata.name")).contains("envoy"));
    assertThat(ofKind(o, "ServiceMonitor")).isEmpty();
    assertThat(ofKind(o, "NetworkPolicy")).isEmpty();
    assertThat(ofKind(objects(render(Map.of("replicaCount", "1"))), "PodDisruptionBudget")).isEmpty();
    // spread over nodes and zones
    List<Map<String, Object>> spread = at(deploy, "spec.template.spec.topologySpreadConstraints");
    assertThat(spread).extracting(m -> m.get("topologyKey"))
        .contains("kubernetes.io/hostname", "topology.kubernetes.io/zone");
  }

  @Test
  void ebbGetsOnlyFlagsItKnowsAndItsProbesHitRealAdminPaths(@TempDir Path dir) {
    List<Map<String, Object>> o = objects(render(Map.of("watchNamespaces[0]", "team-a")));
    Map<String, Object> ebb = container(one(o, "Deployment", "ebb"), "ebb");
    List<String> args = at(ebb, "args");
    // picocli parses them exactly as `ebb` does: an unknown or malformed flag throws
    CommandLine.ParseResult parsed = new CommandLine(new dev.ebb.Main()).parseArgs(args.toArray(String[]::new));
    CommandLine.ParseResult serve = parsed.subcommand();
    assertThat(serve.commandSpec().name()).isEqualTo("serve");
    assertThat((String) serve.matchedOptionValue("--source", "")).isEqualTo("kubernetes");
    List<String> watched = serve.matchedOptionValue("--namespace", List.<String>of());
    assertThat(watched).containsExactly("team-a");
    assertThat((String) serve.matchedOptionValue("--lease-namespace", "")).isEqualTo(NS);
    assertThat((String) serve.matchedOptionValue("--admin-address", "")).isEqualTo("0.0.0.0");
    int adminPort = serve.matchedOptionValue("--admin-port", -1);
    int xdsPort = serve.matchedOptionValue("--xds-port", -1);
    List<Map<String, Object>> ports = at(ebb, "ports");
    Map<String, Integer> byName = new LinkedHashMap<>();
    ports.forEach(p -> byName.put((String) p.get("name"), (Integer) p.get("containerPort")));
    assertThat(byName).containsEntry("admin", adminPort).containsEntry("xds", xdsPort);
    assertThat((String) at(ebb, "readinessProbe.httpGet.path")).isEqualTo("/readyz");
    assertThat((String) at(ebb, "livenessProbe.httpGet.path")).isEqualTo("/healthz");
    assertThat((String) at(ebb, "startupProbe.httpGet.path")).isEqualTo("/healthz");
    for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
      assertThat((Object) at(ebb, probe + ".httpGet.port")).isIn("admin", adminPort);
    }
    // those paths answer 200 on a running Ebb
    try (EbbFixture fixture = new EbbFixture(dir, EbbFixture.chat("grpc", "v1", "v2", "0", 9001, 9002)).start()) {
      for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
        assertThat(fixture.admin(at(ebb, probe + ".httpGet.path"))).startsWith("200 ");
      }
    }
    // the listeners file the chart mounts is one Ebb accepts
    Map<String, String> listenersData = at(one(o, "ConfigMap", "ebb-listeners"), "data");
    String listeners = listenersData.get("listeners.yaml");
    Path file = dir.resolve("listeners.yaml");
    try {
      Files.writeString(file, listeners);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertThat(dev.ebb.api.file.FileConfigParser.parse(listeners, "listeners.yaml").errors()).isEmpty();
  }

  /** (apiGroup, resource, verb) of every rule, for RBAC objects of these kinds. */
  static Set<String> rules(List<Map<String, Object>> objects, String... kinds) {
    Set<String> out = new TreeSet<>();
    for (String kind : kinds) {
      for (Map<String, Object> role : ofKind(objects, kind)) {
        List<Map<String, Object>> rules = at(role, "rules");
        for (Map<String, Object> r : rules) {
          for (Object g : (List<?>) r.get("apiGroups")) {
            for (Object res : (List<?>) r.get("resources")) {
              for (Object v : (List<?>) r.get("verbs")) {
                out.add(g + "/" + res + ":" + v);
              }
            }
          }
        }
      }
    }
    return out;
  }

  private static final Pattern API_PATH = Pattern.compile(
      "^/(?:api/v1|apis/([^/]+)/[^/]+)(?:/namespaces/[^/]+)?/([a-z]+)(/[^/?]+)?(?:\\?(.*))?$");

  /** What Ebb asked the API server, as RBAC sees it: "group/resource:verb". */
  static Set<String> calls(List<String> requests) {
    Set<String> out = new TreeSet<>();
    for (String req : requests) {
      String[] mp = req.split(" ", 2);
      Matcher m = API_PATH.matcher(mp[1]);
      if (!m.matches()) {
        continue;
      }
      String group = m.group(1) == null ? "" : m.group(1);
      boolean named = m.group(3) != null;
      boolean watch = m.group(4) != null && m.group(4).contains("watch=true");
      String verb = switch (mp[0]) {
        case "GET" -> watch ? "watch" : named ? "get" : "list";
        case "POST" -> "create";
        case "PUT" -> "update";
        case "PATCH" -> "patch";
        case "DELETE" -> "delete";
        default -> mp[0];
      };
      out.add(group + "/" + m.group(2) + ":" + verb);
    }
    return out;
  }

  @Test
  void rbacGrantsExactlyTheCallsEbbMakesAndNoWildcard() throws Exception {
    Set<String> made;
    try (MockApiServer api = new MockApiServer().start()) {
      KubernetesIT.createChat(api, "20");
      int before = api.requests.size();
      try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0).awaitReady()) {
        await().atMost(Duration.ofSeconds(15)).until(() -> ebb.server.leader()
            && api.annotations("chat").containsKey("ebb.dev/status") && !api.events("chat").isEmpty());
        api.annotate("chat", "ebb.dev/canary-weight", "30"); // a watch event and another status write
        await().atMost(Duration.ofSeconds(10)).until(() -> api.annotations("chat").get("ebb.dev/status")
            .contains("\"30\""));
        // the Lease is renewed at least once
        await().atMost(Duration.ofSeconds(10)).until(() -> api.requests.subList(before, api.requests.size())
            .stream().filter(r -> r.contains("/leases/") && !r.startsWith("GET ")).count() >= 2);
        made = calls(api.requests.subList(before, api.requests.size()));
      }
    }
    System.out.println("ChartIT: the API calls Ebb made: " + made);
    List<Map<String, Object>> all = objects(render(Map.of()));
    Set<String> granted = rules(all, "ClusterRole", "Role");
    assertThat(granted).as("chart RBAC (ClusterRole + Role) vs the calls Ebb made").isEqualTo(made);
    assertThat(granted.toString()).doesNotContain("*");
    // watching some namespaces: the same rules as a Role in each of them, the Lease rule in the release namespace
    List<Map<String, Object>> scoped = objects(render(Map.of("watchNamespaces[0]", "team-a",
        "watchNamespaces[1]", "team-b")));
    assertThat(ofKind(scoped, "ClusterRole")).isEmpty();
    Set<String> namespaces = new TreeSet<>();
    ofKind(scoped, "Role").forEach(r -> namespaces.add(at(r, "metadata.namespace")));
    assertThat(namespaces).containsExactly(NS, "team-a", "team-b");
    assertThat(rules(scoped, "Role")).isEqualTo(made);
    // docs/rbac.yaml, for installs without the chart, says the same
    List<Map<String, Object>> doc = objects(Files.readString(Path.of("../docs/rbac.yaml")));
    assertThat(rules(doc, "ClusterRole", "Role")).isEqualTo(made);
  }

  @Test
  void aTlsListenerLetsEbbReadItsSecretAndNoOther(@TempDir Path dir) throws Exception {
    Path listeners = dir.resolve("listeners.yaml");
    Files.writeString(listeners, """
        listeners:
          - {name: edge, port: 10000}
          - {name: edge-tls, port: 10443, tls: {secret: default/chat-tls}}
        """);
    List<String> secretCalls;
    try (MockApiServer api = new MockApiServer().start()) {
      KubernetesIT.createChat(api, "20");
      dev.ebb.tls.TestCertificates.Pair p = dev.ebb.tls.TestCertificates.selfSigned("chat.example.com");
      api.apply(MockApiServer.tlsSecret("chat-tls", p.certificatePem(), p.keyPem()));
      api.apply(MockApiServer.tlsSecret("unrelated", p.certificatePem(), p.keyPem()));
      int before = api.requests.size();
      try (KubeEbb ebb = new KubeEbb(api, "ebb-a", 0, java.util.Optional.of(listeners)).awaitReady()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> ebb.admin("/status").contains("\"tlsSecret\" : "
            + "\"default/chat-tls\""));
        secretCalls = api.requests.subList(before, api.requests.size()).stream().filter(r -> r.contains("/secrets"))
            .toList();
      }
    }
    System.out.println("ChartIT: Secret calls: " + secretCalls);
    assertThat(secretCalls).isNotEmpty().allSatisfy(r -> assertThat(r)
        .contains("/namespaces/default/secrets").contains("fieldSelector=metadata.name%3Dchat-tls"));
    Set<String> made = calls(secretCalls);

    List<Map<String, Object>> all = objects(render(Map.of(
        "listeners[0].name", "edge", "listeners[0].port", "10000",
        "listeners[1].name", "edge-tls", "listeners[1].port", "10443", "listeners[1].tls.secret", "default/chat-tls",
        "listeners[2].name", "admin-tls", "listeners[2].port", "11443", "listeners[2].tls.secret", "ops/admin-cert")));
    List<Map<String, Object>> tlsRoles = ofKind(all, "Role").stream()
        .filter(r -> at(r, "metadata.name").equals("ebb-tls")).toList();
    assertThat(tlsRoles).extracting(r -> (String) at(r, "metadata.namespace")).containsExactlyInAnyOrder("default", "ops");
    for (Map<String, Object> role : tlsRoles) {
      assertThat(rules(List.of(role), "Role")).as("verbs on secrets").isEqualTo(made);
      List<Map<String, Object>> rules = at(role, "rules");
      String expected = at(role, "metadata.namespace").equals("default") ? "chat-tls" : "admin-cert";
      assertThat(rules).singleElement().satisfies(r -> assertThat(r.get("resourceNames"))
          .isEqualTo(List.of(expected)));
    }
    assertThat(ofKind(all, "RoleBinding")).extracting(r -> (String) at(r, "metadata.name")).contains("ebb-tls");
    // the listeners file Ebb gets carries the TLS listener as written
    Map<String, Object> data = at(ofKind(all, "ConfigMap").stream()
        .filter(c -> at(c, "metadata.name").equals("ebb-listeners")).findFirst().orElseThrow(), "data");
    String listenersFile = (String) data.get("listeners.yaml");
    assertThat(dev.ebb.api.file.FileConfigParser.parse(listenersFile, "listeners.yaml").listeners())
        .extracting(l -> l.secretName().orElse("")).containsExactly("", "default/chat-tls", "ops/admin-cert");
  }

  @Test
  void everyPodRunsRestricted() {
    List<Map<String, Object>> o = objects(render(Map.of("envoy.enabled", "true")));
    List<Map<String, Object>> workloads = new ArrayList<>(ofKind(o, "Deployment"));
    workloads.addAll(ofKind(o, "DaemonSet"));
    assertThat(workloads).hasSize(2);
    for (Map<String, Object> w : workloads) {
      String name = at(w, "metadata.name");
      assertThat((Boolean) at(w, "spec.template.spec.securityContext.runAsNonRoot")).as(name).isTrue();
      assertThat((String) at(w, "spec.template.spec.securityContext.seccompProfile.type")).as(name)
          .isEqualTo("RuntimeDefault");
      for (Map<String, Object> c : containers(w)) {
        String what = name + "/" + c.get("name");
        assertThat((Boolean) at(c, "securityContext.allowPrivilegeEscalation")).as(what).isFalse();
        assertThat((Boolean) at(c, "securityContext.readOnlyRootFilesystem")).as(what).isTrue();
        List<String> drop = at(c, "securityContext.capabilities.drop");
        assertThat(drop).as(what).containsExactly("ALL");
        assertThat((Object) at(c, "resources.requests")).as(what).isNotNull();
        assertThat((Object) at(c, "resources.limits.memory")).as(what).isNotNull();
      }
    }
    Map<String, Object> ebb = container(one(o, "Deployment", "ebb"), "ebb");
    List<Map<String, Object>> env = at(ebb, "env");
    Map<String, String> vars = new LinkedHashMap<>();
    env.forEach(e -> vars.put((String) e.get("name"), String.valueOf(e.get("value"))));
    assertThat(vars.get("JAVA_TOOL_OPTIONS")).contains("-XX:MaxRAMPercentage=");
    assertThat(vars).containsEntry("MALLOC_ARENA_MAX", "2");
    Map<String, Object> envoy = one(o, "Deployment", "ebb-envoy");
    assertThat((Boolean) at(envoy, "spec.template.spec.automountServiceAccountToken")).isFalse();
  }

  @Test
  void theSchemaRejectsWrongValues() {
    for (Map<String, String> bad : List.of(Map.of("replicaCount", "two"), Map.of("envoy.drainTimeout", "forever"),
        Map.of("nope", "1"), Map.of("envoy.kind", "StatefulSet"))) {
      assertThatThrownBy(() -> render(bad)).as("values %s", bad).hasMessageContaining("values");
    }
  }

  @Test
  void envoyObjectsOnlyWhenEnabledAndItDrainsBeforeItStops() {
    for (String kind : List.of("Deployment", "DaemonSet")) {
      List<Map<String, Object>> o = objects(render(Map.of("envoy.enabled", "true", "envoy.kind", kind,
          "envoy.drainTimeout", "20m")));
      Map<String, Object> fleet = one(o, kind, "ebb-envoy");
      one(o, "Service", "ebb-envoy");
      one(o, "ConfigMap", "ebb-envoy");
      one(o, "PodDisruptionBudget", "ebb-envoy");
      int grace = at(fleet, "spec.template.spec.terminationGracePeriodSeconds");
      assertThat(grace).as("grace period longer than the 20m drain").isGreaterThan(20 * 60);
      Map<String, Object> envoy = container(fleet, "envoy");
      assertThat((String) at(envoy, "lifecycle.preStop.httpGet.path")).isEqualTo("/shutdown");
      assertThat((String) at(envoy, "readinessProbe.httpGet.path")).isEqualTo("/ready");
      Map<String, Object> manager = container(fleet, "shutdown-manager");
      // no probe that could restart the helper in the middle of a drain (contour#4851)
      assertThat(manager).doesNotContainKeys("livenessProbe", "readinessProbe");
      List<String> args = at(manager, "args");
      assertThat(new CommandLine(new dev.ebb.Main()).parseArgs(args.toArray(String[]::new)).subcommand()
          .commandSpec().name()).isEqualTo("envoy-shutdown-manager");
      List<String> drain = at(manager, "lifecycle.preStop.exec.command");
      int jar = drain.indexOf("/opt/ebb/ebb.jar");
      CommandLine.ParseResult d = new CommandLine(new dev.ebb.Main())
          .parseArgs(drain.subList(jar + 1, drain.size()).toArray(String[]::new)).subcommand();
      assertThat(d.commandSpec().name()).isEqualTo("envoy-drain");
      assertThat((Duration) d.matchedOptionValue("--timeout", Duration.ZERO)).isEqualTo(Duration.ofMinutes(20));
      assertThat((Object) d.matchedOptionValue("--done-file", null)).hasToString(
          String.valueOf((Object) new CommandLine(new dev.ebb.Main()).parseArgs(args.toArray(String[]::new))
              .subcommand().matchedOptionValue("--done-file", null)));
    }
  }

  /** Envoy's Bootstrap, strictly: an unknown field, a wrong type or an unknown Any type fails. */
  static Bootstrap parseBootstrap(String yaml) throws Exception {
    Object tree = new Yaml().load(yaml);
    String json = new ObjectMapper().writeValueAsString(tree);
    TypeRegistry types = TypeRegistry.newBuilder()
        .add(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.getDescriptor())
        .add(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            .getDescriptor())
        .add(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor())
        .add(io.envoyproxy.envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
            .getDescriptor())
        .build();
    Bootstrap.Builder b = Bootstrap.newBuilder();
    JsonFormat.parser().usingTypeRegistry(types).merge(json, b);
    return b.build();
  }

  @Test
  void envoyBootstrapsParseStrictlyAsEnvoysBootstrap() throws Exception {
    List<Map<String, Object>> o = objects(render(Map.of("envoy.enabled", "true")));
    Map<String, Object> cm = one(o, "ConfigMap", "ebb-envoy");
    Map<String, String> data = at(cm, "data");
    String file = data.keySet().stream().filter(k -> k.endsWith(".yaml") || k.endsWith(".json")).findFirst()
        .orElseThrow();
    Bootstrap chart = parseBootstrap(data.get(file));
    assertThat(chart.getDynamicResources().getAdsConfig().getGrpcServices(0).getEnvoyGrpc().getClusterName())
        .isEqualTo("ebb");
    assertThat(chart.getClusterManager().getLoadStatsConfig().getGrpcServicesCount()).isEqualTo(1);
    var xds = chart.getStaticResources().getClustersList().stream().filter(c -> c.getName().equals("ebb"))
        .findFirst().orElseThrow();
    assertThat(xds.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
        .getSocketAddress().getAddress()).isEqualTo("ebb-xds." + NS + ".svc.cluster.local");
    assertThat(chart.getAdmin().getAddress().getSocketAddress().getAddress()).isEqualTo("127.0.0.1");
    Bootstrap edge = parseBootstrap(Files.readString(Path.of("../envoy/edge.yaml")));
    assertThat(edge.getNode().getCluster()).isEqualTo("edge");
    // and the check is strict: an unknown field fails
    assertThatThrownBy(() -> parseBootstrap("node: {id: x, clusterr: edge}")).hasMessageContaining("clusterr");
  }
}
