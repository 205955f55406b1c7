package dev.ebb.it;

import io.fabric8.kubernetes.api.model.EventList;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * fabric8's Kubernetes mock API server in CRUD mode, which can be stopped and started again on the same port
 * with the same stored objects (an API server restart), plus builders for the objects Ebb reads.
 */
final class MockApiServer implements AutoCloseable {
  static final String NS = "default";
  /** Services whose PATCH the server refuses with 403 (as RBAC would): name to the number of refusals. */
  final java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> refusePatches =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** The test's own client says so in its User-Agent, so that its calls are not taken for Ebb's. */
  static final String ADMIN_AGENT = "ebb-test-admin";
  /** Every request from a client other than the test's own: "METHOD path?query". */
  final java.util.List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher() {
    @Override
    public io.fabric8.mockwebserver.http.MockResponse dispatch(io.fabric8.mockwebserver.http.RecordedRequest r) {
      if (!ADMIN_AGENT.equals(r.getHeader("User-Agent"))) {
        requests.add(r.getMethod() + " " + r.getPath());
      }
      return super.dispatch(r);
    }

    @Override
    public io.fabric8.mockwebserver.http.MockResponse handlePatch(io.fabric8.mockwebserver.http.RecordedRequest r) {
      String path = r.getPath() == null ? "" : r.getPath().replaceAll("\\?.*$", "");
      for (var e : refusePatches.entrySet()) {
        if (path.endsWith("/namespaces/" + NS + "/services/" + e.getKey())) {
          e.getValue().incrementAndGet();
          return new io.fabric8.mockwebserver.http.MockResponse().setResponseCode(403).setBody("{\"kind\":"
              + "\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\","
              + "\"message\":\"services \\\"" + e.getKey() + "\\\" is forbidden (test)\",\"code\":403}");
        }
      }
      return super.handlePatch(r);
    }
  };
  private KubernetesMockServer server;
  private int port;
  private KubernetesClient admin;

  MockApiServer start() {
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    server.init(InetAddress.getLoopbackAddress(), port);
    port = server.getPort();
    return this;
  }

  void stop() {
    server.destroy();
  }

  /**
   * A new client for this server (each Ebb instance gets its own, as separate processes would), with short
   * retries so that an API server outage is seen in seconds, not minutes.
   */
  KubernetesClient newClient() {
    return newClient(null);
  }

  private KubernetesClient newClient(String userAgent) {
    io.fabric8.kubernetes.client.ConfigBuilder c = new io.fabric8.kubernetes.client.ConfigBuilder(
        io.fabric8.kubernetes.client.Config.empty())
        .withMasterUrl(server.url("/")).withNamespace(NS).withRequestRetryBackoffLimit(1)
        .withWatchReconnectInterval(200);
    if (userAgent != null) {
      c.withUserAgent(userAgent);
    }
    return new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(c.build()).build();
  }

  /** The test's own client, for creating and patching objects. */
  KubernetesClient admin() {
    if (admin == null) {
      admin = newClient(ADMIN_AGENT);
    }
    return admin;
  }

  static Service backendService(String name) {
    return new ServiceBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
        .withNewSpec().addNewPort().withName("http").withPort(80).endPort()
        .addToSelector("app", name).endSpec().build();
  }

  static Service routeService(String name, Map<String, String> annotations) {
    return new ServiceBuilder().withNewMetadata().withName(name).withNamespace(NS).withAnnotations(annotations)
        .endMetadata().withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build();
  }

  /** An endpoint of a slice: address, zone, and conditions ready/serving/terminating. */
  record Ep(String address, String zone, boolean ready, boolean serving, boolean terminating) {
    static Ep ready(String address, String zone) {
      return new Ep(address, zone, true, true, false);
    }

    static Ep terminating(String address, String zone) {
      return new Ep(address, zone, false, true, true);
    }
  }

  static EndpointSlice slice(String service, String sliceName, Ep... endpoints) {
    EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withName(sliceName).withNamespace(NS)
        .addToLabels("kubernetes.io/service-name", service).endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort();
    for (Ep e : endpoints) {
      b.addToEndpoints(new EndpointBuilder().withAddresses(e.address()).withZone(e.zone())
          .withNewConditions().withReady(e.ready()).withServing(e.serving()).withTerminating(e.terminating())
          .endConditions().build());
    }
    return b.build();
  }

  void apply(Service s) {
    admin().services().inNamespace(NS).resource(s).createOr(r -> r.update());
  }

  void apply(io.fabric8.kubernetes.api.model.Secret s) {
    admin().secrets().inNamespace(NS).resource(s).createOr(r -> r.update());
  }

  /** A {@code kubernetes.io/tls} Secret holding this PEM pair. */
  static io.fabric8.kubernetes.api.model.Secret tlsSecret(String name, String certPem, String keyPem) {
    java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
    return new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata().withName(name).withNamespace(NS)
        .endMetadata().withType("kubernetes.io/tls")
        .addToData("tls.crt", b64.encodeToString(certPem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
        .addToData("tls.key", b64.encodeToString(keyPem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
        .build();
  }

  void apply(EndpointSlice s) {
    admin().discovery().v1().endpointSlices().inNamespace(NS).resource(s).createOr(r -> r.update());
  }

  Map<String, String> annotations(String service) {
    Service s = admin().services().inNamespace(NS).withName(service).get();
    return s.getMetadata().getAnnotations() == null ? Map.of() : s.getMetadata().getAnnotations();
  }

  void annotate(String service, String key, String value) {
    editService(service, s -> {
      s.getMetadata().getAnnotations().put(key, value);
      return s;
    });
  }

  /**
   * Reads, changes and writes a Service, again when the write conflicts (409): Ebb writes its status annotation
   * on the same Service, and a user's tool (kubectl) retries such a conflict too.
   */
  void editService(String service, java.util.function.UnaryOperator<Service> change) {
    for (int attempt = 1; ; attempt++) {
      try {
        admin().services().inNamespace(NS).withName(service).edit(change);
        return;
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 10) {
          throw e;
        }
      }
    }
  }

  List<io.fabric8.kubernetes.api.model.Event> events(String service) {
    EventList list = admin().v1().events().inNamespace(NS).list();
    return list.getItems().stream().filter(e -> e.getInvolvedObject() != null
        && service.equals(e.getInvolvedObject().getName())).toList();
  }

  @Override
  public void close() {
    if (admin != null) {
      admin.close();
    }
    server.destroy();
  }
}
