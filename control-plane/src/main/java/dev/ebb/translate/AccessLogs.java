package dev.ebb.translate;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Envoy's access log for Ebb's listeners: one JSON object per line on stdout. {@code upstream_cluster} is the
 * backend (version) a stream went to; {@code log_type} tells the line written when a WebSocket is upgraded
 * ({@code DownstreamTunnelSuccessfullyEstablished}) from the one written when a stream ends
 * ({@code DownstreamEnd}).
 */
final class AccessLogs {
  /** Field name to Envoy command operator; fixed order, so the Listener's bytes never change. */
  static final Map<String, String> FIELDS = fields();

  private AccessLogs() {}

  private static Map<String, String> fields() {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("start_time", "%START_TIME%");
    f.put("log_type", "%ACCESS_LOG_TYPE%");
    f.put("method", "%REQ(:METHOD)%");
    f.put("authority", "%REQ(:AUTHORITY)%");
    f.put("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%");
    f.put("protocol", "%PROTOCOL%");
    f.put("upgrade", "%REQ(UPGRADE)%");
    f.put("response_code", "%RESPONSE_CODE%");
    f.put("grpc_status", "%GRPC_STATUS%");
    f.put("response_flags", "%RESPONSE_FLAGS%");
    f.put("route_name", "%ROUTE_NAME%");
    f.put("upstream_cluster", "%UPSTREAM_CLUSTER%");
    f.put("upstream_host", "%UPSTREAM_HOST%");
    f.put("duration_ms", "%DURATION%");
    f.put("bytes_received", "%BYTES_RECEIVED%");
    f.put("bytes_sent", "%BYTES_SENT%");
    f.put("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%");
    f.put("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%");
    f.put("request_id", "%REQ(X-REQUEST-ID)%");
    return java.util.Collections.unmodifiableMap(f);
  }

  static AccessLog stdoutJson() {
    Struct.Builder json = Struct.newBuilder();
    FIELDS.forEach((k, v) -> json.putFields(k, Value.newBuilder().setStringValue(v).build()));
    return AccessLog.newBuilder()
        .setName(EnvoyTranslator.STDOUT_ACCESS_LOG)
        .setTypedConfig(Any.pack(StdoutAccessLog.newBuilder()
            .setLogFormat(SubstitutionFormatString.newBuilder().setJsonFormat(json))
            .build()))
        .build();
  }
}
