package dev.ebb.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.rpc.Status;
import dev.ebb.publish.TypeUrl;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.ResourceLocator;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The SotW request reader gives exactly what the standard one gives, and reuses a list of names it has read. */
class SotwRequestMarshallerTest {
  static final Node ENVOY = Node.newBuilder().setId("envoy-1").setCluster("edge").setUserAgentName("envoy").build();
  final SotwRequestMarshaller reader = new SotwRequestMarshaller();
  final io.grpc.MethodDescriptor.Marshaller<DiscoveryRequest> standard =
      ProtoUtils.marshaller(DiscoveryRequest.getDefaultInstance());

  static List<String> scopes(int n) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      names.add("edge/r" + i + ".example.com");
    }
    return names;
  }

  static DiscoveryRequest ack(String nonce, List<String> names) {
    return DiscoveryRequest.newBuilder().setNode(ENVOY).setVersionInfo("v-" + nonce).setResponseNonce(nonce)
        .setTypeUrl(TypeUrl.ROUTE.url()).addAllResourceNames(names).build();
  }

  SotwRequest read(byte[] bytes) {
    return reader.parse(new ByteArrayInputStream(bytes));
  }

  @Test
  void aRepeatedListOfNamesIsReadOnceAndGivesTheSameListAgain() {
    List<String> names = scopes(1000);
    SotwRequest first = read(ack("1", names).toByteArray());
    SotwRequest second = read(ack("2", names).toByteArray());
    SotwRequest third = read(ack("3", names).toByteArray());

    assertThat(first.whole()).isEqualTo(ack("1", names));
    assertThat(second.whole()).isEqualTo(ack("2", names));
    assertThat(third.whole()).isEqualTo(ack("3", names));
    assertThat(first.shared()).isFalse();
    assertThat(second.shared()).isTrue();
    assertThat(second.message().getResourceNamesCount()).as("names are not copied into the message").isZero();
    assertThat(third.names()).isSameAs(second.names());
    assertThat(reader.hits()).isEqualTo(2);
    for (int i = 0; i < names.size(); i++) {
      assertThat(second.names().get(i)).isSameAs(first.names().get(i));
    }
  }

  @Test
  void aMessageReadWithASharedListIsWrittenBackWithItsNames() throws IOException {
    List<String> names = scopes(500);
    read(ack("1", names).toByteArray());
    SotwRequest shared = read(ack("2", names).toByteArray());

    assertThat(shared.shared()).isTrue();
    assertThat(reader.stream(shared).readAllBytes()).isEqualTo(ack("2", names).toByteArray());
  }

  @Test
  void everyOtherFieldIsReadAsTheStandardReaderReadsIt() {
    List<String> names = scopes(300);
    read(ack("0", names).toByteArray());
    DiscoveryRequest nack = ack("3", names).toBuilder()
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected"))
        .addResourceLocators(ResourceLocator.newBuilder().setName("x")).build();
    byte[] withUnknownField = concat(nack.toByteArray(), unknownField());

    SotwRequest read = read(withUnknownField);

    assertThat(reader.hits()).isEqualTo(1);
    assertThat(read.whole()).isEqualTo(standard.parse(new ByteArrayInputStream(withUnknownField)));
    assertThat(read.message().getUnknownFields().asMap()).containsKey(99);
    assertThat(read.message().getErrorDetail().getMessage()).isEqualTo("rejected");
  }

  @Test
  void aListThatChangesIsReadAgainAndShortListsAreAlwaysDecoded() {
    read(ack("1", scopes(1000)).toByteArray());
    List<String> more = scopes(1001);

    assertThat(read(ack("2", more).toByteArray()).names()).isEqualTo(more);
    assertThat(read(ack("3", List.of("a", "b")).toByteArray()).names()).containsExactly("a", "b");
    assertThat(read(ack("4", List.of()).toByteArray()).names()).isEmpty();
    assertThat(reader.hits()).isZero();
  }

  @Test
  void namesSplitByAnotherFieldAreReadInOrderByTheStandardReader() throws IOException {
    List<String> names = scopes(200);
    read(ack("1", names).toByteArray());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream c = CodedOutputStream.newInstance(out);
    for (String n : names.subList(0, 100)) {
      c.writeString(DiscoveryRequest.RESOURCE_NAMES_FIELD_NUMBER, n);
    }
    c.writeString(DiscoveryRequest.TYPE_URL_FIELD_NUMBER, TypeUrl.ROUTE.url());
    for (String n : names.subList(100, 200)) {
      c.writeString(DiscoveryRequest.RESOURCE_NAMES_FIELD_NUMBER, n);
    }
    c.flush();

    byte[] split = out.toByteArray();

    for (int i = 0; i < 2; i++) {
      SotwRequest read = read(split);
      assertThat(read.names()).isEqualTo(names);
      assertThat(read.shared()).isFalse();
      assertThat(read.message().getTypeUrl()).isEqualTo(TypeUrl.ROUTE.url());
    }
    // the first run alone is its own list, not the two runs read before
    assertThat(read(ack("2", names.subList(0, 100)).toByteArray()).names()).isEqualTo(names.subList(0, 100));
    assertThat(read(ack("3", names.subList(0, 100)).toByteArray()).names()).isEqualTo(names.subList(0, 100));
    assertThat(reader.hits()).isEqualTo(1);
  }

  @Test
  void invalidUtf8InANameIsRefusedAsByTheStandardReaderAndNeverRemembered() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream c = CodedOutputStream.newInstance(out);
    for (String n : scopes(100)) {
      c.writeString(DiscoveryRequest.RESOURCE_NAMES_FIELD_NUMBER, n);
    }
    c.writeBytes(DiscoveryRequest.RESOURCE_NAMES_FIELD_NUMBER, ByteString.copyFrom(new byte[] {(byte) 0xc3, 0x28}));
    c.flush();
    byte[] bad = out.toByteArray();

    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> read(bad)).isInstanceOf(StatusRuntimeException.class);
    }
    assertThatThrownBy(() -> read(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}))
        .isInstanceOf(StatusRuntimeException.class);
    assertThat(reader.hits()).isZero();
  }

  private static byte[] unknownField() {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      CodedOutputStream c = CodedOutputStream.newInstance(out);
      c.writeString(99, "from a newer client");
      c.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
