import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dupFd, fdDupAvailable } from '../../src/os/fd-dup.js';

/** Everything a test opened, closed in afterEach whatever happened. */
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function requireAddon(): void {
  const a = fdDupAvailable();
  if (!a.ok) throw new Error(a.why);
}

function handleFd(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

describe('dupFd', () => {
  it('the addon loads', () => {
    expect(fdDupAvailable()).toEqual({ ok: true });
  });

  it('an accepted socket survives the original Socket being destroyed, through the dup', async () => {
    requireAddon();
    const fds: { original: number; dup: number }[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
      const original = handleFd(accepted);
      const dup = dupFd(original);
      fds.push({ original, dup });
      // Closes only the original fd (destroy does not shutdown(2) the connection).
      accepted.destroy();
      const wrapped = new net.Socket({ fd: dup, readable: true, writable: true });
      sockets.push(wrapped);
      wrapped.on('error', () => {});
      wrapped.pipe(wrapped);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const { port } = server.address() as net.AddressInfo;

    const client = net.connect({ host: '127.0.0.1', port });
    sockets.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });

    const payload = randomBytes(256 * 1024);
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const got: Buffer[] = [];
      let n = 0;
      client.on('data', (b: Buffer) => {
        got.push(b);
        n += b.length;
        if (n >= payload.length) resolve(Buffer.concat(got));
      });
      client.once('error', reject);
      client.once('close', () => reject(new Error(`connection closed after ${n} of ${payload.length} bytes echoed`)));
      client.write(payload);
    });

    expect(fds).toHaveLength(1);
    expect(fds[0]!.dup).toBeGreaterThanOrEqual(3);
    expect(fds[0]!.dup).not.toBe(fds[0]!.original);
    expect(echoed.equals(payload)).toBe(true);
  }, 10_000);

  it('rejects a negative fd with TypeError', () => {
    requireAddon();
    expect(() => dupFd(-1)).toThrow(TypeError);
  });

  it('rejects a non-integer fd with TypeError', () => {
    requireAddon();
    expect(() => dupFd(1.5)).toThrow(TypeError);
    expect(() => dupFd(2 ** 31)).toThrow(TypeError);
    expect(() => dupFd(Number.NaN)).toThrow(TypeError);
  });

  it('a closed fd fails with code EBADF', () => {
    requireAddon();
    const dir = mkdtempSync(join(tmpdir(), 'fd-dup-'));
    dirs.push(dir);
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    const fd = openSync(file, 'r');
    closeSync(fd);
    // Synchronous from open to dup, so no JS here reopens the number in between.
    let caught: unknown;
    try {
      const d = dupFd(fd);
      closeSync(d);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as NodeJS.ErrnoException).code).toBe('EBADF');
    expect((caught as Error).message).toMatch(/Bad file descriptor/);
  });
});
