/**
 * A namespace of a subsystem (Linux struct nvmet_ns). Created disabled; `enable()`
 * opens the backend and makes it visible to hosts, `disable()` hides it, waits for
 * commands in flight, and closes the backend. Both raise a Namespace Attribute
 * Changed event (and Changed NS log entry) on every controller of the subsystem.
 *
 * States: disabled ──enable()──▶ enabling ──▶ enabled ──disable()──▶ disabling ──▶ disabled
 */

import { bumpStateEpoch } from './state-epoch.js';
import { randomUUID } from 'node:crypto';
import type { Subsystem } from './subsystem.js';
import type { BackendSpec, NamespaceBackend } from '../backend/backend.js';
import { createBackend, isBackend } from '../backend/create.js';
import { uuidToBytes, bytesToUuid } from '../../src/nvme/fabrics.js';
import { checkAnaGrpid, NVMET_DEFAULT_ANA_GRPID } from './ana.js';
import { NamespaceReservations, assertNoForeignOwner, plainPathEnabled } from './ns-reservations.js';

export type NamespaceState = 'disabled' | 'enabling' | 'enabled' | 'disabling';

export interface NamespaceOptions {
  /** 1..subsystem max namespaces. */
  nsid: number;
  backend: BackendSpec | NamespaceBackend;
  /** Logical block size: 512 or 4096 (default 512). */
  blockSize?: 512 | 4096;
  /** UUID string; generated when omitted (as Linux does). */
  uuid?: string;
  /** NGUID, 32 hex digits; zero (not reported) when omitted. */
  nguid?: string;
  /** EUI-64, 16 hex digits; zero (not reported) when omitted. */
  eui64?: string;
  /** ANA group (configfs namespaces/N/ana_grpid), 1..128; default 1. */
  anaGrpid?: number;
  /** Persistent reservations (configfs namespaces/N/resv_enable); default off. */
  resv?: boolean;
  /**
   * Backing file the reservation state (PTPL) and its single-owner lock live
   * beside; defaults to the path of a `{ kind: 'file' }` backend spec.
   */
  resvFile?: string;
}

/** Per-namespace I/O counters (SMART / Health log). */
export interface NamespaceStats {
  readCommands: number;
  writeCommands: number;
  bytesRead: number;
  bytesWritten: number;
}

function hexBytes(s: string, n: number, what: string): Uint8Array {
  const hex = s.replace(/[-:]/g, '');
  if (hex.length !== n * 2 || !/^[0-9a-fA-F]+$/.test(hex)) throw new RangeError(`${what} must be ${n * 2} hex digits, got "${s}"`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export class Namespace {
  readonly nsid: number;
  readonly blockSize: 512 | 4096;
  /** log2(blockSize) (Identify LBADS). */
  readonly blockShift: number;
  readonly uuid: Uint8Array;
  readonly nguid: Uint8Array;
  readonly eui64: Uint8Array;
  readonly backend: NamespaceBackend;
  readonly stats: NamespaceStats = { readCommands: 0, writeCommands: 0, bytesRead: 0, bytesWritten: 0 };
  state: NamespaceState = 'disabled';
  /** Reservations (Linux ns->pr), null unless enabled for this namespace. */
  readonly pr: NamespaceReservations | null;
  private grpid: number;

  private inflight = 0;
  private drained: (() => void) | null = null;
  private transition: Promise<void> | null = null;
  /** Backing file of a namespace without reservations (checked against another owner's, see ns-reservations.ts). */
  private readonly sharedFile: string | null;
  /** Undoes this plain namespace's entry in the in-process registry (ns-reservations.ts) once disabled. */
  private plainPathDone: (() => void) | null = null;

  constructor(
    readonly subsys: Subsystem,
    opts: NamespaceOptions,
  ) {
    const bs = opts.blockSize ?? 512;
    if (bs !== 512 && bs !== 4096) throw new RangeError(`block size must be 512 or 4096, got ${String(bs)}`);
    this.nsid = opts.nsid;
    this.blockSize = bs;
    this.blockShift = bs === 512 ? 9 : 12;
    this.uuid = uuidToBytes(opts.uuid ?? randomUUID());
    this.nguid = opts.nguid === undefined ? new Uint8Array(16) : hexBytes(opts.nguid, 16, 'nguid');
    this.eui64 = opts.eui64 === undefined ? new Uint8Array(8) : hexBytes(opts.eui64, 8, 'eui64');
    this.backend = isBackend(opts.backend) ? opts.backend : createBackend(opts.backend);
    const resvFile = opts.resvFile ?? (!isBackend(opts.backend) && opts.backend.kind === 'file' ? opts.backend.path : null);
    this.pr = opts.resv === true ? new NamespaceReservations(resvFile) : null;
    this.sharedFile = opts.resv === true ? null : resvFile;
    this.grpid = checkAnaGrpid(opts.anaGrpid ?? NVMET_DEFAULT_ANA_GRPID);
    subsys.nvmet.ana.ref(this.grpid);
  }

  /** ANA group id (Identify Namespace ANAGRPID). */
  get anaGrpid(): number {
    return this.grpid;
  }

  /**
   * Move to another ANA group (nvmet_ns_ana_grpid_store): the new group is
   * enabled target-wide if it was not, the change count moves, and the
   * subsystem's controllers get an ANA change event.
   */
  setAnaGrpid(grpid: number): void {
    checkAnaGrpid(grpid);
    if (grpid === this.grpid) return;
    const ana = this.subsys.nvmet.ana;
    ana.ref(grpid);
    ana.unref(this.grpid);
    this.grpid = grpid;
    ana.bump();
    bumpStateEpoch();
    this.subsys.nvmet.anaChanged(null, this.subsys);
  }

  /** @internal The namespace left its subsystem: drop its ANA group reference. */
  released(): void {
    this.subsys.nvmet.ana.unref(this.grpid);
  }

  get enabled(): boolean {
    return this.state === 'enabled';
  }

  /** Usable size in bytes: the backend size rounded down to whole blocks (or the resized capacity). */
  get size(): number {
    return this.nsze * this.blockSize;
  }

  /** Namespace size in logical blocks (Identify NSZE). */
  get nsze(): number {
    const full = Math.floor(this.backend.size / this.blockSize);
    return this.capacityLimit === null ? full : Math.min(full, this.capacityLimit);
  }

  /** Blocks the namespace reports when resized below its backend (null: the backend's size). */
  private capacityLimit: number | null = null;

  /**
   * The device under the namespace changed size (nvmet_ns_revalidate): report
   * `blocks` (at most the backend's; null = the backend's), and when the size
   * changed tell the controllers (nvmet_ns_changed: Changed Namespace List + AEN).
   * Returns the new size in blocks.
   */
  resize(blocks: number | null): number {
    const before = this.nsze;
    this.capacityLimit = blocks;
    bumpStateEpoch();
    const after = this.nsze;
    if (after !== before && this.enabled) this.subsys.namespaceChanged(this.nsid);
    return after;
  }

  get uuidString(): string {
    return bytesToUuid(this.uuid);
  }

  /** Commands currently holding a reference. */
  get inflightCommands(): number {
    return this.inflight;
  }

  /** Take an in-flight reference for a command; false unless enabled (nvmet_req_find_ns). */
  tryGet(): boolean {
    if (this.state !== 'enabled') return false;
    this.inflight++;
    return true;
  }

  put(): void {
    this.inflight--;
    if (this.inflight === 0 && this.drained !== null) {
      const d = this.drained;
      this.drained = null;
      d();
    }
  }

  /** Open the backend and expose the namespace (nvmet_ns_enable). Idempotent. */
  async enable(): Promise<void> {
    while (this.transition !== null) await this.transition;
    if (this.state === 'enabled') return;
    this.subsys.assertCanEnable(this);
    this.state = 'enabling';
    this.transition = (async () => {
      try {
        await this.backend.open();
        if (this.backend.size < this.blockSize) throw Object.assign(new Error(`namespace ${this.nsid}: backend smaller than one block`), { code: 'EINVAL' });
        await this.pr?.open();
        if (this.sharedFile !== null) {
          await assertNoForeignOwner(this.sharedFile);
          this.plainPathDone = await plainPathEnabled(this.sharedFile);
        }
        await this.subsys.nvmet.enableHooks.namespaceEnabling?.(this);
        this.state = 'enabled';
        bumpStateEpoch();
        this.subsys.namespaceChanged(this.nsid);
      } catch (e) {
        this.state = 'disabled';
        this.plainPathDone?.();
        this.plainPathDone = null;
        await this.pr?.close().catch(() => {});
        await this.backend.close().catch(() => {});
        throw e;
      }
    })();
    try {
      await this.transition;
    } finally {
      this.transition = null;
    }
  }

  /** Hide the namespace, wait for commands in flight, close the backend (nvmet_ns_disable). Idempotent. */
  async disable(): Promise<void> {
    while (this.transition !== null) await this.transition;
    if (this.state !== 'enabled') return;
    this.state = 'disabling';
    bumpStateEpoch();
    this.transition = (async () => {
      if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.subsys.namespaceChanged(this.nsid);
      try {
        this.plainPathDone?.();
        this.plainPathDone = null;
        await this.pr?.close();
        await this.backend.close();
      } finally {
        this.state = 'disabled';
        this.subsys.nvmet.enableHooks.namespaceDisabled?.(this);
      }
    })();
    try {
      await this.transition;
    } finally {
      this.transition = null;
    }
  }

  describe(): string {
    return `ns ${this.nsid} (${this.backend.kind}, ${this.size} bytes, ${this.blockSize} B blocks, ${this.state})`;
  }
}
