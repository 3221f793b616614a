/**
 * The NVMe/TCP limits as port `param` keys of the nvmetcli-shaped config: parsed,
 * validated (errors name the JSON path), written back, and applied by the running
 * service's transport.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect as netConnect } from 'node:net';
import { NvmetService } from '../../target/service/index.js';
import { parseConfig } from '../../target/config/index.js';
import { configToJson } from '../../target/config/serialize.js';
import { silentLogger } from '../../target/core/log.js';

const NQN = 'nqn.2024-01.io.nvmet-ts:port-params';

function doc(param: Record<string, string>): Record<string, unknown> {
  return {
    hosts: [],
    ports: [
      {
        portid: 1,
        addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0', treq: 'not specified' },
        param,
        // A port listens only while a subsystem is linked (Linux configfs), so it links one.
        subsystems: [NQN],
        referrals: [],
      },
    ],
    subsystems: [{ nqn: NQN, attr: { allow_any_host: '1' }, allowed_hosts: [], namespaces: [] }],
  };
}

let svc: NvmetService | null = null;
afterEach(async () => {
  await svc?.stop();
  svc = null;
});

describe('port param: NVMe/TCP limits', () => {
  it('are parsed, written back unchanged, and applied to the listening port', async () => {
    const param = {
      icreq_timeout_ms: '300',
      connect_timeout_ms: '4000',
      pdu_timeout_ms: '5000',
      max_connections: '7',
      queue_data_limit: '1048576',
      queue_r2t_limit: '2097152',
    };
    const r = parseConfig(doc(param));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect((configToJson(r.config) as unknown as { ports: Array<{ param: Record<string, string> }> }).ports[0]!.param).toMatchObject(param);
    svc = await NvmetService.start({ config: r.config, logger: silentLogger, dataPath: false });
    const port = Number(svc.port(1)!.addr.trsvcid);
    // a connection that never sends ICReq is closed after icreq_timeout_ms
    const t0 = performance.now();
    const s = netConnect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    await new Promise<void>((res, rej) => {
      const guard = setTimeout(() => rej(new Error('not closed within 3 s')), 3000);
      s.once('close', () => {
        clearTimeout(guard);
        res();
      });
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it.each([
    ['icreq_timeout_ms', '0'],
    ['max_connections', '-1'],
    ['queue_data_limit', '12'],
    ['pdu_timeout_ms', 'soon'],
  ])('%s = %s is a configuration error naming ports[0].param.%s', (key, value) => {
    const r = parseConfig(doc({ [key]: value }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path).join(' ')).toContain(`param.${key}`);
  });
});
