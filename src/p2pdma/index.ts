/** p2pdma: provider pools, client lists and distance policies over an emulated PCIe fabric. */
export { P2pError, ERRNO, unwrap, ok, fail, type P2pErrorCode, type Result } from './errors.js';
export { GenPool, type PoolAllocation, type PoolChunk } from './genpool.js';
export {
  P2P_POLICIES, DEFAULT_POLICY, HOST_BRIDGE_PENALTY, DISTANCE_INCOMPATIBLE, DISTANCE_ACS_REDIRECT,
  pairDistance, listDistance, upstreamBridgePort, isP2pPolicy,
  type P2pPolicy, type PairVerdict, type ListVerdict,
} from './policy.js';
export { P2pClientList, type ClientEntry } from './client-list.js';
export { P2pMemRegion, type P2pSgl } from './region.js';
export {
  P2pdma, publishesAtProbe, publishNote, providerKind, PAGE_SIZE, PAGE_SHIFT, MAX_FIND_TIES, MAX_SGL_LENGTH,
  type DeviceRef, type P2pdmaOptions, type P2pmemStats, type ProviderCandidate, type FindExplanation,
} from './p2pdma.js';
export { formatFindExplanation, findExplanationLines, summarizeFind } from './explain.js';
export type { GenericDevice, DeviceLike } from '../pci/model.js';
