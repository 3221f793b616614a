/**
 * nvmetcli-compatible configuration for nvmet-ts. See target/config/README.md.
 */
export type {
  AnaGroupConfig,
  Extras,
  HostConfig,
  NamespaceConfig,
  NamespaceDevice,
  NamespacePlacement,
  NvmetConfig,
  P2pmemSetting,
  PortAddr,
  PortConfig,
  PortParam,
  PortPlacement,
  ReferralAddr,
  ReferralConfig,
  SubsystemAttr,
  SubsystemConfig,
  TopologyRef,
} from './types.js';
export { formatIssue, type ConfigError, type ConfigIssue, type ConfigWarning } from './issues.js';
export {
  parseConfig,
  parseHostJson,
  parseNamespaceJson,
  parsePortJson,
  parseSubsystemJson,
  type EntityResult,
  type ParseOptions,
  type ParseResult,
} from './parse.js';
export { configToJson, hostToJson, namespaceToJson, portToJson, serializeConfig, subsystemToJson } from './serialize.js';
export { ConfigEdit, ConfigStore, type EntityLabel, type StoreOptions } from './store.js';
export { configWork, workSince, workSnapshot, type ConfigWork } from './work.js';
export {
  CONFIG_FILE_MAX_BYTES,
  ConfigValidationError,
  defaultConfigPath,
  loadConfigFile,
  packageRoot,
  rebaseConfigPaths,
  saveConfigFile,
  type SaveOptions,
  type LoadOptions,
  type LoadResult,
  type LoadedTopology,
} from './file.js';
export {
  DEFAULTS,
  defaultNamespaceUuid,
  defaultSerial,
  ResolveCache,
  resolveConfig,
  resolveHostDhchap,
  resolveHostTlsPsk,
  resolveNamespace,
  resolvePort,
  resolveSubsystem,
  type ResolvedConfig,
  type ResolvedHostDhchap,
  type ResolvedNamespace,
  type ResolvedPort,
  type ResolvedSubsystem,
} from './resolve.js';
export type { PciFunctionKind, TopologyCheck, TopologyDocument, TopologyFacts, TopologyValidator } from './topology.js';
export { pciTopologyValidator, publishesP2pmem } from './pci-topology.js';
export * from './validators.js';
export { dumpsPythonJson, type JsonObject, type JsonValue } from './json.js';
