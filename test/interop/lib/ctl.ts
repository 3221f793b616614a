/**
 * Control channel for the guest: the few checks that need something done on
 * the target's side ask for it with `wget http://10.0.2.2:PORT/ACTION`, which
 * slirp delivers to this server on the netns' 127.0.0.1. Replies are one line:
 * "ok: ...", "pending: ..." or "error: ...".
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { appendFileSync, writeFileSync } from 'node:fs';

export type Action = (query: URLSearchParams) => Promise<string>;

export interface CtlServer { readonly port: number; readonly server: Server; close(): Promise<void> }

export async function startCtlServer(actions: Record<string, Action>, logFile: string): Promise<CtlServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://guest');
    const name = url.pathname.replace(/^\//, '');
    const action = actions[name];
    const t0 = performance.now();
    const reply = (text: string) => {
      appendFileSync(logFile, `${new Date().toISOString()} ${name}${url.search} -> ${text} (${(performance.now() - t0).toFixed(0)} ms)\n`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${text}\n`);
    };
    if (!action) { reply(`error: unknown action ${name}`); return; }
    action(url.searchParams).then(reply, (e: unknown) => reply(`error: ${e instanceof Error ? e.message : String(e)}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('control server has no port');
  writeFileSync(logFile, `control server on 127.0.0.1:${addr.port}\n`, { flag: 'a' });
  return {
    port: addr.port,
    server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
