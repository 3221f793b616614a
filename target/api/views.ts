/**
 * Response objects: the nvmetcli JSON of a subsystem / namespace / port (what a
 * POST takes) plus a `live` object with what the running target says about it —
 * states, bound addresses, controllers, counters, the p2pmem decision.
 */

import type { JsonObject } from '../config/json.js';
import type { NvmetService } from '../service/index.js';
import { trtypeName } from '../service/index.js';

export function namespaceView(svc: NvmetService, nqn: string, ns: JsonObject): JsonObject {
  const n = svc.subsystem(nqn)?.getNamespace(Number(ns['nsid']));
  const live: JsonObject =
    n === undefined
      ? { state: 'absent' }
      : {
          state: n.state,
          backend: n.backend.kind,
          size: n.size,
          block_size: n.blockSize,
          inflight: n.inflightCommands,
          stats: {
            read_commands: n.stats.readCommands,
            write_commands: n.stats.writeCommands,
            bytes_read: n.stats.bytesRead,
            bytes_written: n.stats.bytesWritten,
          },
        };
  return { ...ns, live };
}

export function subsystemView(svc: NvmetService, s: JsonObject): JsonObject {
  const nqn = String(s['nqn']);
  const sub = svc.subsystem(nqn);
  const namespaces = Array.isArray(s['namespaces']) ? (s['namespaces'] as JsonObject[]) : [];
  return {
    ...s,
    namespaces: namespaces.map((ns) => namespaceView(svc, nqn, ns)),
    live: {
      serial: sub?.serial ?? null,
      controllers: (sub?.controllers ?? []).map((c) => ({ cntlid: c.cntlid, hostnqn: c.hostnqn, port: c.port.id })),
      ports: svc.store.portsLinking(nqn),
    },
  };
}

export function portView(svc: NvmetService, p: JsonObject): JsonObject {
  const portid = Number(p['portid']);
  const port = svc.port(portid);
  const d = svc.portP2p(portid);
  let controllers = 0;
  for (const s of svc.nvmet.allSubsystems()) controllers += s.controllers.filter((c) => c.port.id === portid).length;
  return {
    ...p,
    live: {
      state: port?.state ?? 'not created',
      /** A port listens while at least one subsystem is linked (Linux configfs); `why` says why not. */
      ...svc.portListening(portid),
      trtype: port ? trtypeName(port.addr.trtype) : null,
      traddr: port?.addr.traddr ?? null,
      /** The bound service id (an ephemeral "0" becomes the real port). */
      trsvcid: port?.addr.trsvcid ?? null,
      controllers,
      connections: port?.addr.trtype === svc.tcp.trtype ? svc.tcp.connections(portid) : 0,
      p2pmem: {
        allow_p2pmem: d.allowP2pmem,
        provider: d.provider,
        staging: d.staging,
        why: d.why,
        fallbacks: svc.hooks.fallbacks?.(portid) ?? 0,
      },
    },
  };
}
