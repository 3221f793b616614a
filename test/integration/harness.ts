/**
 * In-process target for integration tests: Nvmet core + NVMe/TCP transport on
 * 127.0.0.1, ephemeral port, RAM namespaces. Every test gets its own target.
 */
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TcpTransport } from '../../target/tcp/index.js';
import type { TcpTransportOptions } from '../../target/tcp/index.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import type { Subsystem } from '../../target/core/subsystem.js';
import type { Port } from '../../target/core/port.js';
import { NvmeError } from '../../initiator/errors.js';
import { statusCode } from '../../src/nvme/status.js';

export const SUBNQN = 'nqn.2024-01.io.nvmet-ts:test';
export const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:6f1e3c2a-0d4b-4e8f-9a7c-1b2d3e4f5a6b';
export const HOSTID = '6f1e3c2a-0d4b-4e8f-9a7c-1b2d3e4f5a6b';

export interface TestTarget {
  nvmet: Nvmet;
  subsys: Subsystem;
  port: Port;
  /** Bound TCP port. */
  tcpPort: number;
  host: string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** Namespaces to create: nsid → size in bytes (default { 1: 64 MiB }). */
  namespaces?: Record<number, number>;
  blockSize?: 512 | 4096;
  allowAnyHost?: boolean;
  allowedHosts?: string[];
  tcp?: TcpTransportOptions;
  inlineDataSize?: number;
  maxDataTransferSize?: number;
}

export async function startTarget(o: TargetOptions = {}): Promise<TestTarget> {
  const nvmet = createNvmet(o.maxDataTransferSize !== undefined ? { maxDataTransferSize: o.maxDataTransferSize } : {});
  nvmet.registerTransport(new TcpTransport(o.tcp ?? {}));
  const subsys = nvmet.addSubsystem({
    nqn: SUBNQN,
    allowAnyHost: o.allowAnyHost ?? true,
    allowedHosts: o.allowedHosts ?? [],
    serial: 'NVMETTS0001',
    model: 'nvmet-ts test',
  });
  for (const [nsid, size] of Object.entries(o.namespaces ?? { 1: 64 << 20 })) {
    await subsys.addNamespace({ nsid: Number(nsid), backend: { kind: 'ram', size }, blockSize: o.blockSize ?? 512 }).enable();
  }
  const port = nvmet.addPort({
    portId: 1,
    trtype: TrType.TCP,
    traddr: '127.0.0.1',
    trsvcid: '0',
    ...(o.inlineDataSize !== undefined ? { inlineDataSize: o.inlineDataSize } : {}),
  });
  port.addSubsystem(subsys);
  await port.enable();
  return {
    nvmet,
    subsys,
    port,
    tcpPort: Number(port.addr.trsvcid),
    host: '127.0.0.1',
    stop: () => nvmet.shutdown(),
  };
}

/** Deterministic bytes (xorshift), different per seed; written into `into` when given. */
export function pattern(len: number, seed = 1, into?: Uint8Array): Uint8Array {
  const b = into ?? new Uint8Array(len);
  // xorshift32 inlined: calling its closure per byte is several times slower on MiB buffers.
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** The status code (SCT/SC, without MORE/DNR) of the NvmeError `p` must reject with. */
export async function nvmeStatusOf(p: Promise<unknown>): Promise<number> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof NvmeError)) throw new Error(`expected NvmeError, got ${String(e)}`);
  return statusCode(e.status);
}

/** Wait until `pred` holds, polling every 10 ms, at most `ms`. */
export async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
