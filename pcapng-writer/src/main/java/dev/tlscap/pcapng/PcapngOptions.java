// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The options of one block as read by {@link PcapngReader}: code and raw value, in file order, with
 * typed getters that interpret values in the section's byte order. Immutable and thread-safe
 * (values are copies).
 */
public final class PcapngOptions {
  /** {@code opt_endofopt}: ends the option list. */
  public static final int OPT_END_OF_OPTIONS = 0;
  /** {@code opt_comment}: a UTF-8 comment, valid on every block. */
  public static final int OPT_COMMENT = 1;

  /** No options. */
  public static final PcapngOptions NONE = new PcapngOptions(List.of(), ByteOrder.nativeOrder());

  /** One option: its code and value (without padding). */
  public record Option(int code, byte[] value) {}

  private final List<Option> options;
  private final ByteOrder order;

  PcapngOptions(List<Option> options, ByteOrder order) {
    this.options = List.copyOf(options);
    this.order = order;
  }

  /** Every option in file order ({@code opt_endofopt} not included). */
  public List<Option> all() {
    return options;
  }

  /** The codes of all options in file order. */
  public List<Integer> codes() {
    List<Integer> codes = new ArrayList<>();
    for (Option o : options) {
      codes.add(o.code());
    }
    return codes;
  }

  /** The first value with {@code code}, if any. */
  public Optional<byte[]> first(int code) {
    for (Option o : options) {
      if (o.code() == code) {
        return Optional.of(o.value().clone());
      }
    }
    return Optional.empty();
  }

  /** The first value with {@code code} as UTF-8 text. */
  public Optional<String> string(int code) {
    return first(code).map(v -> new String(v, StandardCharsets.UTF_8));
  }

  /** Every value with {@code code} as UTF-8 text. */
  public List<String> strings(int code) {
    List<String> out = new ArrayList<>();
    for (Option o : options) {
      if (o.code() == code) {
        out.add(new String(o.value(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  /** The first value with {@code code} as an unsigned 32-bit (4-byte value) or 64-bit (8-byte value) integer. */
  public OptionalLong number(int code) {
    Optional<byte[]> v = first(code);
    if (v.isEmpty()) {
      return OptionalLong.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(v.get()).order(order);
    switch (v.get().length) {
      case 1:
        return OptionalLong.of(b.get() & 0xFF);
      case 2:
        return OptionalLong.of(b.getShort() & 0xFFFF);
      case 4:
        return OptionalLong.of(b.getInt() & 0xFFFFFFFFL);
      case 8:
        return OptionalLong.of(b.getLong());
      default:
        return OptionalLong.empty();
    }
  }

  /** The first value with {@code code} as a pcapng timestamp (high 32 bits, then low 32 bits). */
  public OptionalLong timestamp(int code) {
    Optional<byte[]> v = first(code);
    if (v.isEmpty() || v.get().length != 8) {
      return OptionalLong.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(v.get()).order(order);
    return OptionalLong.of(((b.getInt() & 0xFFFFFFFFL) << 32) | (b.getInt() & 0xFFFFFFFFL));
  }

  /** Every {@code opt_comment}. */
  public List<String> comments() {
    return strings(OPT_COMMENT);
  }

  /** The byte order of the section the options were read in. */
  public ByteOrder byteOrder() {
    return order;
  }

  /** {@code text} as an encoded {@code opt_comment} (native byte order, padded), for the writer. */
  static byte[] commentOption(String text) {
    byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (utf8.length > 0xFFFF) {
      throw new IllegalArgumentException("a comment of " + utf8.length + " bytes (at most 65535)");
    }
    ByteBuffer b = ByteBuffer.allocate(4 + ((utf8.length + 3) & ~3)).order(ByteOrder.nativeOrder());
    b.putShort((short) OPT_COMMENT).putShort((short) utf8.length).put(utf8);
    return b.array();
  }

  @Override
  public String toString() {
    return "options" + codes();
  }
}
