package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

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
  /** The Envoy fleet's identity when the chart's cert-manager Certificate issues it. */
  static final String ENVOY_IDENTITY = "spiffe://cluster.local/ns/ebb-system/envoy/ebb-envoy";
  /** Mutual TLS with node authorization and the Envoy fleet, with Secrets brought by the user. */
  static final Map<String, String> MTLS_ENVOY = Map.of("xds.tls.secretName", "ebb-xds-tls",
      "envoy.enabled", "true", "envoy.xdsTls.secretName", "edge-xds-client",
      "xds.nodeAuthz[0].identity", ENVOY_IDENTITY, "xds.nodeAuthz[0].nodeClusters[0]", "edge",
      "xds.nodeAuthz[1].identity", "spiffe://cluster.local/ns/shop/sa/*",
      "xds.nodeAuthz[1].nodeClusters[0]", "sidecar", "xds.nodeAuthz[1].nodeClusters[1]", "outbound");

  /** The value sets the golden files cover. */
  enum Scenario {
    DEFAULTS(Map.of()),
    WATCH_NAMESPACES(Map.of("watchNamespaces[0]", "team-a", "watchNamespaces[1]", "team-b")),
    ENVOY(Map.of("envoy.enabled", "true")),
    ENVOY_DAEMONSET(Map.of("envoy.enabled", "true", "envoy.kind", "DaemonSet")),
    XDS_TLS(Map.of("xds.tls.secretName", "ebb-xds-tls")),
    XDS_MTLS_ENVOY(MTLS_ENVOY),
    XDS_TLS_CERT_MANAGER(Map.of("xds.tls.secretName", "ebb-xds-tls", "envoy.enabled", "true",
        "xds.tls.certManager.issuerRef.name", "ebb-ca", "xds.tls.certManager.issuerRef.kind", "ClusterIssuer",
        "xds.nodeAuthz[0].identity", "spiffe://cluster.local/ns/ebb-system/envoy/ebb-envoy",
        "xds.nodeAuthz[0].nodeClusters[0]", "edge")),
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
        Map.of("nope", "1"), Map.of("envoy.kind", "StatefulSet"),
        // SPEC 11: xDS TLS and node authorization
        Map.of("xds.tls.mutual", "maybe"), Map.of("xds.tls.secretNam", "x"), Map.of("envoy.xdsTls.secret", "x"),
        Map.of("xds.tls.secretName", "Not_A_Name"),
        Map.of("xds.tls.certManager.issuerRef.kind", "Vault"), Map.of("xds.tls.certManager.issuer", "x"),
        Map.of("xds.nodeAuthz[0].identity", "spiffe://x/*/y", "xds.nodeAuthz[0].nodeClusters[0]", "edge"),
        Map.of("xds.nodeAuthz[0].identity", "spiffe://x/a*", "xds.nodeAuthz[0].nodeClusters[0]", "edge"),
        Map.of("xds.nodeAuthz[0].identity", "spiffe://x/a"),
        Map.of("xds.nodeAuthz[0].identity", "spiffe://x/a", "xds.nodeAuthz[0].nodeClusters[0]", "edge",
            "xds.nodeAuthz[0].cluster", "edge"))) {
      assertThatThrownBy(() -> render(bad)).as("values %s", bad).hasMessageContaining("values");
    }
    // what the schema cannot see, the templates refuse with a message that says what to set
    Map<Map<String, String>, String> refused = Map.of(
        Map.of("xds.nodeAuthz[0].identity", "spiffe://x/a", "xds.nodeAuthz[0].nodeClusters[0]", "edge"),
        "xds.nodeAuthz needs mutual TLS",
        Map.of("xds.tls.secretName", "t", "xds.tls.mutual", "false", "xds.nodeAuthz[0].identity", "spiffe://x/a",
            "xds.nodeAuthz[0].nodeClusters[0]", "edge"), "xds.nodeAuthz needs mutual TLS",
        Map.of("xds.tls.secretName", "t", "envoy.enabled", "true"), "envoy.xdsTls.secretName",
        Map.of("xds.tls.certManager.issuerRef.name", "ca"), "xds.tls.secretName is empty");
    refused.forEach((values, message) -> assertThatThrownBy(() -> render(values)).as("values %s", values)
        .hasMessageContaining(message));
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
    return EnvoyBootstrapTest.parse(yaml);
  }

  @Test
  void envoyBootstrapsParseStrictlyAsEnvoysBootstrap() throws Exception {
    List<Map<String, Object>> o = objects(render(Map.of("envoy.enabled", "true")));
    Map<String, Object> cm = one(o, "ConfigMap", "ebb-envoy");
    Map<String, String> data = at(cm, "data");
    Bootstrap chart = parseBootstrap(data.get("envoy.yaml"));
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

  // ---- SPEC 11: xDS over TLS, node authorization ----

  /** Where a path inside a container comes from: "secret:NAME/KEY" or "configMap:NAME/KEY". */
  static String sourceOf(Map<String, Object> workload, Map<String, Object> container, String path) {
    int slash = path.lastIndexOf('/');
    String dir = path.substring(0, slash);
    String key = path.substring(slash + 1);
    List<Map<String, Object>> mounts = at(container, "volumeMounts");
    Map<String, Object> mount = mounts.stream().filter(m -> dir.equals(m.get("mountPath"))).findFirst()
        .orElseThrow(() -> new AssertionError("nothing mounted at " + dir + " (for " + path + ")"));
    // a subPath mount never sees the kubelet's symlink swap: a renewed certificate would not reach the process
    assertThat(mount).as("mount of %s", dir).doesNotContainKey("subPath").containsEntry("readOnly", true);
    List<Map<String, Object>> volumes = at(workload, "spec.template.spec.volumes");
    Map<String, Object> volume = volumes.stream().filter(v -> v.get("name").equals(mount.get("name"))).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + mount.get("name")));
    assertThat((Object) at(volume, "secret.items")).as("volume %s lists no items", volume.get("name")).isNull();
    if (volume.get("secret") != null) {
      return "secret:" + at(volume, "secret.secretName") + "/" + key;
    }
    assertThat((Object) at(volume, "configMap.items")).isNull();
    return "configMap:" + at(volume, "configMap.name") + "/" + key;
  }

  static CommandLine.ParseResult serveArgs(List<Map<String, Object>> objects) {
    List<String> args = at(container(one(objects, "Deployment", "ebb"), "ebb"), "args");
    return new CommandLine(new dev.ebb.Main()).parseArgs(args.toArray(String[]::new)).subcommand();
  }

  static String pathOption(CommandLine.ParseResult serve, String option) {
    Object p = serve.matchedOptionValue(option, null);
    return p == null ? null : p.toString();
  }

  @Test
  void xdsTlsFlagsNameExactlyTheFilesOfTheMountedSecretAndTheNodeAuthzConfigMap(@TempDir Path dir) throws Exception {
    List<Map<String, Object>> o = objects(render(MTLS_ENVOY));
    Map<String, Object> deploy = one(o, "Deployment", "ebb");
    Map<String, Object> ebb = container(deploy, "ebb");
    CommandLine.ParseResult serve = serveArgs(o);
    Map<String, String> sources = new LinkedHashMap<>();
    for (String flag : List.of("--xds-tls-cert", "--xds-tls-key", "--xds-client-ca", "--xds-node-authz")) {
      String path = pathOption(serve, flag);
      assertThat(path).as(flag).isNotNull().startsWith("/");
      sources.put(flag, sourceOf(deploy, ebb, path));
    }
    assertThat(sources).containsExactly(
        Map.entry("--xds-tls-cert", "secret:ebb-xds-tls/tls.crt"),
        Map.entry("--xds-tls-key", "secret:ebb-xds-tls/tls.key"),
        Map.entry("--xds-client-ca", "secret:ebb-xds-tls/ca.crt"),
        Map.entry("--xds-node-authz", "configMap:ebb-node-authz/node-authz.yaml"));
    // the node authorization file is one Ebb's own parser accepts, and it says what the values say
    Map<String, String> data = at(one(o, "ConfigMap", "ebb-node-authz"), "data");
    assertThat(data).containsOnlyKeys("node-authz.yaml");
    Path file = dir.resolve("node-authz.yaml");
    Files.writeString(file, data.get("node-authz.yaml"));
    dev.ebb.xds.NodeAuthz authz = dev.ebb.xds.NodeAuthz.load(file);
    java.util.function.BiFunction<String, String, Boolean> may = (id, cluster) -> authz.deny(List.of(id),
        io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId("n").setCluster(cluster).build()).isEmpty();
    assertThat(may.apply(ENVOY_IDENTITY, "edge")).isTrue();
    assertThat(may.apply(ENVOY_IDENTITY, "sidecar")).isFalse();
    assertThat(may.apply("spiffe://cluster.local/ns/shop/sa/checkout", "sidecar")).isTrue();
    assertThat(may.apply("spiffe://cluster.local/ns/shop/sa/checkout", "outbound")).isTrue();
    assertThat(may.apply("spiffe://cluster.local/ns/shop/sa/checkout", "edge")).isFalse();
    assertThat(may.apply("spiffe://cluster.local/ns/shop/sa/a/b", "sidecar")).isFalse();
    // Ebb reads that file at start only: a change rolls its pods
    assertThat((String) at(deploy, "spec.template.metadata.annotations.checksum/node-authz")).isNotEmpty();
    assertThat((Object) at(one(objects(render(Map.of("xds.tls.secretName", "ebb-xds-tls",
        "xds.nodeAuthz[0].identity", "spiffe://x/y", "xds.nodeAuthz[0].nodeClusters[0]", "edge"))),
        "Deployment", "ebb"), "spec.template.metadata.annotations.checksum/node-authz"))
        .isNotEqualTo(at(deploy, "spec.template.metadata.annotations.checksum/node-authz"));

    // server-side TLS only: no client CA; plaintext: none of the flags and nothing mounted
    CommandLine.ParseResult serverOnly = serveArgs(objects(render(Map.of("xds.tls.secretName", "ebb-xds-tls",
        "xds.tls.mutual", "false"))));
    assertThat(pathOption(serverOnly, "--xds-tls-cert")).isEqualTo(pathOption(serve, "--xds-tls-cert"));
    assertThat(pathOption(serverOnly, "--xds-client-ca")).isNull();
    assertThat(pathOption(serverOnly, "--xds-node-authz")).isNull();
    List<Map<String, Object>> plain = objects(render(Map.of()));
    CommandLine.ParseResult plaintext = serveArgs(plain);
    for (String flag : List.of("--xds-tls-cert", "--xds-tls-key", "--xds-client-ca", "--xds-node-authz")) {
      assertThat(pathOption(plaintext, flag)).as(flag).isNull();
    }
    List<Map<String, Object>> plainVolumes = at(one(plain, "Deployment", "ebb"), "spec.template.spec.volumes");
    assertThat(plainVolumes).extracting(v -> v.get("name")).containsExactly("listeners", "tmp");
    assertThat(ofKind(plain, "ConfigMap")).extracting(c -> (String) at(c, "metadata.name"))
        .containsExactly("ebb-listeners");
  }

  /** The chart's Envoy bootstrap and its SDS files, read through the ConfigMap mounted at /etc/envoy. */
  static EnvoyBootstrapTest.TlsToEbb envoyTls(List<Map<String, Object>> o, boolean mutual) throws Exception {
    Map<String, Object> fleet = one(o, "Deployment", "ebb-envoy");
    Map<String, Object> envoy = container(fleet, "envoy");
    Map<String, String> data = at(one(o, "ConfigMap", "ebb-envoy"), "data");
    Bootstrap b = parseBootstrap(data.get("envoy.yaml"));
    EnvoyBootstrapTest.assertHardened("chart", b);
    return EnvoyBootstrapTest.assertTlsToEbb("chart", b, mutual, path -> {
      String source = sourceOf(fleet, envoy, path);
      assertThat(source).as("SDS file %s comes from the bootstrap ConfigMap", path).startsWith("configMap:ebb-envoy/");
      String key = source.substring("configMap:ebb-envoy/".length());
      assertThat(data).as("ConfigMap ebb-envoy").containsKey(key);
      return data.get(key);
    });
  }

  @Test
  void theEnvoyFleetDialsEbbOverMutualTlsWithTheFilesOfItsMountedSecret() throws Exception {
    List<Map<String, Object>> o = objects(render(MTLS_ENVOY));
    Map<String, Object> fleet = one(o, "Deployment", "ebb-envoy");
    Map<String, Object> envoy = container(fleet, "envoy");
    EnvoyBootstrapTest.TlsToEbb t = envoyTls(o, true);
    assertThat(t.host()).isEqualTo("ebb-xds." + NS + ".svc.cluster.local");
    assertThat(sourceOf(fleet, envoy, t.certFile().orElseThrow())).isEqualTo("secret:edge-xds-client/tls.crt");
    assertThat(sourceOf(fleet, envoy, t.keyFile().orElseThrow())).isEqualTo("secret:edge-xds-client/tls.key");
    assertThat(sourceOf(fleet, envoy, t.caFile())).isEqualTo("secret:edge-xds-client/ca.crt");
    // the Secrets the chart's SDS files hold are those of envoy/sds/ (the repository's TLS bootstraps)
    Map<String, String> data = at(one(o, "ConfigMap", "ebb-envoy"), "data");
    assertThat(t.ca()).isEqualTo(EnvoyBootstrapTest.parseSds(EnvoyBootstrapTest.repoSds("/etc/envoy/sds/xds-ca.yaml"))
        .getResources(0).unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class));
    assertThat(t.clientCert().orElseThrow()).isEqualTo(EnvoyBootstrapTest.parseSds(
        EnvoyBootstrapTest.repoSds("/etc/envoy/sds/xds-client-cert.yaml")).getResources(0)
        .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class));
    assertThat(data).containsOnlyKeys("envoy.yaml", "sds-xds-ca.yaml", "sds-xds-client-cert.yaml");

    // server-side TLS only: Envoy checks Ebb's certificate and presents none
    List<Map<String, Object>> serverOnly = objects(render(Map.of("xds.tls.secretName", "ebb-xds-tls",
        "xds.tls.mutual", "false", "envoy.enabled", "true", "envoy.xdsTls.secretName", "edge-ca")));
    EnvoyBootstrapTest.TlsToEbb s = envoyTls(serverOnly, false);
    assertThat(sourceOf(one(serverOnly, "Deployment", "ebb-envoy"), container(one(serverOnly, "Deployment",
        "ebb-envoy"), "envoy"), s.caFile())).isEqualTo("secret:edge-ca/ca.crt");
    Map<String, String> serverOnlyData = at(one(serverOnly, "ConfigMap", "ebb-envoy"), "data");
    assertThat(serverOnlyData).containsOnlyKeys("envoy.yaml", "sds-xds-ca.yaml");
    // plaintext: no transport socket, no Secret in the Envoy pods
    List<Map<String, Object>> plain = objects(render(Map.of("envoy.enabled", "true")));
    Map<String, String> plainData = at(one(plain, "ConfigMap", "ebb-envoy"), "data");
    assertThat(plainData).containsOnlyKeys("envoy.yaml");
    assertThat(EnvoyBootstrapTest.cluster(parseBootstrap(plainData.get("envoy.yaml")), "ebb").hasTransportSocket())
        .isFalse();
  }

  @Test
  void certManagerCertificatesMatchWhatEbbMountsAndWhatEnvoyChecks() throws Exception {
    List<Map<String, Object>> o = objects(render(Scenario.XDS_TLS_CERT_MANAGER.values));
    Map<String, Object> server = one(o, "Certificate", "ebb-xds");
    Map<String, Object> client = one(o, "Certificate", "ebb-envoy-xds");
    for (Map<String, Object> c : List.of(server, client)) {
      assertThat((String) at(c, "apiVersion")).isEqualTo("cert-manager.io/v1");
      assertThat((Map<String, Object>) at(c, "spec.issuerRef")).containsExactly(Map.entry("name", "ebb-ca"),
          Map.entry("kind", "ClusterIssuer"), Map.entry("group", "cert-manager.io"));
    }
    // Ebb's certificate goes where Ebb reads it, and names every SAN the Envoys accept
    Map<String, Object> deploy = one(o, "Deployment", "ebb");
    assertThat(sourceOf(deploy, container(deploy, "ebb"), pathOption(serveArgs(o), "--xds-tls-cert")))
        .isEqualTo("secret:" + at(server, "spec.secretName") + "/tls.crt");
    List<String> dnsNames = at(server, "spec.dnsNames");
    List<String> usages = at(server, "spec.usages");
    assertThat(usages).contains("server auth");
    Bootstrap b = parseBootstrap(((Map<String, String>) at(one(o, "ConfigMap", "ebb-envoy"), "data")).get("envoy.yaml"));
    var tls = EnvoyBootstrapTest.cluster(b, "ebb").getTransportSocket().getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class);
    assertThat(tls.getCommonTlsContext().getCombinedValidationContext().getDefaultValidationContext()
        .getMatchTypedSubjectAltNamesList()).extracting(m -> m.getMatcher().getExact()).isSubsetOf(dnsNames);
    // the fleet's certificate goes where Envoy reads it, and its identity is the one node authorization names
    EnvoyBootstrapTest.TlsToEbb t = envoyTls(o, true);
    Map<String, Object> fleet = one(o, "Deployment", "ebb-envoy");
    assertThat(sourceOf(fleet, container(fleet, "envoy"), t.certFile().orElseThrow()))
        .isEqualTo("secret:" + at(client, "spec.secretName") + "/tls.crt");
    assertThat((String) at(client, "spec.secretName")).isEqualTo("ebb-envoy-xds-tls");
    List<String> uris = at(client, "spec.uris");
    assertThat(uris).containsExactly(ENVOY_IDENTITY);
    List<String> clientUsages = at(client, "spec.usages");
    assertThat(clientUsages).contains("client auth");
    // no Certificate without an issuer
    assertThat(ofKind(objects(render(MTLS_ENVOY)), "Certificate")).isEmpty();
  }

  /**
   * The chart's TLS wiring end to end, without a cluster: the files its mounts would hold (certificates as the
   * chart's cert-manager Certificates describe them, the node authorization ConfigMap) are written under a
   * temporary root, Ebb is started with the flags of the chart's Deployment, and a client that is what the
   * chart's Envoy would be (the fleet's identity, Ebb's CA, the SNI and SAN of its bootstrap, its node
   * cluster) gets config while a claim of another node cluster, or a server name the bootstrap does not match,
   * fails.
   */
  @Test
  void ebbStartsWithTheChartsTlsFilesAndServesTheChartsEnvoyIdentity(@TempDir Path dir) throws Exception {
    List<Map<String, Object>> o = objects(render(Scenario.XDS_TLS_CERT_MANAGER.values));
    dev.ebb.tls.TestCertificates.Ca ca = dev.ebb.tls.TestCertificates.ca("ebb-ca");
    List<String> dnsNames = at(one(o, "Certificate", "ebb-xds"), "spec.dnsNames");
    List<String> uris = at(one(o, "Certificate", "ebb-envoy-xds"), "spec.uris");
    dev.ebb.tls.TestCertificates.Pair serverCert = dev.ebb.tls.TestCertificates.signed(ca, "ebb-xds", List.of(),
        dnsNames);
    dev.ebb.tls.TestCertificates.Pair envoyCert = dev.ebb.tls.TestCertificates.signed(ca, "envoy", uris, List.of());
    // the files of Ebb's mounts, as the kubelet would write them
    Map<String, Object> deploy = one(o, "Deployment", "ebb");
    Map<String, Object> ebbContainer = container(deploy, "ebb");
    Path root = dir.resolve("root");
    Map<String, String> secretFiles = Map.of("tls.crt", serverCert.certificatePem(), "tls.key", serverCert.keyPem(),
        "ca.crt", ca.certificatePem());
    CommandLine.ParseResult serve = serveArgs(o);
    Map<String, Path> files = new LinkedHashMap<>();
    for (String flag : List.of("--xds-tls-cert", "--xds-tls-key", "--xds-client-ca", "--xds-node-authz")) {
      String path = pathOption(serve, flag);
      String source = sourceOf(deploy, ebbContainer, path);
      String key = source.substring(source.lastIndexOf('/') + 1);
      String content = source.startsWith("secret:") ? secretFiles.get(key)
          : ((Map<String, String>) at(one(o, "ConfigMap", source.substring("configMap:".length(),
              source.lastIndexOf('/'))), "data")).get(key);
      Path p = root.resolve(path.substring(1));
      Files.createDirectories(p.getParent());
      Files.writeString(p, content);
      files.put(flag, p);
    }
    var connections = new dev.ebb.xds.XdsServer.Connections(Duration.ofSeconds(30), Duration.ZERO,
        Duration.ofSeconds(30), java.util.Optional.of(new dev.ebb.xds.XdsTls.Files(files.get("--xds-tls-cert"),
        files.get("--xds-tls-key"), java.util.Optional.of(files.get("--xds-client-ca")))),
        java.util.Optional.of(files.get("--xds-node-authz")), dev.ebb.xds.XdsGuard.Limits.DEFAULT);
    // what the chart's Envoy would check and claim
    Bootstrap b = parseBootstrap(((Map<String, String>) at(one(o, "ConfigMap", "ebb-envoy"), "data")).get("envoy.yaml"));
    var tls = EnvoyBootstrapTest.cluster(b, "ebb").getTransportSocket().getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class);
    String sni = tls.getSni();
    List<String> fleetArgs = at(container(one(o, "Deployment", "ebb-envoy"), "envoy"), "args");
    String nodeCluster = fleetArgs.get(fleetArgs.indexOf("--service-cluster") + 1);
    try (EbbFixture ebb = new EbbFixture(dir, EbbFixture.chat("websocket", "v1", "v2", "20", 9001, 9002))
        .withConnections(connections).start()) {
      int port = ebb.xdsPort();
      try (AdsClient fleet = new AdsClient(channel(port, ca, envoyCert, sni), AdsClient.Variant.SOTW, "ebb-envoy-1",
              "envoy", nodeCluster).start();
          AdsClient otherCluster = new AdsClient(channel(port, ca, envoyCert, sni), AdsClient.Variant.SOTW,
              "ebb-envoy-2", "envoy", "sidecar").start();
          AdsClient wrongName = new AdsClient(channel(port, ca, envoyCert, "ebb-xds.elsewhere.svc.cluster.local"),
              AdsClient.Variant.SOTW, "ebb-envoy-3", "envoy", nodeCluster).start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> (fleet.count(AdsClient.LDS) >= 1 || fleet.error() != null)
            && otherCluster.error() != null && wrongName.error() != null);
        assertThat(fleet.error()).as("the chart's Envoy (SNI %s, node cluster %s, identity %s)", sni, nodeCluster, uris)
            .isNull();
        assertThat(fleet.count(AdsClient.LDS)).isPositive();
        assertThat(io.grpc.Status.fromThrowable(otherCluster.error()).getCode())
            .isEqualTo(io.grpc.Status.Code.PERMISSION_DENIED);
        assertThat(io.grpc.Status.fromThrowable(wrongName.error()).getCode())
            .isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
      }
    }
  }

  /** A TLS channel that trusts {@code ca}, presents {@code client} and checks Ebb's certificate for {@code name}. */
  static io.grpc.ManagedChannel channel(int port, dev.ebb.tls.TestCertificates.Ca ca,
      dev.ebb.tls.TestCertificates.Pair client, String name) throws Exception {
    io.grpc.ChannelCredentials creds = io.grpc.TlsChannelCredentials.newBuilder()
        .trustManager(new java.io.ByteArrayInputStream(ca.certificatePem().getBytes(StandardCharsets.US_ASCII)))
        .keyManager(new java.io.ByteArrayInputStream(client.certificatePem().getBytes(StandardCharsets.US_ASCII)),
            new java.io.ByteArrayInputStream(client.keyPem().getBytes(StandardCharsets.US_ASCII)))
        .build();
    return io.grpc.Grpc.newChannelBuilderForAddress("127.0.0.1", port, creds).overrideAuthority(name).build();
  }
}
