package dev.ebb.publish;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** One named resource and the hash of its deterministic serialization: its version. */
public record Res(String name, Message message, String hash) {
  public static Res of(String name, Message message) {
    return new Res(name, message, hash(message));
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
