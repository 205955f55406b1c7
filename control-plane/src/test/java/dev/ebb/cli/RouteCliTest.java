package dev.ebb.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Issue 14.4: a cluster that does not answer is a sentence with the URL and a hint, within seconds. */
class RouteCliTest {
  @Test
  void anUnreachableClusterFailsFastWithAHint() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    String url = "http://127.0.0.1:" + port + "/";
    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
        .withMasterUrl(url).withRequestRetryBackoffLimit(0).withConnectionTimeout(3_000).build()).build()) {
      long started = System.nanoTime();
      assertThatThrownBy(() -> new RouteCli(client).status("default", false, Instant.now(),
          new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)))
          .isInstanceOf(RouteCli.CliException.class)
          .hasMessageStartingWith("cannot list services: the Kubernetes API at " + url + " cannot be reached (")
          .hasMessageContainingAll("onnection refused", "; is the cluster up (kubectl cluster-info)? For an Ebb"
              + " serving a file: ./ebb status --admin [URL]");
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    }
  }
}
