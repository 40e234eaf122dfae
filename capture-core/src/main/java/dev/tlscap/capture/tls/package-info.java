// SPDX-License-Identifier: Apache-2.0
/**
 * Keys the TLS secrets traced processes derive to the captured connections they belong to, by
 * trial decryption: a secret is written only once it opened (its AEAD tag verified) the first
 * record it protects.
 *
 * <p>How the capture pipeline uses it, all on its one event-loop thread:
 * <ol>
 *   <li>A TCP flow whose client's first payload starts like a TLS handshake record gets a
 *       {@link dev.tlscap.capture.tls.TlsStream}. Optionally tell it the SYNs
 *       ({@code onSyn}) and FINs ({@code onFin}).
 *   <li>Every payload segment of the flow, both directions, in capture order, goes to
 *       {@code TlsStream.onSegment}; when it returns true, call
 *       {@link dev.tlscap.capture.tls.SecretMatcher#onRecords} (it indexes the stream by client
 *       random the first time). {@code state()} then says what the flow is: {@code NOT_TLS} (write
 *       it as it is, stop feeding), {@code UNDECIDED} (keep feeding), {@code TLS} (hold its packets
 *       back, keep feeding), {@code MALFORMED}/{@code LOST} (nothing more will be learnt from its
 *       segments; secrets can still be keyed against the records it kept).
 *   <li>Every {@link dev.tlscap.secrets.TlsSecret} goes to {@code SecretMatcher.onSecret}.
 *   <li>{@code onSecret}, {@code onStream} and {@code onRecords} return what they decided, in
 *       order: {@code Keyed} gives each secret once per stream (add its key log line to the flow's
 *       DSB and key log file); {@code KeyedAgain} says another process derived the same secret
 *       (both ends on this host); {@code FullyKeyed} says the stream has every secret it needs:
 *       write its held packets after the DSB and stop feeding it (it ignores further segments).
 *   <li>{@code SecretMatcher.expire} every second or so; {@code onStreamClosed} when the flow is
 *       forgotten.
 * </ol>
 */
package dev.tlscap.capture.tls;
