/**
 * Wire check: capture the target's ports and decode them with Wireshark's
 * NVMe/TCP dissector, header and data digests verified. Any malformed frame,
 * bad digest or hole in the capture (which would hide PDUs from the dissector)
 * fails the row.
 */
import { readFileSync } from 'node:fs';
import { runSync } from './proc.js';
import type { ProcessRegistry, Started } from './proc.js';
import { sleep } from './proc.js';

export interface WireStats {
  frames: number;
  /** NVMe/TCP PDUs decoded (a frame may carry several) */
  pdus: number;
  pduTypes: Record<string, number>;
  hdgstGood: number;
  hdgstBad: number;
  ddgstGood: number;
  ddgstBad: number;
  malformed: number;
  /** segments missing from the capture (the dissector cannot see past them) */
  captureHoles: number;
  /** packets the capturing kernel or tool dropped */
  captureDrops: number;
  termReqs: number;
  /** first offending frames, for the report */
  examples: string[];
}

const PDU_TYPES: Record<string, string> = {
  '0': 'ICReq', '1': 'ICResp', '2': 'H2CTermReq', '3': 'C2HTermReq', '4': 'CapsuleCmd',
  '5': 'CapsuleResp', '6': 'H2CData', '7': 'C2HData', '9': 'R2T',
};

export function captureFilter(ports: readonly number[]): string {
  return ports.map((p) => `tcp port ${p}`).join(' or ');
}

/** Start dumpcap on `iface` (inside the run's netns); resolves once it is capturing. */
export async function startCapture(reg: ProcessRegistry, file: string, ports: readonly number[], log: string, iface = 'lo'): Promise<Started> {
  const p = reg.start('dumpcap', ['dumpcap', '-i', iface, '-f', captureFilter(ports), '-B', '64', '-s', '0', '-P', '-w', file], { logFile: log });
  for (let i = 0; i < 100; i++) {
    let text = '';
    try { text = readFileSync(log, 'utf8'); } catch { /* not yet */ }
    if (/^File: /m.test(text)) return p;
    if (p.exitCode() !== null) throw new Error(`dumpcap exited ${p.exitCode()}: ${text.trim()}`);
    await sleep(100);
  }
  throw new Error('dumpcap did not start within 10 s');
}

/** Packets dropped according to dumpcap's closing summary or tcpdump's. */
export function dropsFromLog(text: string): number {
  const dc = /Packets received\/dropped on interface '[^']*': \d+\/(\d+)/.exec(text);
  if (dc) return Number(dc[1]);
  const td = /(\d+) packets? dropped by kernel/.exec(text);
  return td ? Number(td[1]) : 0;
}

const MALFORMED = /Malformed Packet|Dissector bug|Reassembly error|Unreassembled/;

/**
 * Parse tshark -T fields output (see `analyze`) into WireStats. Capture holes
 * are counted from sequence coverage per stream and direction: tshark's
 * "previous segment not captured" also fires when the capture merely saw two
 * segments out of order (different CPUs on loopback), which is no loss.
 */
export function parseFields(text: string): WireStats {
  const s: WireStats = { frames: 0, pdus: 0, pduTypes: {}, hdgstGood: 0, hdgstBad: 0, ddgstGood: 0, ddgstBad: 0, malformed: 0, captureHoles: 0, captureDrops: 0, termReqs: 0, examples: [] };
  const note = (m: string) => { if (s.examples.length < 10) s.examples.push(m); };
  const segs = new Map<string, Array<[number, number, string]>>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [frame = '', stream = '', sport = '', seq = '', len = '', types = '', hd = '', dd = '', malformed = '', expert = ''] = line.split('\t');
    s.frames++;
    const n = Number(len);
    if (stream !== '' && n > 0) {
      const k = `${stream}/${sport}`;
      let l = segs.get(k);
      if (!l) segs.set(k, (l = []));
      l.push([Number(seq), n, frame]);
    }
    for (const t of types.split(',').filter((x) => x !== '')) {
      s.pdus++;
      const name = PDU_TYPES[t] ?? `type${t}`;
      s.pduTypes[name] = (s.pduTypes[name] ?? 0) + 1;
      if (t === '2' || t === '3') { s.termReqs++; note(`frame ${frame}: ${name}`); }
    }
    // checksum status values (proto_checksum_vals): 0 bad, 1 good, 2 unverified, 3 not present
    for (const v of hd.split(',')) { if (v === '1') s.hdgstGood++; else if (v === '0') { s.hdgstBad++; note(`frame ${frame}: bad header digest`); } }
    for (const v of dd.split(',')) { if (v === '1') s.ddgstGood++; else if (v === '0') { s.ddgstBad++; note(`frame ${frame}: bad data digest`); } }
    if (malformed !== '' || MALFORMED.test(expert)) { s.malformed++; note(`frame ${frame}: ${expert || 'malformed'}`); }
  }
  for (const [k, l] of segs) {
    l.sort((a, b) => a[0] - b[0]);
    let next = l[0]![0];
    for (const [seq, n, frame] of l) {
      if (seq > next) { s.captureHoles++; note(`stream ${k}: ${seq - next} bytes never captured before frame ${frame}`); }
      next = Math.max(next, seq + n);
    }
  }
  return s;
}

/** Decode `pcap` with the NVMe/TCP dissector on `ports`, digests verified. */
export function analyze(pcap: string, ports: readonly number[], timeoutMs = 180_000): WireStats {
  const args = ['tshark', '-r', pcap, '-n',
    '-o', `nvme-tcp.subsystem_ports:${ports.join(',')}`,
    '-o', 'nvme-tcp.check_hdgst:TRUE', '-o', 'nvme-tcp.check_ddgst:TRUE',
    '-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'tcp.reassemble_out_of_order:TRUE', '-o', 'tcp.check_checksum:FALSE'];
  // decode-as as well: the port preference alone covers only registered ports in some versions
  for (const p of ports) args.push('-d', `tcp.port==${p},nvme-tcp`);
  args.push('-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tcp.srcport', '-e', 'tcp.seq', '-e', 'tcp.len', '-e', 'nvme-tcp.type', '-e', 'nvme-tcp.hdgst.status', '-e', 'nvme-tcp.ddgst.status',
    '-e', '_ws.malformed', '-e', '_ws.expert.message');
  const r = runSync(args, timeoutMs);
  if (r.status !== 0) throw new Error(`tshark exited ${r.status}: ${r.stderr.split('\n').filter((l) => !l.includes('Running as user')).join(' ').slice(0, 400)}`);
  return parseFields(r.stdout);
}

/** The wire-check row's verdict: null = pass. */
export function wireVerdict(s: WireStats): string | null {
  const problems: string[] = [];
  if (s.pdus === 0) problems.push('no NVMe/TCP PDU decoded');
  if (s.malformed > 0) problems.push(`${s.malformed} malformed`);
  if (s.hdgstBad > 0) problems.push(`${s.hdgstBad} header digest errors`);
  if (s.ddgstBad > 0) problems.push(`${s.ddgstBad} data digest errors`);
  if (s.captureDrops > 0) problems.push(`capture dropped ${s.captureDrops} packets`);
  if (s.captureHoles > 0) problems.push(`${s.captureHoles} capture holes`);
  return problems.length === 0 ? null : problems.join(', ');
}

export function wireSummary(s: WireStats): string {
  return `${s.pdus} PDUs in ${s.frames} frames, ${s.malformed} malformed, ${s.hdgstBad + s.ddgstBad} digest errors `
    + `(${s.hdgstGood} hdgst + ${s.ddgstGood} ddgst verified), ${s.termReqs} TermReq`;
}
