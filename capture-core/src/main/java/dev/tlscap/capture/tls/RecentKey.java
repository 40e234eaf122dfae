// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;

/** A secret keyed within the time to live: another process's copy is keyed without decrypting. */
record RecentKey(Bytes secret, TlsLabel label, TlsStream stream, long keyedNanos) {}
