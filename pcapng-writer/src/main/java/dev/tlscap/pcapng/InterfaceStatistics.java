// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

/**
 * The counters of one interface written into the Interface Statistics Block at the end of each
 * file. All counts are since the start of the capture (not of the file), as pcapng defines them. A
 * negative value means "not known" and omits the option.
 *
 * <p>Immutable and thread-safe.
 *
 * @param received {@code isb_ifrecv}: packets the capture saw on the interface (counted where they
 *     were copied, e.g. by the TC classifier), whether written or not
 * @param droppedByInterface {@code isb_ifdrop}: packets the interface or its capture buffer dropped
 *     for lack of resources (e.g. the packet ring buffer was full)
 * @param droppedByOs {@code isb_osdrop}: packets the operating system dropped before the capture
 *     process could read them (e.g. ring buffer records lost or discarded in the kernel)
 * @param deliveredToUser {@code isb_usrdeliv}: packets delivered to the user, i.e. written to the
 *     capture files; if negative the writer fills in its own count of EPBs written for the interface
 * @param comment an {@code opt_comment} for the ISB, e.g. {@code "12 packets released without TLS
 *     secrets"}; null or empty: none
 */
public record InterfaceStatistics(
    long received, long droppedByInterface, long droppedByOs, long deliveredToUser, String comment) {

  /** Nothing known: the ISB carries only the times and the writer's own delivered count. */
  public static final InterfaceStatistics UNKNOWN = new InterfaceStatistics(-1, -1, -1, -1, null);

  /**
   * Where the writer gets each interface's counters when it closes a file. Called on the writer's
   * thread; must not call back into the writer.
   */
  @FunctionalInterface
  public interface Source {
    /** The counters of interface {@code interfaceId} now (null: {@link #UNKNOWN}). */
    InterfaceStatistics statistics(int interfaceId);
  }
}
