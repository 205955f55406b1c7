package dev.ebb.publish;

import com.google.protobuf.Any;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * One named resource and the hash of its deterministic serialization: its version. Immutable and shared by every
 * stream that gets it; its serialized form ({@link #any()}) is made once, on first use, and then reused for every
 * response on every stream.
 */
public final class Res {
  private final String name;
  private final Message message;
  private final String hash;
  private volatile Any any;
  private volatile io.envoyproxy.envoy.service.discovery.v3.Resource resource;

  public Res(String name, Message message, String hash) {
    this.name = Objects.requireNonNull(name, "name");
    this.message = Objects.requireNonNull(message, "message");
    this.hash = Objects.requireNonNull(hash, "hash");
  }

  public static Res of(String name, Message message) {
    return new Res(name, message, hash(message));
  }

  public String name() {
    return name;
  }

  public Message message() {
    return message;
  }

  public String hash() {
    return hash;
  }

  /** The resource packed for a response, serialized once however many streams it goes to. */
  public Any any() {
    Any a = any;
    if (a == null) {
      a = Any.pack(message);
      any = a;
    }
    return a;
  }

  /** The resource as a delta response carries it (name, version, packed resource), also made once. */
  public io.envoyproxy.envoy.service.discovery.v3.Resource resource() {
    io.envoyproxy.envoy.service.discovery.v3.Resource r = resource;
    if (r == null) {
      r = io.envoyproxy.envoy.service.discovery.v3.Resource.newBuilder().setName(name).setVersion(hash)
          .setResource(any()).build();
      // a message keeps a string field's UTF-8 bytes once asked for them, and then writes those bytes instead of
      // encoding the string again for every stream it goes to
      r.getNameBytes();
      r.getVersionBytes();
      r.getResource().getTypeUrlBytes();
      resource = r;
    }
    return r;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Res r && r.name.equals(name) && r.hash.equals(hash);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + hash.hashCode();
  }

  @Override
  public String toString() {
    return "Res[" + name + "@" + hash + "]";
  }

  static String hash(Message message) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(message.getSerializedSize());
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.useDeterministicSerialization();
      message.writeTo(out);
      out.flush();
      return shortSha256(bytes.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The first 64 bits of SHA-256, as hex. */
  public static String hash(byte[] bytes) {
    return shortSha256(bytes);
  }

  static String shortSha256(byte[] bytes) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
