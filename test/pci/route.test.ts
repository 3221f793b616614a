import { describe, expect, it } from 'vitest';
import { describeRoute, limitingLink, route, routeBandwidth, type Route } from '../../src/pci/index.js';
import { fn, topo } from './helpers.js';

const ids = (r: Route): string[] => r.hops.map((h) => `${h.direction} ${h.link.id}`);

describe('route', () => {
  it('peer to peer behind one switch turns at the upstream port, never touching the root complex', () => {
    const t = topo('default');
    const r = route(t, fn(t, '03:00.0'), fn(t, '04:00.0'));
    expect(ids(r)).toEqual(['up 0000:02:00.0<->0000:03:00.0', 'down 0000:02:01.0<->0000:04:00.0']);
    expect(r.viaRootComplex).toBe(false);
    expect(r.turnaround).toBe('0000:01:00.0');
    expect(limitingLink(r)?.id).toBe('0000:02:01.0<->0000:04:00.0'); // x4 NVMe link
    expect(routeBandwidth(r)).toBeCloseTo((8e9 * 4 * 128) / 130 / 8, 3);
  });

  it('device to system memory climbs to the root complex and crosses the DRAM link', () => {
    const t = topo('default');
    const r = route(t, fn(t, '04:00.0'), 'dram');
    expect(ids(r)).toEqual([
      'up 0000:02:01.0<->0000:04:00.0',
      'up 0000:00:01.0<->0000:01:00.0',
      'up pci0000:00<->0000:00:01.0',
      'down pci0000:00<->dram',
    ]);
    expect(r.viaRootComplex).toBe(true);
    const back = route(t, 'dram', fn(t, '04:00.0'));
    expect(ids(back)).toEqual([
      'up pci0000:00<->dram',
      'down pci0000:00<->0000:00:01.0',
      'down 0000:00:01.0<->0000:01:00.0',
      'down 0000:02:01.0<->0000:04:00.0',
    ]);
  });

  it('different root ports go through the root complex', () => {
    const t = topo('different-switches');
    const r = route(t, fn(t, '03:00.0'), fn(t, '08:00.0'));
    expect(r.viaRootComplex).toBe(true);
    expect(r.turnaround).toBe('pci0000:00');
    expect(ids(r)).toEqual([
      'up 0000:02:00.0<->0000:03:00.0',
      'up 0000:00:01.0<->0000:01:00.0',
      'up pci0000:00<->0000:00:01.0',
      'down pci0000:00<->0000:00:02.0',
      'down 0000:00:02.0<->0000:05:00.0',
      'down 0000:06:01.0<->0000:08:00.0',
    ]);
  });

  it('ACS redirect on the path forces the transaction up to the root complex and names the port', () => {
    const t = topo('acs-redirect');
    const r = route(t, fn(t, '03:00.0'), fn(t, '04:00.0'));
    expect(r.viaRootComplex).toBe(true);
    expect(r.acsRedirect).toEqual(['0000:02:01.0']);
    expect(ids(r)).toEqual([
      'up 0000:02:00.0<->0000:03:00.0',
      'up 0000:00:01.0<->0000:01:00.0',
      'up pci0000:00<->0000:00:01.0',
      'down pci0000:00<->0000:00:01.0',
      'down 0000:00:01.0<->0000:01:00.0',
      'down 0000:02:01.0<->0000:04:00.0',
    ]);
    // The RNIC and the p2pmem card have no redirect on their ports.
    expect(route(t, fn(t, '03:00.0'), fn(t, '06:00.0')).viaRootComplex).toBe(false);
    expect(describeRoute(r)).toContain('ACS redirect on 0000:02:01.0');
  });

  it('two functions of one device cross their shared link up and back down', () => {
    const t = topo('root-ports');
    const r = route(t, fn(t, '05:00.0'), fn(t, '05:00.1'));
    expect(ids(r)).toEqual(['up 0000:00:05.0<->0000:05:00.0', 'down 0000:00:05.0<->0000:05:00.0']);
    expect(r.turnaround).toBe('0000:00:05.0');
    expect(r.viaRootComplex).toBe(false);
  });

  it('a function to itself crosses nothing', () => {
    const t = topo('default');
    const r = route(t, fn(t, '04:00.0'), fn(t, '04:00.0'));
    expect(r.hops).toEqual([]);
    expect(limitingLink(r)).toBeNull();
    expect(routeBandwidth(r)).toBe(Infinity);
  });

  it('across a two-level switch fabric turns at the top switch', () => {
    const t = topo('two-level-switch');
    const r = route(t, fn(t, '03:00.0'), fn(t, '0b:00.0'));
    expect(r.turnaround).toBe('0000:01:00.0');
    expect(ids(r)).toEqual([
      'up 0000:02:00.0<->0000:03:00.0',
      'down 0000:02:02.0<->0000:08:00.0',
      'down 0000:09:01.0<->0000:0b:00.0',
    ]);
    const leaf = route(t, fn(t, '06:00.0'), fn(t, '07:00.0'));
    expect(leaf.turnaround).toBe('0000:04:00.0');
    expect(leaf.hops).toHaveLength(2);
  });
});
