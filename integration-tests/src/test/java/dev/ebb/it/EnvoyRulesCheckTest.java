package dev.ebb.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import dev.ebb.publish.TypeUrl;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.lang.reflect.Constructor;
import org.junit.jupiter.api.Test;

/** The fixtures' check fails a test for a resource Envoy would reject, in SotW and delta responses. */
class EnvoyRulesCheckTest {
  static dev.ebb.xds.StreamState stream() throws Exception {
    Constructor<dev.ebb.xds.StreamState> c = dev.ebb.xds.StreamState.class.getDeclaredConstructor(long.class,
        java.time.Instant.class);
    c.setAccessible(true);
    return c.newInstance(1L, java.time.Instant.EPOCH);
  }

  /** A listener whose connection manager has no stat_prefix: Envoy NACKs it (min_len 1). */
  static Listener badListener() {
    return Listener.newBuilder().setName("edge")
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName("envoy.filters.network.http_connection_manager")
            .setTypedConfig(Any.pack(HttpConnectionManager.newBuilder().build()))))
        .build();
  }

  @Test
  void aResourceBreakingARuleFailsTheFixtureWithItsPath() throws Exception {
    EnvoyRulesCheck sotw = new EnvoyRulesCheck();
    sotw.responded(stream(), TypeUrl.LISTENER, DiscoveryResponse.newBuilder().addResources(Any.pack(badListener()))
        .build());
    assertThat(sotw.checked()).isEqualTo(1);
    assertThatThrownBy(sotw::assertNone).isInstanceOf(AssertionError.class)
        .hasMessageContaining("LDS #0 (SotW)").hasMessageContaining("stat_prefix");

    EnvoyRulesCheck delta = new EnvoyRulesCheck();
    delta.responded(stream(), TypeUrl.LISTENER, DeltaDiscoveryResponse.newBuilder().addResources(Resource.newBuilder()
        .setName("edge").setResource(Any.pack(badListener()))).build());
    assertThatThrownBy(delta::assertNone).hasMessageContaining("LDS edge (delta)").hasMessageContaining("stat_prefix");
  }

  @Test
  void whatEbbTranslatesPassesIt() throws Exception {
    EnvoyRulesCheck check = new EnvoyRulesCheck();
    var model = new dev.ebb.api.model.Model(java.util.List.of(dev.ebb.api.model.ListenerSpec.DEFAULT),
        java.util.List.of(), java.util.List.of());
    var t = new dev.ebb.translate.EnvoyTranslator(dev.ebb.translate.EnvoyTranslator.Settings.DEFAULT)
        .translate(dev.ebb.rollout.RolloutEngine.desired(model, java.time.Instant.EPOCH));
    check.responded(stream(), TypeUrl.LISTENER, DiscoveryResponse.newBuilder()
        .addResources(Any.pack(t.envoyListeners().get(0).listener())).build());
    check.assertNone();
    assertThat(check.checked()).isEqualTo(1);
  }
}
