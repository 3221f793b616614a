/** p2pdma: provider pools, client lists and distance policies over an emulated PCIe fabric. */
export { P2pError, ERRNO, unwrap, ok, fail, type P2pErrorCode, type Result } from './errors.js';
export { GenPool, type PoolAllocation, type PoolChunk } from './genpool.js';
export {
  P2P_POLICIES, P2P_POLICY_ALIASES, P2P_POLICY_NAMES, DEFAULT_POLICY, DISTANCE_INCOMPATIBLE, PCI_P2PDMA_WHITELIST,
  pairDistance, listDistance, upstreamBridgePort, isP2pPolicy, canonicalPolicy,
  type P2pPolicyId, type P2pPolicyAlias, type P2pPolicy, type PairVerdict, type ListVerdict, type MapType, type RefusalCode,
  type KernelLogLine, type PolicyEnv, type DistanceOptions,
} from './policy.js';
export { P2pClientList, type ClientEntry } from './client-list.js';
export { P2pMemRegion, type P2pSgl } from './region.js';
export {
  P2pdma, publishesAtProbe, publishNote, providerKind, PAGE_SIZE, PAGE_SHIFT, MAX_FIND_TIES, MAX_SGL_LENGTH,
  type DeviceRef, type P2pdmaOptions, type P2pmemStats, type ProviderCandidate, type FindExplanation,
} from './p2pdma.js';
export { formatFindExplanation, findExplanationLines, summarizeFind } from './explain.js';
export type { GenericDevice, DeviceLike } from '../pci/model.js';
