// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

/**
 * The ChaCha20 block function (RFC 8439 2.3), for decrypting single bytes of a record cheaply
 * during trial decryption (the JDK's ChaCha20 cipher refuses a key and nonce it was just
 * initialized with, and its init costs more than one block). Stateless; thread-safe.
 */
final class ChaCha20Block {
  private ChaCha20Block() {}

  /** Writes the 64-byte key stream block {@code counter} of {@code key} (32 bytes) and {@code nonce} (12 bytes). */
  static void keystream(byte[] key, int counter, byte[] nonce, byte[] out) {
    // RFC 8439 2.3: constants, key, counter, nonce, as little-endian 32-bit words.
    int j0 = 0x61707865;
    int j1 = 0x3320646e;
    int j2 = 0x79622d32;
    int j3 = 0x6b206574;
    int j4 = le(key, 0);
    int j5 = le(key, 4);
    int j6 = le(key, 8);
    int j7 = le(key, 12);
    int j8 = le(key, 16);
    int j9 = le(key, 20);
    int j10 = le(key, 24);
    int j11 = le(key, 28);
    int j12 = counter;
    int j13 = le(nonce, 0);
    int j14 = le(nonce, 4);
    int j15 = le(nonce, 8);
    int x0 = j0;
    int x1 = j1;
    int x2 = j2;
    int x3 = j3;
    int x4 = j4;
    int x5 = j5;
    int x6 = j6;
    int x7 = j7;
    int x8 = j8;
    int x9 = j9;
    int x10 = j10;
    int x11 = j11;
    int x12 = j12;
    int x13 = j13;
    int x14 = j14;
    int x15 = j15;
    for (int i = 0; i < 10; i++) {
      // Column rounds (RFC 8439 2.3.1: QUARTERROUND(0, 4, 8, 12) ...).
      x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16); x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
      x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8); x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
      x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16); x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
      x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8); x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
      x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16); x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
      x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8); x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
      x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16); x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
      x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8); x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);
      // Diagonal rounds (QUARTERROUND(0, 5, 10, 15) ...).
      x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16); x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
      x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8); x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
      x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16); x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
      x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8); x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
      x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16); x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
      x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8); x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
      x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16); x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
      x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8); x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
    }
    putLe(out, 0, x0 + j0);
    putLe(out, 4, x1 + j1);
    putLe(out, 8, x2 + j2);
    putLe(out, 12, x3 + j3);
    putLe(out, 16, x4 + j4);
    putLe(out, 20, x5 + j5);
    putLe(out, 24, x6 + j6);
    putLe(out, 28, x7 + j7);
    putLe(out, 32, x8 + j8);
    putLe(out, 36, x9 + j9);
    putLe(out, 40, x10 + j10);
    putLe(out, 44, x11 + j11);
    putLe(out, 48, x12 + j12);
    putLe(out, 52, x13 + j13);
    putLe(out, 56, x14 + j14);
    putLe(out, 60, x15 + j15);
  }

  private static int le(byte[] b, int at) {
    return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
  }

  private static void putLe(byte[] b, int at, int v) {
    b[at] = (byte) v;
    b[at + 1] = (byte) (v >>> 8);
    b[at + 2] = (byte) (v >>> 16);
    b[at + 3] = (byte) (v >>> 24);
  }
}
