package dev.ebb.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code ebb status --admin}: the cluster's table, from a running Ebb's /status (issue 14.4). */
class AdminStatusTest {
  @Test
  void printsTheSameTableAsFromTheCluster() throws Exception {
    String status = """
        {"ready":true,
         "source":{"kind":"file","errors":[{"message":"route feed: canaryWeight: 150 is out of range 0..100",
                                           "object":"route feed","field":"canaryWeight","value":"150"}]},
         "routes":[
          {"name":"chat","hosts":["chat.example.com","chat.example.org"],"stable":"chat-v1","canary":"chat-v2",
           "weights":{"chat-v1":"100%","chat-v2":"0%"},"openStreams":{"chat-v1":12,"chat-v2":3},
           "nodesOnCurrentWeights":"9/10",
           "draining":[{"route":"chat","backend":"chat-v2","timeLeft":"10m","streamsLeft":3,
                        "afterDrain":"cluster stays: route chat lists it at 0%"}]},
          {"name":"feed","hosts":["feed.example.com"],"stable":"feed-v1","weights":{"feed-v1":"100%"},
           "nodesOnCurrentWeights":"0/0","draining":[]}],
         "errors":["route feed: canaryWeight: 150 is out of range 0..100",
                   "node n1 rejected RDS version 7: bad route"]}
        """;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    AdminStatus.print(new ObjectMapper().readTree(status), new PrintStream(out, true, StandardCharsets.UTF_8));
    String table = out.toString(StandardCharsets.UTF_8);
    assertThat(table.lines().findFirst().orElseThrow()).startsWith("ROUTE").contains("DRAINING / LAST ERROR");
    assertThat(table).contains("chat.example.com,chat.example.org").contains("chat-v1 100%, 12 streams")
        .contains("chat-v2 0%, 3 streams").contains("9/10")
        .contains("chat-v2 drains, 10m left, 3 streams, then stays warm")
        .contains("error: route feed: canaryWeight: 150 is out of range 0..100")
        .contains("error: node n1 rejected RDS version 7: bad route");
    assertThat(table.lines().filter(l -> l.contains("out of range"))).hasSize(1); // on its route's row only
  }

  @Test
  void beforeTheFirstConfigItSaysSo() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    AdminStatus.print(new ObjectMapper().readTree("{\"ready\":false,\"errors\":[]}"),
        new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("(nothing published yet: not ready)");
  }
}
