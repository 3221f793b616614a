/**
 * The p2pmem-staging row (--p2pmem): the Linux host's I/O through ports with
 * allow_p2pmem must have been staged in p2pmem, without falling back to system
 * memory, and once every host has disconnected no provider may have p2pmem
 * outstanding (a leak would shrink the pool for good).
 * Reads nvmet-ts's GET /api/p2p/state.
 */

export interface P2pPortState {
  portId: number;
  p2pmemInUse?: boolean;
  provider?: string | null;
  p2pAllocations?: number;
  systemAllocations?: number;
  fallbacks?: number;
}
export interface P2pProviderState { bdf: string; size?: number; available?: number; outstanding?: number }
export interface P2pState { ports?: P2pPortState[]; providers?: P2pProviderState[] }

/**
 * `lives`: one snapshot per target process (taken just before it was stopped,
 * since counters start at zero with each process); `end` is the last of them,
 * taken after the guest disconnected everything.
 */
export function p2pVerdict(lives: readonly (P2pState | null)[], end: P2pState | null): string | null {
  if (end === null) return 'no p2p state from the target (GET /api/p2p/state)';
  let p2p = 0;
  let fallbacks = 0;
  for (const s of lives) {
    for (const p of s?.ports ?? []) { p2p += p.p2pAllocations ?? 0; fallbacks += p.fallbacks ?? 0; }
  }
  const notInUse = (end.ports ?? []).filter((p) => p.p2pmemInUse !== true).map((p) => p.portId);
  if (notInUse.length > 0) return `port(s) ${notInUse.join(', ')} not staging in p2pmem`;
  if (p2p === 0) return 'no I/O was staged in p2pmem';
  if (fallbacks > 0) return `${fallbacks} I/O(s) fell back to system memory (${p2p} in p2pmem)`;
  const leaked = (end.providers ?? []).filter((v) => (v.outstanding ?? 0) !== 0 || (v.size !== undefined && v.available !== v.size));
  if (leaked.length > 0) {
    return `p2pmem still allocated after every host disconnected: ${leaked.map((v) => `${v.bdf} outstanding ${v.outstanding ?? '?'}, available ${v.available ?? '?'}/${v.size ?? '?'}`).join('; ')}`;
  }
  return null;
}

export function p2pSummary(lives: readonly (P2pState | null)[], end: P2pState): string {
  let p2p = 0;
  for (const s of lives) for (const p of s?.ports ?? []) p2p += p.p2pAllocations ?? 0;
  const via = (end.ports ?? []).map((p) => `port ${p.portId} via ${p.provider ?? '?'}`).join(', ');
  return `${p2p} staging allocations in p2pmem (${via}), 0 fallbacks, pools full after disconnect`;
}
