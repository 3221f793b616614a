/**
 * Log page and feature identifiers the initiator uses by name. Temporary home
 * until src/nvme grows its log-page/feature codecs; then these re-export those.
 */
export const LogPageId = {
  Error: 0x01,
  Smart: 0x02,
  FirmwareSlot: 0x03,
  ChangedNsList: 0x04,
  CommandsSupported: 0x05,
  Discovery: 0x70,
} as const;

export const FeatureId = {
  Arbitration: 0x01,
  PowerManagement: 0x02,
  TemperatureThreshold: 0x04,
  VolatileWriteCache: 0x06,
  NumberOfQueues: 0x07,
  InterruptCoalescing: 0x08,
  AsyncEventConfig: 0x0b,
  KeepAliveTimer: 0x0f,
  HostIdentifier: 0x81,
} as const;
