/**
 * The disc-aen row's runner side (6.1 and 6.12 runs): change port 1's discovery log
 * while the guest holds a persistent discovery controller on it, then undo it. The
 * guest (checks.sh chk_disc_aen) waits for the host's NVME_AEN=0x70f002 uevent and
 * greps the log for this subsystem's name.
 */
import type { Action } from './ctl.js';

export const DISC_AEN_NQN = 'nqn.2014-08.org.nvmexpress:nvmet-ts-disc-aen';
export const DISC_AEN_ROW = 'disc-aen';

export function discAenActions(apiPort: number): Record<'disc-change' | 'disc-restore', Action> {
  const api = `http://127.0.0.1:${apiPort}`;
  const post = async (path: string, body: object): Promise<void> => {
    const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
    if (!res.ok) throw new Error(`POST ${path} -> ${res.status} ${(await res.text()).slice(0, 300)}`);
  };
  return {
    // a new subsystem any host may use, linked to port 1: a discovery log change on that port
    'disc-change': async () => {
      await post('/api/subsystems', { nqn: DISC_AEN_NQN, allowed_hosts: [], attr: { allow_any_host: '1' }, namespaces: [] });
      await post('/api/ports/1/subsystems', { nqn: DISC_AEN_NQN });
      return `ok: ${DISC_AEN_NQN} created and linked to port 1`;
    },
    'disc-restore': async () => {
      const res = await fetch(`${api}/api/subsystems/${encodeURIComponent(DISC_AEN_NQN)}`, { method: 'DELETE', signal: AbortSignal.timeout(15_000) });
      if (!res.ok && res.status !== 404) throw new Error(`DELETE ${DISC_AEN_NQN} -> ${res.status} ${(await res.text()).slice(0, 300)}`);
      return `ok: ${DISC_AEN_NQN} deleted`;
    },
  };
}
