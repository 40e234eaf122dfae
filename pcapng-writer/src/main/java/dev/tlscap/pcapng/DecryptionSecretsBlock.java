// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.charset.StandardCharsets;

/**
 * A Decryption Secrets Block as read.
 *
 * @param offset where the block starts in the file
 * @param secretsType {@link #TLS_KEY_LOG} for an NSS key log
 * @param secrets the secrets data (without padding)
 * @param options opt_comment
 */
public record DecryptionSecretsBlock(long offset, int secretsType, byte[] secrets, PcapngOptions options)
    implements PcapngBlock {
  public static final int BLOCK_TYPE = 0x0000000A;
  /** Secrets type "TLSK": an NSS key log ({@code SSLKEYLOGFILE} lines). */
  public static final int TLS_KEY_LOG = 0x544C534B;

  @Override
  public int blockType() {
    return BLOCK_TYPE;
  }

  /** The secrets as text (meaningful for {@link #TLS_KEY_LOG}). */
  public String keyLog() {
    return new String(secrets, StandardCharsets.UTF_8);
  }
}
