package dev.ebb.kube;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Merge patches written by Jackson: any text survives, a null removes (issue 14.10). */
class AnnotationPatchTest {
  @Test
  void theStatusPatchCarriesTheAnnotationVerbatim() throws Exception {
    String status = "{\"lastError\":\"route \\\"chat\\\": bad\\u0001 value\\n\\ttab \u2028 é\"}";
    JsonNode patch = new ObjectMapper().readTree(KubeStatusWriter.statusPatch(status));
    assertThat(patch.path("metadata").path("annotations").path("ebb.dev/status").asText()).isEqualTo(status);
    assertThat(patch.path("metadata").path("annotations").size()).isEqualTo(1);
  }

  @Test
  void aNullRemovesAnAnnotation() {
    Map<String, String> change = new HashMap<>();
    change.put("ebb.dev/stable", "chat-v2");
    change.put("ebb.dev/canary", null);
    assertThat(AnnotationPatch.of(change))
        .isEqualTo("{\"metadata\":{\"annotations\":{\"ebb.dev/canary\":null,\"ebb.dev/stable\":\"chat-v2\"}}}");
  }
}
