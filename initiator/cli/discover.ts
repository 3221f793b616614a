/** `nvmet-ts-initiator discover`: print the Discovery Log Page like `nvme discover`. */
import { parseArgs } from 'node:util';
import { discover } from '../discover.js';
import type { DiscoveryLogEntry } from '../../src/nvme/discovery-log.js';
import { CONNECTION_USAGE, connectOptionsFrom, connectionOptions, toJson } from './common.js';
import type { CliIo } from './common.js';
import { DISCOVERY_NQN } from '../../src/nvme/fabrics.js';

export const DISCOVER_USAGE = `Usage: nvmet-ts-initiator discover [options]

Connect to the discovery controller (${DISCOVERY_NQN} unless -n is given),
read the Discovery Log Page and print its entries.

${CONNECTION_USAGE}`;

const TRTYPE: Record<number, string> = { 1: 'rdma', 2: 'fc', 3: 'tcp', 254: 'loop' };
const ADRFAM: Record<number, string> = { 1: 'ipv4', 2: 'ipv6', 3: 'ib', 4: 'fc', 254: 'intra-host' };
// nvme-cli's wording (nvmf_subtype_str).
const SUBTYPE: Record<number, string> = { 1: 'discovery subsystem referral', 2: 'nvme subsystem', 3: 'current discovery subsystem' };

function entryText(e: DiscoveryLogEntry, i: number): string {
  return [
    `=====Discovery Log Entry ${i}======`,
    `trtype:  ${TRTYPE[e.trtype] ?? e.trtype}`,
    `adrfam:  ${ADRFAM[e.adrfam] ?? e.adrfam}`,
    `subtype: ${SUBTYPE[e.subtype] ?? e.subtype}`,
    `treq:    ${e.treq}`,
    `portid:  ${e.portid}`,
    `trsvcid: ${e.trsvcid}`,
    `subnqn:  ${e.subnqn}`,
    `traddr:  ${e.traddr}`,
    `eflags:  ${e.eflags}`,
  ].join('\n');
}

export async function discoverCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: connectionOptions, strict: true, allowPositionals: false });
  if (values.help) {
    io.out(DISCOVER_USAGE);
    return 0;
  }
  const opts = connectOptionsFrom(values, values.nqn ?? DISCOVERY_NQN);
  const log = await discover(opts);
  if (values.json) {
    io.out(toJson(log));
    return 0;
  }
  io.out(`\nDiscovery Log Number of Records ${log.numrec}, Generation counter ${log.genctr}`);
  log.entries.forEach((e, i) => io.out(entryText(e, i)));
  return 0;
}
