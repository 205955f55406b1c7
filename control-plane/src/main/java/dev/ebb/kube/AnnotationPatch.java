package dev.ebb.kube;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.TreeMap;

/**
 * A JSON merge patch (RFC 7386) of a Service's annotations, written by Jackson: the status writer's and the CLI's
 * one change each. A null value removes that annotation; the others are left alone.
 */
public final class AnnotationPatch {
  private static final ObjectMapper JSON = new ObjectMapper();

  private AnnotationPatch() {}

  /** {@code {"metadata":{"annotations":{...}}}}, keys sorted; a null value removes the annotation. */
  public static String of(Map<String, String> annotations) {
    try {
      return JSON.writeValueAsString(Map.of("metadata", Map.of("annotations", new TreeMap<>(annotations))));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("strings always serialize", e);
    }
  }
}
