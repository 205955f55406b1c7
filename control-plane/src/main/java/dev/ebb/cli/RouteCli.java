package dev.ebb.cli;

import dev.ebb.api.kube.Annotations;
import dev.ebb.api.text.Durations;
import dev.ebb.api.text.Weights;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@code ebb status | shift | promote | rollback} against the Kubernetes API: each reads the route Service and
 * changes it with one JSON merge patch of its annotations. Errors are {@link CliException}s with a sentence
 * fit for the terminal.
 */
public final class RouteCli {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A failure the user caused or can fix; printed without a stack trace, exit code 1. */
  public static final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CliException(String message) {
      super(message);
    }
  }

  private final KubernetesClient client;

  public RouteCli(KubernetesClient client) {
    this.client = client;
  }

  /** ROUTE is namespace/name, or name in the kubeconfig's current namespace. */
  String[] resolve(String route) {
    String[] parts = route.split("/", -1);
    if (parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty()) {
      return parts;
    }
    if (parts.length == 1 && !route.isEmpty()) {
      String ns = client.getNamespace() == null ? "default" : client.getNamespace();
      return new String[] {ns, route};
    }
    throw new CliException("route must be NAMESPACE/NAME or NAME, not \"" + route + "\"");
  }

  Service routeService(String route) {
    String[] nsName = resolve(route);
    Service s;
    try {
      s = client.services().inNamespace(nsName[0]).withName(nsName[1]).get();
    } catch (KubernetesClientException e) {
      throw apiFailure("cannot read service " + nsName[0] + "/" + nsName[1], e);
    }
    if (s == null) {
      throw new CliException("route " + nsName[0] + "/" + nsName[1] + " not found: there is no such Service");
    }
    if (annotations(s).get(Annotations.HOSTS) == null) {
      throw new CliException("service " + nsName[0] + "/" + nsName[1] + " is not an Ebb route (it has no "
          + Annotations.HOSTS + " annotation)");
    }
    return s;
  }

  static Map<String, String> annotations(Service s) {
    return s.getMetadata().getAnnotations() == null ? Map.of() : s.getMetadata().getAnnotations();
  }

  /** Sets the canary's share of new streams, as given. */
  public String shift(String route, String weight) {
    try {
      Weights.parseBasisPoints(weight);
    } catch (IllegalArgumentException e) {
      throw new CliException("weight " + e.getMessage());
    }
    Service s = routeService(route);
    String canary = annotations(s).get(Annotations.CANARY);
    if (canary == null || canary.isBlank()) {
      throw new CliException("route " + key(s) + " has no canary: set " + Annotations.CANARY + " first");
    }
    patch(s, Map.of(Annotations.CANARY_WEIGHT, weight.trim()));
    return "route " + key(s) + ": " + canary + " now gets " + weight.trim() + "% of new streams";
  }

  /** The canary becomes stable; canary and weight annotations are removed. */
  public String promote(String route) {
    Service s = routeService(route);
    String canary = annotations(s).get(Annotations.CANARY);
    if (canary == null || canary.isBlank()) {
      throw new CliException("route " + key(s) + " has no canary to promote");
    }
    String old = annotations(s).get(Annotations.STABLE);
    Map<String, String> change = new java.util.HashMap<>();
    change.put(Annotations.STABLE, canary);
    change.put(Annotations.CANARY, null); // removed
    change.put(Annotations.CANARY_WEIGHT, null);
    patch(s, change);
    return "route " + key(s) + ": " + canary + " is now stable; " + old + " drains";
  }

  /** Canary weight to 0: all new streams back to stable. */
  public String rollback(String route) {
    Service s = routeService(route);
    String canary = annotations(s).get(Annotations.CANARY);
    if (canary == null || canary.isBlank()) {
      throw new CliException("route " + key(s) + " has no canary to roll back from");
    }
    patch(s, Map.of(Annotations.CANARY_WEIGHT, "0"));
    return "route " + key(s) + ": all new streams go to " + annotations(s).get(Annotations.STABLE) + "; "
        + canary + " drains";
  }

  /** A table of every route: hosts, stable/canary with weights in effect, draining backends, last error. */
  public void status(String namespace, boolean allNamespaces, Instant now, PrintStream out) {
    List<Service> routes = new ArrayList<>();
    try {
      (allNamespaces ? client.services().inAnyNamespace().list()
          : client.services().inNamespace(namespace != null ? namespace
              : client.getNamespace() == null ? "default" : client.getNamespace()).list())
          .getItems().stream().filter(s -> annotations(s).containsKey(Annotations.HOSTS)).forEach(routes::add);
    } catch (KubernetesClientException e) {
      throw apiFailure("cannot list services", e);
    }
    routes.sort(Comparator.comparing(RouteCli::key));
    List<StatusTable.Row> rows = new ArrayList<>();
    for (Service s : routes) {
      Map<String, String> a = annotations(s);
      JsonNode status = readStatus(a.get(Annotations.STATUS));
      String stable = a.getOrDefault(Annotations.STABLE, "-") + " " + inEffect(status, a.get(Annotations.STABLE))
          + streams(status, a.get(Annotations.STABLE));
      String canary = a.get(Annotations.CANARY) == null ? "-"
          : a.get(Annotations.CANARY) + " " + inEffect(status, a.get(Annotations.CANARY))
              + streams(status, a.get(Annotations.CANARY));
      List<String> notes = new ArrayList<>();
      for (JsonNode d : status.path("draining")) {
        Duration left = Duration.between(now, Instant.parse(d.path("deadline").asText(now.toString())));
        notes.add(d.path("backend").asText() + " drains, " + (left.isNegative() ? "0" : Durations.format(
            left.withNanos(0))) + " left" + (d.has("streams") ? ", " + d.get("streams").asText() + " streams" : ""));
      }
      if (status.has("lastError")) {
        notes.add("error: " + status.get("lastError").asText());
      }
      rows.add(new StatusTable.Row(key(s), a.get(Annotations.HOSTS), stable, canary, status.path("nodes").asText("-"),
          notes));
    }
    StatusTable.print(rows, "(no Services with " + Annotations.HOSTS + ")", List.of(), out);
  }

  /** "80%" from the status Ebb wrote (weights in effect), or "(?)" before Ebb wrote any. */
  private static String inEffect(JsonNode status, String backendService) {
    return backendService == null ? "" : valueOf(status.path("weights"), backendService).map(v -> v + "%")
        .orElse("(?)");
  }

  /** ", 30 streams" from the status Ebb wrote, where load reports told it. */
  private static String streams(JsonNode status, String backendService) {
    return backendService == null ? "" : valueOf(status.path("streams"), backendService)
        .map(v -> ", " + v + " streams").orElse("");
  }

  /** The entry of a per-cluster map whose cluster (namespace/service/port) is of this backend Service. */
  private static java.util.Optional<String> valueOf(JsonNode byCluster, String backendService) {
    for (var e : byCluster.properties()) {
      String[] parts = e.getKey().split("/");
      if (parts.length == 3 && parts[1].equals(backendService)) {
        return java.util.Optional.of(e.getValue().asText());
      }
    }
    return java.util.Optional.empty();
  }

  private static JsonNode readStatus(String text) {
    try {
      return text == null ? JSON.createObjectNode() : JSON.readTree(text);
    } catch (Exception e) {
      return JSON.createObjectNode();
    }
  }

  /** One JSON merge patch of the route Service's annotations (a null value removes one). */
  private void patch(Service s, Map<String, String> annotations) {
    try {
      client.services().inNamespace(s.getMetadata().getNamespace()).withName(s.getMetadata().getName())
          .patch(PatchContext.of(PatchType.JSON_MERGE), dev.ebb.kube.AnnotationPatch.of(annotations));
    } catch (KubernetesClientException e) {
      throw apiFailure("cannot patch service " + key(s), e);
    }
  }

  /**
   * An API call that failed: the API server's answer when it gave one (403, 409), else why it could not be
   * reached, with the URL and a hint, instead of fabric8's "Operation: [list] ... failed".
   */
  private CliException apiFailure(String what, KubernetesClientException e) {
    if (e.getCode() > 0) {
      return new CliException(what + ": " + e.getMessage());
    }
    return new CliException(what + ": the Kubernetes API at " + client.getMasterUrl() + " cannot be reached ("
        + rootCause(e) + "); is the cluster up (kubectl cluster-info)? For an Ebb serving a file: ./ebb status"
        + " --admin [URL]");
  }

  /** The innermost message of a client failure ("connection refused", "UnknownHostException: ..."). */
  public static String rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      if (t instanceof java.net.ConnectException) {
        break;
      }
      t = t.getCause();
    }
    if (t instanceof java.net.ConnectException && (t.getMessage() == null || t.getMessage().isBlank())) {
      return "connection refused";
    }
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      return t.getClass().getSimpleName();
    }
    return t == e ? m : t.getClass().getSimpleName() + ": " + m;
  }

  static String key(Service s) {
    return s.getMetadata().getNamespace() + "/" + s.getMetadata().getName();
  }
}
