/**
 * Discovery Log Page (log 0x70) reader. Temporary: src/nvme does not have a
 * discovery log codec yet; when it does, this module re-exports it.
 *
 *   header (1024 bytes): 0 GENCTR u64 | 8 NUMREC u64 | 16 RECFMT u16
 *   entry (1024 bytes each, from 1024): 0 TRTYPE | 1 ADRFAM | 2 SUBTYPE | 3 TREQ |
 *     4 PORTID u16 | 6 CNTLID u16 | 8 ASQSZ u16 | 10 EFLAGS u16 | 32 TRSVCID[32] |
 *     256 SUBNQN[256] | 512 TRADDR[256] | 768 TSAS[256]
 */
import { rd16, rd64, readAscii, readUtf8 } from '../src/nvme/le.js';

export const DISCOVERY_LOG_HEADER_SIZE = 1024;
export const DISCOVERY_LOG_ENTRY_SIZE = 1024;

export interface DiscoveryLogEntry {
  trtype: number;
  adrfam: number;
  /** 1 referral to another discovery service, 2 NVM subsystem, 3 current discovery subsystem. */
  subtype: number;
  treq: number;
  portid: number;
  cntlid: number;
  asqsz: number;
  eflags: number;
  trsvcid: string;
  subnqn: string;
  traddr: string;
  tsas: Uint8Array;
}

export interface DiscoveryLog {
  genctr: number;
  numrec: number;
  recfmt: number;
  /** Entries actually present in the buffer read (may be fewer than numrec for a header-only read). */
  entries: DiscoveryLogEntry[];
}

export function decodeDiscoveryLog(b: Uint8Array): DiscoveryLog {
  if (b.length < DISCOVERY_LOG_HEADER_SIZE) throw new RangeError(`discovery log needs ${DISCOVERY_LOG_HEADER_SIZE} bytes, got ${b.length}`);
  const numrec = rd64(b, 8);
  const entries: DiscoveryLogEntry[] = [];
  const have = Math.min(numrec, Math.floor((b.length - DISCOVERY_LOG_HEADER_SIZE) / DISCOVERY_LOG_ENTRY_SIZE));
  for (let i = 0; i < have; i++) {
    const o = DISCOVERY_LOG_HEADER_SIZE + i * DISCOVERY_LOG_ENTRY_SIZE;
    entries.push({
      trtype: b[o]!,
      adrfam: b[o + 1]!,
      subtype: b[o + 2]!,
      treq: b[o + 3]!,
      portid: rd16(b, o + 4),
      cntlid: rd16(b, o + 6),
      asqsz: rd16(b, o + 8),
      eflags: rd16(b, o + 10),
      trsvcid: readAscii(b, o + 32, 32),
      subnqn: readUtf8(b, o + 256, 256),
      traddr: readAscii(b, o + 512, 256),
      tsas: b.slice(o + 768, o + 1024),
    });
  }
  return { genctr: rd64(b, 0), numrec, recfmt: rd16(b, 16), entries };
}
