/** Shared fixture: an Nvmet with a loop port, one NVM subsystem and a RAM namespace. */

import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { silentLogger } from '../../target/core/log.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import type { Subsystem, SubsystemOptions } from '../../target/core/subsystem.js';
import type { Port } from '../../target/core/port.js';
import { LoopTransport, type LoopTransportOptions } from '../../target/loop/loop-transport.js';
import { LoopController, type ConnectOptions } from '../../target/loop/host.js';

export const SUBNQN = 'nqn.2024-01.io.nvmet-ts:test';
export const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555';
export const OTHER_HOST = 'nqn.2014-08.org.nvmexpress:uuid:99999999-2222-3333-4444-555555555555';
export const PORT_ID = 1;

export interface Fixture {
  nvmet: Nvmet;
  loop: LoopTransport;
  port: Port;
  subsys: Subsystem;
  connect(opts?: Partial<ConnectOptions> & { subnqn?: string }): Promise<LoopController>;
  /** Connect, enable, and return the controller. */
  ready(opts?: Partial<ConnectOptions>): Promise<LoopController>;
  close(): Promise<void>;
}

export async function setup(
  o: {
    subsys?: Partial<SubsystemOptions>;
    namespaces?: { nsid: number; size: number; blockSize?: 512 | 4096 }[];
    loop?: LoopTransportOptions;
    maxDataTransferSize?: number;
  } = {},
): Promise<Fixture> {
  const nvmet = createNvmet({ logger: silentLogger, maxDataTransferSize: o.maxDataTransferSize ?? 0 });
  const loop = new LoopTransport(o.loop);
  nvmet.registerTransport(loop);
  const subsys = nvmet.addSubsystem({ nqn: SUBNQN, allowedHosts: [HOSTNQN], serial: 'SN-TEST-0001', ...o.subsys });
  for (const n of o.namespaces ?? [{ nsid: 1, size: 64 << 20 }]) {
    await subsys
      .addNamespace({ nsid: n.nsid, blockSize: n.blockSize ?? 512, backend: { kind: 'ram', size: n.size } })
      .enable();
  }
  const port = nvmet.addPort({ portId: PORT_ID, trtype: TrType.LOOP, traddr: 'loop', trsvcid: 'none' });
  port.addSubsystem(subsys);
  await port.enable();
  const connect = (c: Partial<ConnectOptions> & { subnqn?: string } = {}): Promise<LoopController> => {
    const { subnqn, ...rest } = c;
    return LoopController.connect(loop, PORT_ID, subnqn ?? SUBNQN, { hostnqn: HOSTNQN, ...rest });
  };
  return {
    nvmet,
    loop,
    port,
    subsys,
    connect,
    async ready(c = {}) {
      const ctrl = await connect(c);
      await ctrl.enable();
      return ctrl;
    },
    close: () => nvmet.shutdown(),
  };
}

/** Wait until `cond` holds, polling; fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Deterministic test pattern. */
export function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
