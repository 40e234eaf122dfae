// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import java.security.GeneralSecurityException;

/**
 * Seals a run of empty AES-GCM records (a rotated file's prologue: thousands under one key) without
 * a JCA cipher set-up per record. NIST SP 800-38D: tag = E(K, J0) xor GHASH(H, A, C), H = E(K, 0).
 * An empty record's additional data and lengths are the same for every record but for the
 * sequence number (TLS 1.2) or the one ciphertext byte (TLS 1.3), and GHASH is linear in them: so
 * GHASH = a constant xor the products of the bits that vary, each computed once per run (8 or 64
 * multiplications), and the counter blocks of the whole run go through one AES-ECB call.
 * Allocation: the run's counter blocks. Not thread-safe (the keys' cipher is the thread's).
 */
final class EmptyGcmRun {
  private EmptyGcmRun() {}

  /** {@link RecordSealer#sealEmptyRun} for AES-GCM; the bytes written, or -1. */
  static int seal(RecordKeys keys, long firstSeq, int count, byte[] out, int at) {
    boolean tls13 = keys.suite().tls13();
    byte[] iv = keys.iv();
    byte[] blocks = new byte[16 * count * (tls13 ? 2 : 1)];
    for (int i = 0; i < count; i++) {
      long seq = firstSeq + i;
      int b = 16 * i * (tls13 ? 2 : 1);
      if (tls13) { // RFC 8446 5.3: nonce = iv xor seq; J0 = nonce || 1, then J0 + 1 for the one byte
        System.arraycopy(iv, 0, blocks, b, 12);
        for (int k = 0; k < 8; k++) {
          blocks[b + 4 + k] ^= (byte) (seq >>> (56 - 8 * k));
        }
        blocks[b + 15] = 1;
        System.arraycopy(blocks, b, blocks, b + 16, 12);
        blocks[b + 31] = 2;
      } else { // RFC 5288 3: nonce = salt || explicit nonce (the sequence number here)
        System.arraycopy(iv, 0, blocks, b, 4);
        putLong(blocks, b + 4, seq);
        blocks[b + 15] = 1;
      }
    }
    byte[] zero = new byte[16];
    byte[] h = new byte[16];
    try {
      keys.ecb().doFinal(zero, 0, 16, h, 0);
      keys.ecb().doFinal(blocks, 0, blocks.length, blocks, 0);
    } catch (GeneralSecurityException e) {
      return -1;
    }
    long hh = getLong(h, 0);
    long hl = getLong(h, 8);
    long[] h2 = mul(hh, hl, hh, hl);
    int recordLength = RecordSealer.emptyRecordLength(keys.suite());
    int bodyLength = recordLength - 5;
    if (tls13) {
      // A = the header (5 bytes), C = 1 byte, lengths 40 and 8 bits: GHASH = A*H^3 xor C*H^2 xor L*H
      long[] h3 = mul(h2[0], h2[1], hh, hl);
      long[] a = mul(0x1703030000000000L | ((long) bodyLength << 24), 0, h3[0], h3[1]);
      long[] l = mul(40, 8, hh, hl);
      long ch = a[0] ^ l[0];
      long cl = a[1] ^ l[1];
      long[][] bit = new long[8][];
      for (int i = 0; i < 8; i++) { // the ciphertext byte's bit i sits at bit 56 + i of the block
        bit[i] = mul(1L << (56 + i), 0, h2[0], h2[1]);
      }
      for (int r = 0; r < count; r++) {
        int b = 32 * r;
        int c = (RecordSealer.CONTENT_APPLICATION_DATA ^ blocks[b + 16]) & 0xFF;
        long gh = ch;
        long gl = cl;
        for (int i = 0; i < 8; i++) {
          if ((c >>> i & 1) != 0) {
            gh ^= bit[i][0];
            gl ^= bit[i][1];
          }
        }
        int o = at + r * recordLength;
        header(out, o, bodyLength);
        out[o + 5] = (byte) c;
        putLong(out, o + 6, getLong(blocks, b) ^ gh);
        putLong(out, o + 14, getLong(blocks, b + 8) ^ gl);
      }
    } else {
      // A = seq || 17 03 03 00 00 (13 bytes), no C, lengths 104 and 0: GHASH = A*H^2 xor L*H
      long[] a = mul(0, 0x1703030000000000L, h2[0], h2[1]);
      long[] l = mul(104, 0, hh, hl);
      long ch = a[0] ^ l[0];
      long cl = a[1] ^ l[1];
      long[][] bit = new long[64][];
      long last = firstSeq + count - 1;
      int bits = 64 - Long.numberOfLeadingZeros(last | 1);
      for (int i = 0; i < bits; i++) {
        bit[i] = mul(1L << i, 0, h2[0], h2[1]);
      }
      for (int r = 0; r < count; r++) {
        long seq = firstSeq + r;
        long gh = ch;
        long gl = cl;
        for (long v = seq; v != 0; v &= v - 1) {
          int i = Long.numberOfTrailingZeros(v);
          gh ^= bit[i][0];
          gl ^= bit[i][1];
        }
        int o = at + r * recordLength;
        header(out, o, bodyLength);
        putLong(out, o + 5, seq);
        putLong(out, o + 13, getLong(blocks, 16 * r) ^ gh);
        putLong(out, o + 21, getLong(blocks, 16 * r + 8) ^ gl);
      }
    }
    return count * recordLength;
  }

  /** NIST SP 800-38D 6.3: the product of X and Y in GF(2^128), blocks as (first 8 bytes, last 8 bytes). */
  static long[] mul(long xh, long xl, long yh, long yl) {
    long zh = 0;
    long zl = 0;
    long vh = yh;
    long vl = yl;
    for (int i = 0; i < 128; i++) {
      long bit = i < 64 ? xh >>> (63 - i) & 1 : xl >>> (127 - i) & 1;
      if (bit != 0) {
        zh ^= vh;
        zl ^= vl;
      }
      boolean lsb = (vl & 1) != 0;
      vl = vl >>> 1 | vh << 63;
      vh >>>= 1;
      if (lsb) {
        vh ^= 0xE100000000000000L;
      }
    }
    return new long[] {zh, zl};
  }

  private static void header(byte[] out, int o, int bodyLength) {
    out[o] = RecordSealer.CONTENT_APPLICATION_DATA;
    out[o + 1] = 3;
    out[o + 2] = 3;
    out[o + 3] = (byte) (bodyLength >>> 8);
    out[o + 4] = (byte) bodyLength;
  }

  private static long getLong(byte[] b, int at) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = v << 8 | (b[at + i] & 0xFF);
    }
    return v;
  }

  private static void putLong(byte[] b, int at, long v) {
    for (int i = 0; i < 8; i++) {
      b[at + i] = (byte) (v >>> (56 - 8 * i));
    }
  }
}
