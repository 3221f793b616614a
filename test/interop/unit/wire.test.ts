/**
 * The wire check on a real capture: the admin queue of a `nvme connect -g -G`
 * session with nvmet-ts (header + data digests). Untouched it passes; with one
 * bit flipped in a header digest, or in the data a data digest covers, tshark
 * must report the bad digest and the verdict must fail. Needs tshark
 * (apt-get install tshark); skipped without it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSync } from '../lib/proc.js';
import { analyze, dropsFromLog, parseFields, wireVerdict } from '../lib/wire.js';

const hasTshark = runSync(['sh', '-c', 'command -v tshark']).status === 0;
const pcap = join(import.meta.dirname, 'fixtures', 'digests.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'interop-wire-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** TCP payloads of a libpcap (Ethernet) file: [file offset, length] per frame. */
function payloads(buf: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let off = 24; // global header
  for (let n = 0; off + 16 <= buf.length && n < 100_000; n++) {
    const incl = buf.readUInt32LE(off + 8);
    const frame = off + 16;
    const ip = frame + 14;
    const ihl = (buf[ip]! & 0x0f) * 4;
    const tcp = ip + ihl;
    const thl = (buf[tcp + 12]! >> 4) * 4;
    const totalLen = buf.readUInt16BE(ip + 2);
    const start = tcp + thl;
    const len = totalLen - ihl - thl;
    if (len > 0) out.push([start, len]);
    off = frame + incl;
  }
  return out;
}

function corrupt(pick: (p: Buffer) => number | null, name: string): string {
  const buf = Buffer.from(readFileSync(pcap));
  for (const [start, len] of payloads(buf)) {
    const at = pick(buf.subarray(start, start + len));
    if (at !== null) {
      buf[start + at]! ^= 0x01;
      const f = join(tmp, name);
      writeFileSync(f, buf);
      return f;
    }
  }
  throw new Error(`no frame to corrupt for ${name}`);
}

describe.skipIf(!hasTshark)('wire check with tshark', () => {
  it('passes the untouched digest session', () => {
    const s = analyze(pcap, [4420]);
    expect(s.pdus).toBeGreaterThan(50);
    expect(s.hdgstGood).toBeGreaterThan(20);
    expect(s.ddgstGood).toBeGreaterThan(10);
    expect(s.hdgstBad + s.ddgstBad + s.malformed + s.captureHoles).toBe(0);
    expect(wireVerdict(s)).toBeNull();
  });

  it('fails on one flipped bit in a header digest', () => {
    // a CapsuleResp alone in its segment: 8-byte CH + 16-byte CQE + HDGST
    const f = corrupt((p) => (p.length === 28 && p[0] === 5 && (p[1]! & 1) === 1 ? 27 : null), 'bad-hdgst.pcap');
    const s = analyze(f, [4420]);
    expect(s.hdgstBad).toBe(1);
    expect(wireVerdict(s)).toMatch(/1 header digest errors/);
  });

  it('fails on one flipped bit in digest-covered data', () => {
    // a C2HData PDU whole in its segment with DDGST: flip the last data byte
    const f = corrupt((p) => {
      if (p.length < 32 || p[0] !== 7 || (p[1]! & 2) === 0) return null;
      const plen = p.readUInt32LE(4);
      return plen <= p.length ? plen - 5 : null;
    }, 'bad-ddgst.pcap');
    const s = analyze(f, [4420]);
    expect(s.ddgstBad).toBe(1);
    expect(s.hdgstBad).toBe(0);
    expect(wireVerdict(s)).toMatch(/1 data digest errors/);
  });

  it('decodes a non-default port through decode-as, and nothing without it', () => {
    // the same session moved to port 4430 (TCP checksums are not verified)
    const buf = Buffer.from(readFileSync(pcap));
    let off = 24;
    while (off + 16 <= buf.length) {
      const incl = buf.readUInt32LE(off + 8);
      const tcp = off + 16 + 14 + (buf[off + 16 + 14]! & 0x0f) * 4;
      for (const at of [tcp, tcp + 2]) if (buf.readUInt16BE(at) === 4420) buf.writeUInt16BE(4430, at);
      off += 16 + incl;
    }
    const f = join(tmp, 'port-4430.pcap');
    writeFileSync(f, buf);
    expect(analyze(f, [4430]).pdus).toBe(analyze(pcap, [4420]).pdus);
    const none = analyze(f, [4420]);
    expect(none.pdus).toBe(0);
    expect(wireVerdict(none)).toMatch(/no NVMe\/TCP PDU/);
  });
});

describe('tshark field parsing', () => {
  it('counts PDUs, digests, malformed frames and real capture holes', () => {
    // frame, stream, sport, seq, len, types, hdgst, ddgst, malformed, expert
    const text = [
      '1\t0\t4420\t1\t128\t1\t\t\t\t',
      '2\t0\t4420\t129\t100\t7,5\t1,1\t1\t\t',
      '3\t0\t5000\t1\t72\t4\t0\t\t\t',
      '4\t0\t5000\t73\t10\t\t\t\t1\tMalformed Packet (Exception occurred)',
      // stream 1: captured out of order (no loss), then a real gap of 50 bytes
      '5\t1\t4420\t101\t100\t\t\t\t\tPrevious segment(s) not captured (common at capture start)',
      '6\t1\t4420\t1\t100\t3\t\t\t\tThis frame is a (suspected) out-of-order segment',
      '7\t1\t4420\t251\t10\t\t\t\t\tPrevious segment(s) not captured (common at capture start)',
      '8\t1\t5000\t1\t0\t\t\t\t\t',
    ].join('\n');
    const s = parseFields(text);
    expect(s).toMatchObject({ frames: 8, pdus: 5, hdgstGood: 2, hdgstBad: 1, ddgstGood: 1, malformed: 1, captureHoles: 1, termReqs: 1 });
    expect(s.pduTypes).toEqual({ ICResp: 1, C2HData: 1, CapsuleResp: 1, CapsuleCmd: 1, C2HTermReq: 1 });
    expect(s.examples).toContain('stream 1/4420: 50 bytes never captured before frame 7');
    expect(wireVerdict(s)).toMatch(/1 malformed, 1 header digest errors, 1 capture holes/);
  });

  it('reads drop counts from dumpcap and tcpdump summaries', () => {
    expect(dropsFromLog("Packets received/dropped on interface 'lo': 86413/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)")).toBe(0);
    expect(dropsFromLog("Packets received/dropped on interface 'lo': 100/7 (pcap:7/dumpcap:0)")).toBe(7);
    expect(dropsFromLog('9330 packets captured\n21034 packets received by filter\n2250 packets dropped by kernel')).toBe(2250);
  });
});
