/** Emulated PCIe fabric: topology model, parser, routing, lspci-style rendering. */
export { parseBdf, formatBdf, formatSlot, normalizeBdf, bdfOrder, type Bdf } from './bdf.js';
export { ACS_FLAGS, ACS_REDIRECT_MASK, acsNames, hasAcsRedirect, type AcsFlagName } from './acs.js';
export {
  pcieBandwidth, pciBusBandwidth, encodingEfficiency, describeLink, linkId, GT_PER_SEC, PCIE_GENS, PCIE_WIDTHS,
  type Link, type LinkKind, type PcieGen,
} from './link.js';
export {
  Bar, PciFunction, PciSwitch, HostBridge, isPciFunction, BRIDGE_ROLES,
  type PciRole, type EndpointKind, type BarType, type CmbConfig, type P2pmemConfig, type GenericDevice, type DeviceLike,
} from './model.js';
export { PciTopology, type CpuInfo, type CpuVendor, type CpuArch, type BootConfig, type BootLogLine } from './topology.js';
export {
  parseTopology, parseTopologyOrThrow, formatTopologyIssues, TopologyError, DEFAULT_MMIO_BASE, DEFAULT_DRAM_BANDWIDTH,
  type TopologyIssue, type TopologyParseResult,
} from './parse-topology.js';
export { parseTopologyFile, loadTopologyFile, loadBuiltinTopology, builtinTopologyPath, BUILTIN_TOPOLOGIES, type BuiltinTopology } from './load.js';
export { route, limitingLink, routeBandwidth, describeRoute, commonUpstream, type Route, type RouteOptions, type Hop, type Direction, type RouteEnd } from './route.js';
export { renderTree, renderAcs, describeFunction, describeAcs, type RenderOptions } from './lspci.js';
export { cpuSupportsP2pdma, describeCpu, parseCpu, parseBootConfig, applyBootAcs } from './boot.js';
export { parseSize, parseAddress, formatSize, hexAddr } from './units.js';
