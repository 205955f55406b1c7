package dev.ebb.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.KnownLength;
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
 * a known list is given as the very same List object again ({@link SotwRequest#shared()}), which the stream
 * tracker compares by identity: an ACK that repeats the list costs no work per name at all.
 *
 * <p>The result holds the same fields the standard marshaller gives (names in order); a list not seen before, a
 * message whose names are not one contiguous run, or any parse problem goes through the standard marshaller, so
 * validation and errors are unchanged. Lists are kept up to about {@link #MAX_HEAP} bytes of heap (a list's bytes
 * and its Strings: about four times its wire size), least recently used first out.
 */
final class SotwRequestMarshaller implements MethodDescriptor.Marshaller<SotwRequest> {
  static final long MAX_HEAP = 64L * 1024 * 1024;
  /** Field 3, length-delimited: one byte. */
  private static final int NAMES_TAG =
      DiscoveryRequest.RESOURCE_NAMES_FIELD_NUMBER << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;
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
  public InputStream stream(SotwRequest value) {
    return standard.stream(value.whole());
  }

  @Override
  public SotwRequest parse(InputStream stream) {
    byte[] bytes = bytes(stream);
    int[] run = namesRun(bytes);
    if (run == null || run[1] - run[0] < MIN_BYTES) {
      return whole(bytes);
    }
    Region key = new Region(bytes, run[0], run[1] - run[0]);
    List<String> known = lists.getIfPresent(key);
    if (known == null) {
      SotwRequest read = whole(bytes);
      if (read.names().size() == run[2]) { // else more names follow in another run: not this run's list
        lists.put(key.copy(), List.copyOf(read.names()));
      }
      return read;
    }
    byte[] rest = new byte[bytes.length - key.length];
    System.arraycopy(bytes, 0, rest, 0, run[0]);
    System.arraycopy(bytes, run[1], rest, run[0], bytes.length - run[1]);
    try {
      DiscoveryRequest others = DiscoveryRequest.parseFrom(rest);
      if (others.getResourceNamesCount() != 0) {
        return whole(bytes); // names in more than one run: read in their order
      }
      hits.increment();
      return new SotwRequest(others, known, true);
    } catch (InvalidProtocolBufferException e) {
      return whole(bytes);
    }
  }

  private SotwRequest whole(byte[] bytes) {
    return SotwRequest.of(standard.parse(new ByteArrayInputStream(bytes)));
  }

  /** The message's bytes; gRPC knows their number, so they are read into one array of that size. */
  private static byte[] bytes(InputStream stream) {
    try {
      if (stream instanceof KnownLength) {
        byte[] bytes = new byte[stream.available()];
        if (stream.readNBytes(bytes, 0, bytes.length) == bytes.length && stream.read() == -1) {
          return bytes;
        }
        throw new IOException("the request was not as long as announced");
      }
      return stream.readAllBytes();
    } catch (IOException e) {
      throw Status.INTERNAL.withDescription("cannot read the request").withCause(e).asRuntimeException();
    }
  }

  /**
   * Start, end and number of names of the first run of resource_names fields, or null (none, bad bytes). A
   * second run later in the message is found when the rest is parsed.
   */
  static int[] namesRun(byte[] bytes) {
    CodedInputStream in = CodedInputStream.newInstance(bytes);
    try {
      while (true) {
        int at = in.getTotalBytesRead();
        int tag = in.readTag();
        if (tag == 0) {
          return null;
        }
        if (tag == NAMES_TAG) {
          return skipNames(bytes, at);
        }
        if (!in.skipField(tag)) {
          return null; // an end-group tag: not a valid request; the standard parse reports it
        }
      }
    } catch (IOException e) {
      return null;
    }
  }

  /** From a resource_names tag at {@code at}: the run of such fields, or null if the bytes end early. */
  private static int[] skipNames(byte[] bytes, int at) {
    int i = at;
    int count = 0;
    while (i < bytes.length && bytes[i] == NAMES_TAG) {
      i++;
      count++;
      int length = 0;
      for (int shift = 0; ; shift += 7) {
        if (i >= bytes.length || shift > 28) {
          return null;
        }
        byte b = bytes[i++];
        length |= (b & 0x7f) << shift;
        if (b >= 0) {
          break;
        }
      }
      if (length < 0 || length > bytes.length - i) {
        return null;
      }
      i += length;
    }
    return new int[] {at, i, count};
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
