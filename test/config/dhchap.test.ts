/**
 * hosts[].dhchap — nvmetcli's attribute group for configfs hosts/<nqn>/dhchap_{key,
 * ctrl_key,hash,dhgroup}: parsed, validated with errors naming the JSON path (without the
 * secret), defaulted like Linux (hmac(sha256), null), and written back unchanged.
 */
import { describe, expect, it } from 'vitest';
import { configToJson, parseConfig, resolveConfig } from '../../target/config/index.js';

const HOST = 'nqn.2014-08.org.nvmexpress:uuid:0f0e0d0c-0b0a-0908-0706-050403020100';
const KEY = 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:';
const CTRL = 'DHHC-1:01:C7XNT6VDFTFfbGtrSimOlLFg7BAdH+UwUgkLTuSA5gcd+7/H:';

const doc = (dhchap: unknown) => ({ hosts: [{ nqn: HOST, dhchap }], ports: [], subsystems: [] });

describe('hosts[].dhchap', () => {
  it('round-trips the nvmetcli form and resolves with defaults', () => {
    const d = doc({ key: KEY, ctrl_key: CTRL, hash: 'hmac(sha512)', dhgroup: 'ffdhe8192' });
    const r = parseConfig(d);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(configToJson(r.config)['hosts']).toEqual(d.hosts);
    expect(resolveConfig(r.config).hostDhchap[HOST]).toEqual({ key: KEY, ctrlKey: CTRL, hash: 'hmac(sha512)', dhgroup: 'ffdhe8192' });
    const bare = parseConfig(doc({ key: KEY }));
    expect(bare.ok && resolveConfig(bare.config).hostDhchap[HOST]).toEqual({ key: KEY, ctrlKey: '', hash: 'hmac(sha256)', dhgroup: 'null' });
  });

  it('an empty group (what nvmetcli dumps for a host without keys) asks for nothing', () => {
    const r = parseConfig(doc({ key: '', ctrl_key: '', hash: 'hmac(sha256)', dhgroup: 'null' }));
    expect(r.ok).toBe(true);
    if (r.ok) expect(resolveConfig(r.config).hostDhchap).toEqual({});
  });

  it.each([
    [{ key: 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2m:' }, 'hosts[0].dhchap.key', /CRC/],
    [{ key: 'DHHC-1:05:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:' }, 'hosts[0].dhchap.key', /00, 01, 02 or 03/],
    [{ key: 'secret' }, 'hosts[0].dhchap.key', /DHHC-1/],
    [{ key: KEY, ctrl_key: 'DHHC-1:00:AAAA:' }, 'hosts[0].dhchap.ctrl_key', /bytes/],
    [{ ctrl_key: CTRL }, 'hosts[0].dhchap.ctrl_key', /needs a host key/],
    [{ key: KEY, hash: 'sha256' }, 'hosts[0].dhchap.hash', /hmac\(sha256\)/],
    [{ key: KEY, dhgroup: 'ffdhe1024' }, 'hosts[0].dhchap.dhgroup', /ffdhe2048/],
    ['DHHC-1', 'hosts[0].dhchap', /object/],
  ])('%j is refused at %s', (dhchap, path, msg) => {
    const r = parseConfig(doc(dhchap));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const e = r.errors.find((x) => x.path === path);
    expect(e, JSON.stringify(r.errors)).toBeDefined();
    expect(e!.message).toMatch(msg);
    expect(JSON.stringify(r.errors)).not.toContain('ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2');
  });
});
