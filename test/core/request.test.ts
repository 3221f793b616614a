import { afterEach, describe, expect, it } from 'vitest';
import { setup, pattern, type Fixture } from './setup.js';
import { GatedBackend } from './gated-backend.js';
import { SystemStagingAllocator } from '../../target/core/staging.js';
import { encodeRwCommand } from '../../src/nvme/sqe.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { submit } from '../../target/loop/host.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('request lifetime', () => {
  it('staging of a command still executing when the connection dies is freed when it finishes, nothing is sent', async () => {
    f = await setup({ namespaces: [] });
    const staging = new SystemStagingAllocator();
    f.nvmet.staging = staging;
    const gated = new GatedBackend();
    const ns = f.subsys.addNamespace({ nsid: 1, backend: gated });
    await ns.enable();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const reads = [c.read(q, 1, 0, 8, 512), c.read(q, 1, 8, 8, 512), c.write(q, 1, 0, pattern(4096, 1), 512)];
    await tick();
    expect(gated.gates.length).toBe(3);
    expect(staging.outstandingBuffers).toBe(3);
    expect(ns.inflightCommands).toBe(3);
    q.close('cable pulled');
    for (const r of reads) await expect(r).rejects.toThrow(/disconnected/);
    // Still executing: buffers stay with the backend until it is done with them.
    expect(staging.outstandingBuffers).toBe(3);
    gated.openAll();
    await tick();
    expect(staging.outstandingBuffers).toBe(0);
    expect(ns.inflightCommands).toBe(0);
    // The controller survives losing an I/O queue.
    expect(c.admin.connected).toBe(true);
  });

  it('backend failures become media statuses', async () => {
    f = await setup({ namespaces: [] });
    const gated = new GatedBackend();
    await f.subsys.addNamespace({ nsid: 1, backend: gated }).enable();
    const c = await f.ready();
    const q = await c.connectIo(1);
    gated.fail = true;
    const r = c.read(q, 1, 0, 1, 512);
    const w = c.write(q, 1, 0, pattern(512, 1), 512);
    await tick();
    gated.openAll();
    expect((await r).status & ~STATUS_MORE).toBe(NvmeStatus.UnrecoveredReadError | STATUS_DNR);
    expect((await w).status & ~STATUS_MORE).toBe(NvmeStatus.WriteFault | STATUS_DNR);
  });

  it('request objects are recycled: steady-state I/O allocates no new requests', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const coreQueue = f.subsys.getController(c.cntlid)!.queues[1]!;
    for (let i = 0; i < 50; i++) await c.read(q, 1, i, 1, 512);
    await tick();
    expect(coreQueue.inUse).toBe(0);
    // The transport's one command slot carried all 50 reads: one request object, allocated once.
    expect(coreQueue.allocated).toBe(1);
  });

  it('a held command on a dead queue never touches the transport again', async () => {
    f = await setup({ namespaces: [] });
    const gated = new GatedBackend();
    await f.subsys.addNamespace({ nsid: 1, backend: gated }).enable();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const sqe = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 1 });
    const p = submit(q, sqe, undefined, 512);
    await tick();
    // Core-side teardown (controller reset) while the read is in the backend.
    await c.propertySet(0x14, 0);
    await expect(p).rejects.toThrow(/disconnected/);
    gated.openAll();
    await tick();
    expect(q.connected).toBe(false);
  });
});
