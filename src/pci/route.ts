/**
 * Routing: which links a transaction crosses between two functions (or a function
 * and system memory), and whether it passes through the root complex.
 *
 * TLPs climb from the source to the nearest common upstream bridge and descend to the
 * target. Two exceptions send them all the way up into the root complex: no common
 * bridge below it (different root ports), or ACS P2P redirect (RR/CR/EC) set on the
 * path, which forces peer traffic upstream for the IOMMU to see. The set of functions
 * whose ACS bits count is the one Linux's upstream_bridge_distance() checks: the
 * source's path up to and including the common bridge, the target's path below it.
 */

import type { Link } from './link.js';
import type { PciFunction } from './model.js';
import type { PciTopology } from './topology.js';

export type Direction = 'up' | 'down';
export type RouteEnd = PciFunction | 'dram';

export interface Hop {
  readonly link: Link;
  /** 'up' = towards the root complex (for the DRAM link, 'down' = into memory). */
  readonly direction: Direction;
}

export interface Route {
  readonly from: string;
  readonly to: string;
  readonly hops: readonly Hop[];
  readonly viaRootComplex: boolean;
  /** Where the transaction turns from climbing to descending: a bridge BDF, the host bridge name, or the function itself. */
  readonly turnaround: string;
  /** Functions whose ACS redirect bits forced the transaction up to the root complex. */
  readonly acsRedirect: readonly string[];
}

function chain(f: PciFunction): PciFunction[] {
  const out: PciFunction[] = [];
  for (let d: PciFunction | null = f; d; d = d.upstream) out.push(d);
  return out;
}

/** Links crossed climbing from `f` to `stop` (exclusive); to the root complex when `stop` is null. */
function climb(f: PciFunction, stop: PciFunction | null): Link[] {
  const out: Link[] = [];
  for (let d: PciFunction | null = f; d && d !== stop; d = d.upstream) {
    if (d.link) out.push(d.link);
    if (d.upstream === null && stop === null && d.rcLink) out.push(d.rcLink);
  }
  return out;
}

/**
 * The nearest common upstream bridge of `a` and `b` (a function is its own ancestor
 * here, so the same function or a bridge above the other counts), plus the functions
 * with ACS redirect on the way, walking exactly as Linux's upstream_bridge_distance().
 */
export function commonUpstream(a: PciFunction, b: PciFunction): {
  common: PciFunction | null;
  distA: number;
  distB: number;
  acs: PciFunction[];
} {
  const acs: PciFunction[] = [];
  const bChain = chain(b);
  let distA = 0;
  for (let x: PciFunction | null = a; x; x = x.upstream, distA++) {
    if (x.acsRedirect) acs.push(x);
    const distB = bChain.indexOf(x);
    if (distB >= 0) {
      for (let i = 0; i < distB; i++) if (bChain[i]!.acsRedirect) acs.push(bChain[i]!);
      return { common: x, distA, distB, acs };
    }
  }
  return { common: null, distA, distB: bChain.length, acs };
}

export interface RouteOptions {
  /**
   * Route as if no ACS redirect bits were set. The 2018 series cleared the ACS P2P bits
   * of every port behind a switch at boot, so its same-switch policy never saw them.
   */
  readonly ignoreAcs?: boolean;
}

export function route(topo: PciTopology, from: RouteEnd, to: RouteEnd, opts: RouteOptions = {}): Route {
  const hb = topo.hostBridge;
  const name = (e: RouteEnd): string => (e === 'dram' ? 'dram' : e.bdf);
  const up = (links: Link[]): Hop[] => links.map((link) => ({ link, direction: 'up' as const }));
  const down = (links: Link[]): Hop[] => links.reverse().map((link) => ({ link, direction: 'down' as const }));

  if (from === 'dram' || to === 'dram') {
    if (from === to) return { from: 'dram', to: 'dram', hops: [], viaRootComplex: false, turnaround: 'dram', acsRedirect: [] };
    const hops = from === 'dram'
      ? [{ link: hb.dramLink, direction: 'up' as const }, ...down(climb(to as PciFunction, null))]
      : [...up(climb(from, null)), { link: hb.dramLink, direction: 'down' as const }];
    return { from: name(from), to: name(to), hops, viaRootComplex: true, turnaround: hb.name, acsRedirect: [] };
  }

  if (from === to) return { from: from.bdf, to: to.bdf, hops: [], viaRootComplex: false, turnaround: from.bdf, acsRedirect: [] };

  const { common, acs: acsFound } = commonUpstream(from, to);
  const acs = opts.ignoreAcs ? [] : acsFound;
  if (common === null || acs.length > 0) {
    return {
      from: from.bdf,
      to: to.bdf,
      hops: [...up(climb(from, null)), ...down(climb(to, null))],
      viaRootComplex: true,
      turnaround: hb.name,
      acsRedirect: acs.map((f) => f.bdf),
    };
  }
  return {
    from: from.bdf,
    to: to.bdf,
    hops: [...up(climb(from, common)), ...down(climb(to, common))],
    viaRootComplex: false,
    turnaround: common.bdf,
    acsRedirect: [],
  };
}

/** The slowest link on a route (the first of equals), or null for an empty route. */
export function limitingLink(r: Route): Link | null {
  let min: Link | null = null;
  for (const h of r.hops) if (min === null || h.link.bandwidth < min.bandwidth) min = h.link;
  return min;
}

/** Bytes per second the route can sustain in isolation (Infinity when it crosses no link). */
export function routeBandwidth(r: Route): number {
  const l = limitingLink(r);
  return l === null ? Infinity : l.bandwidth;
}

/** "0000:03:00.0 ↑ 0000:02:00.0<->0000:03:00.0 ↓ …" for logs and explanations. */
export function describeRoute(r: Route): string {
  const hops = r.hops.map((h) => `${h.direction === 'up' ? '↑' : '↓'} ${h.link.id}`).join(', ');
  return `${r.from} → ${r.to}: ${hops || '(no links)'}${r.viaRootComplex ? ' [via root complex]' : ''}${r.acsRedirect.length ? ` [ACS redirect on ${r.acsRedirect.join(', ')}]` : ''}`;
}
