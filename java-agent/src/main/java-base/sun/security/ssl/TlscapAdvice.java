// SPDX-License-Identifier: Apache-2.0
package sun.security.ssl;

import net.bytebuddy.asm.Advice;

/**
 * The code Byte Buddy inlines into JSSE's secret derivations: each advice calls
 * {@link TlscapKeyLog} and swallows whatever goes wrong there. Never loaded as a class: Byte Buddy
 * reads its bytes. Names and arguments only, no offsets and no per-version table: the three
 * methods are the same in JDK 17 to 25 (TLS 1.3 {@code deriveKey} lost its second argument after
 * JDK 17; the advice reads the first one only).
 */
final class TlscapAdvice {
  private TlscapAdvice() {
  }

  /** {@code SSLSecretDerivation(HandshakeContext, SecretKey)}: the TLS 1.3 key schedule of one handshake. */
  static final class SecretDerivationBuilt {
    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.This Object derivation, @Advice.Argument(0) HandshakeContext context) {
      TlscapKeyLog.derivation(derivation, context);
    }
  }

  /** {@code SSLSecretDerivation.deriveKey(String, ...)}: a TLS 1.3 secret, named by its first argument. */
  static final class SecretDerived {
    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.This Object derivation, @Advice.Argument(0) String algorithm,
        @Advice.Return Object key) {
      TlscapKeyLog.secret(derivation, algorithm, key);
    }
  }

  /**
   * {@code SSLTrafficKeyDerivation$LegacyTrafficKeyDerivation(HandshakeContext, SecretKey)}: the
   * TLS 1.0-1.2 master secret, for full and resumed handshakes alike.
   */
  static final class MasterSecretUsed {
    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.Argument(0) HandshakeContext context, @Advice.Argument(1) Object masterSecret) {
      TlscapKeyLog.masterSecret(context, masterSecret);
    }
  }
}
