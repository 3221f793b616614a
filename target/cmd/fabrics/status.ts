/** Fabrics command-specific status codes not (yet) in src/nvme/status.ts. */
export const FabricsStatus = {
  /** The command was submitted on the wrong type of queue (e.g. Disconnect on the admin queue). */
  InvalidQueueType: 0x185,
} as const;
