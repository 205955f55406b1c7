package dev.ebb.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;

/**
 * Reads state-of-the-world requests, decoding a list of resource names only the first time it is seen. An Envoy
 * with scoped routes repeats every RouteConfiguration name (1,000 for 1,000 hosts) in every RDS ACK, and every
 * node of a fleet sends the same list: decoding 1,000 strings per ACK on every stream was most of the CPU of a
 * one-route change. The bytes of the names are looked up among lists already read (compared byte for byte), and
 * a known list gives the very same String objects again, which the stream tracker then compares by identity.
 *
 * <p>The result is the same message the standard marshaller gives (names in order); a list not seen before, a
 * message whose names are not one contiguous run, or any parse problem goes through the standard marshaller, so
 * validation and errors are unchanged. Lists are kept up to about {@link #MAX_HEAP} bytes of heap (a list's bytes
 * and its Strings: about four times its wire size), least recently used first out.
 */
final class SotwRequestMarshaller implements MethodDescriptor.Marshaller<DiscoveryRequest> {
  static final long MAX_HEAP = 64L * 1024 * 1024;
  private static final int NAMES = DiscoveryRequest.RESOURCE_NAMES_FIELD_NUMBER;
  /** Lists shorter than this are decoded every time: the lookup would not pay. */
  private static final int MIN_BYTES = 256;

  private final MethodDescriptor.Marshaller<DiscoveryRequest> standard =
      ProtoUtils.marshaller(DiscoveryRequest.getDefaultInstance());
  private final Cache<Region, List<String>> lists = CacheBuilder.newBuilder()
      .maximumWeight(MAX_HEAP).weigher((Region k, List<String> v) -> 4 * k.length).build();
  private final java.util.concurrent.atomic.LongAdder hits = new java.util.concurrent.atomic.LongAdder();

  /** How many requests reused a list already read (for tests). */
  long hits() {
    return hits.sum();
  }

  @Override
  public InputStream stream(DiscoveryRequest value) {
    return standard.stream(value);
  }

  @Override
  public DiscoveryRequest parse(InputStream stream) {
    byte[] bytes;
    try {
      bytes = stream.readAllBytes();
    } catch (IOException e) {
      throw Status.INTERNAL.withDescription("cannot read the request").withCause(e).asRuntimeException();
    }
    int[] run = namesRun(bytes);
    if (run == null || run[1] - run[0] < MIN_BYTES) {
      return standard.parse(new ByteArrayInputStream(bytes));
    }
    Region key = new Region(bytes, run[0], run[1] - run[0]);
    List<String> known = lists.getIfPresent(key);
    if (known == null) {
      DiscoveryRequest full = standard.parse(new ByteArrayInputStream(bytes));
      lists.put(key.copy(), List.copyOf(full.getResourceNamesList()));
      return full;
    }
    byte[] rest = new byte[bytes.length - key.length];
    System.arraycopy(bytes, 0, rest, 0, run[0]);
    System.arraycopy(bytes, run[1], rest, run[0], bytes.length - run[1]);
    try {
      DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().mergeFrom(rest);
      if (b.getResourceNamesCount() != 0) {
        return standard.parse(new ByteArrayInputStream(bytes));
      }
      hits.increment();
      return b.addAllResourceNames(known).build();
    } catch (InvalidProtocolBufferException e) {
      return standard.parse(new ByteArrayInputStream(bytes));
    }
  }

  /** Start and end of the one contiguous run of resource_names fields, or null (none, several runs, bad bytes). */
  static int[] namesRun(byte[] bytes) {
    CodedInputStream in = CodedInputStream.newInstance(bytes);
    int start = -1;
    int end = -1;
    try {
      while (true) {
        int at = in.getTotalBytesRead();
        int tag = in.readTag();
        if (tag == 0) {
          break;
        }
        if (WireFormat.getTagFieldNumber(tag) == NAMES
            && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          if (start < 0) {
            start = at;
          } else if (end != at) {
            return null; // another field between names
          }
          in.skipField(tag);
          end = in.getTotalBytesRead();
        } else if (!in.skipField(tag)) {
          break; // an end-group tag: not a valid request; the standard parse reports it
        }
      }
    } catch (IOException e) {
      return null;
    }
    return start < 0 ? null : new int[] {start, end};
  }

  /** A range of bytes, compared by content. */
  private static final class Region {
    final byte[] bytes;
    final int offset;
    final int length;
    final int hash;

    Region(byte[] bytes, int offset, int length) {
      this.bytes = bytes;
      this.offset = offset;
      this.length = length;
      int h = length;
      // a sample of the bytes: equal hashes are then compared in full (a vectorized compare)
      int step = Math.max(1, length / 64);
      for (int i = 0; i < length; i += step) {
        h = 31 * h + bytes[offset + i];
      }
      this.hash = 31 * h + bytes[offset + length - 1];
    }

    Region copy() {
      return new Region(Arrays.copyOfRange(bytes, offset, offset + length), 0, length);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Region r && r.length == length && r.hash == hash
          && Arrays.equals(bytes, offset, offset + length, r.bytes, r.offset, r.offset + length);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
}
