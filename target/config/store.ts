/**
 * The running configuration as a set of entities with indexes, so that one
 * management-API change costs time proportional to the change, not to the
 * configuration (issue 10 part 3).
 *
 * A whole document (start-up, PUT /api/state) is parsed by parseConfig as before.
 * After that, an API call describes its change as a ConfigEdit: the entities it
 * puts (parsed on their own by the per-entity parsers, so every field is checked
 * exactly as in a whole document) and the ones it removes. The edit's references
 * are checked against indexes kept here (which subsystems allow a host, which
 * ports link a subsystem, which port listens where) instead of re-reading every
 * object, and only when the live target has taken the change is it committed.
 *
 * Entities are never changed in place: an edit makes new objects, so the NvmetConfig
 * handed out by `document` and every resolved form (ResolveCache) stay valid for the
 * objects they were made from. `document` builds the whole NvmetConfig on demand
 * (GET of the whole state, save) and keeps it until the next commit.
 *
 * Messages and paths are the whole-document parser's: an error inside the edited
 * object names the request's field (`body.attr.serial`), an error about another
 * object names its place in the document (`ports[2].subsystems[0]`) — finding that
 * place is the one O(configuration) step, and it runs only on the refusal path.
 */
import { pathIndex, pathKey, type ConfigError } from './issues.js';
import { parseHostJson, parsePortJson, parseSubsystemJson, type EntityResult, type ParseOptions } from './parse.js';
import { pciTopologyValidator } from './pci-topology.js';
import {
  duplicateHostNqn,
  duplicatePortid,
  duplicateSubsystemNqn,
  hostNotDefined,
  listenClash,
  listenKey,
  subsystemNotDefined,
} from './references.js';
import { ResolveCache } from './resolve.js';
import { checkPortPlacement, checkSubsystemPlacement, topologyFacts, type TopologyFacts } from './topology.js';
import type { HostConfig, NvmetConfig, PortConfig, SubsystemConfig } from './types.js';
import { IssueSink } from './issues.js';
import { configWork } from './work.js';

/**
 * Where the fields of an edited entity are reported: `label` stands for the entity
 * (or, with `inner`, for the part of it at that path, e.g. ".namespaces[3]" for the
 * namespace a request adds). Without it, errors carry document paths.
 */
export interface EntityLabel {
  label: string;
  inner?: string;
}

type Kind = 'hosts' | 'subsystems' | 'ports';

/** Marks "the edited entity" in a path until the error is rendered. */
const HERE = '\u0000';

export interface StoreOptions {
  /** Directory relative backing paths resolve against. */
  baseDir: string;
  /** Options for parsing edited entities (and the topology validator for placement checks). */
  parse?: ParseOptions;
}

export class ConfigStore {
  private readonly hostMap = new Map<string, HostConfig>();
  private readonly subsystemMap = new Map<string, SubsystemConfig>();
  private readonly portMap = new Map<number, PortConfig>();
  /** host NQN → NQNs of the subsystems whose allowed_hosts list it. */
  private readonly allowedBy = new Map<string, Set<string>>();
  /** subsystem NQN → portids of the ports linking it. */
  private readonly linkedBy = new Map<string, Set<number>>();
  /** listenKey → the port binding that address. */
  private readonly listening = new Map<string, number>();
  private readonly rest: Pick<NvmetConfig, 'topology' | 'faults' | 'extra'>;
  private doc: NvmetConfig | undefined;
  private facts: TopologyFacts | undefined | null = null;
  /** Resolved forms of the entities, by identity. */
  readonly resolved: ResolveCache;

  constructor(
    config: NvmetConfig,
    readonly opts: StoreOptions,
  ) {
    this.resolved = new ResolveCache(opts.baseDir);
    for (const h of config.hosts) this.hostMap.set(h.nqn, h);
    for (const s of config.subsystems) this.indexSubsystem(s);
    for (const p of config.ports) this.indexPort(p);
    this.rest = {};
    if (config.topology !== undefined) this.rest.topology = config.topology;
    if (config.faults !== undefined) this.rest.faults = config.faults;
    if (config.extra !== undefined) this.rest.extra = config.extra;
    this.doc = config;
  }

  // ------------------------------------------------------------ reading

  /** The whole document (built on first use after a change: O(configuration)). Read-only. */
  get document(): NvmetConfig {
    if (this.doc === undefined) {
      configWork.materialized += this.hostMap.size + this.subsystemMap.size + this.portMap.size;
      this.doc = { hosts: [...this.hostMap.values()], ports: [...this.portMap.values()], subsystems: [...this.subsystemMap.values()], ...this.rest };
    }
    return this.doc;
  }

  get topology(): NvmetConfig['topology'] {
    return this.rest.topology;
  }

  host(nqn: string): HostConfig | undefined {
    return this.hostMap.get(nqn);
  }

  subsystem(nqn: string): SubsystemConfig | undefined {
    return this.subsystemMap.get(nqn);
  }

  port(portid: number): PortConfig | undefined {
    return this.portMap.get(portid);
  }

  get counts(): { hosts: number; subsystems: number; ports: number } {
    return { hosts: this.hostMap.size, subsystems: this.subsystemMap.size, ports: this.portMap.size };
  }

  /** NQNs of the subsystems whose allowed_hosts name `hostnqn`, in no particular order. */
  subsystemsAllowing(hostnqn: string): string[] {
    return [...(this.allowedBy.get(hostnqn) ?? [])];
  }

  /** Portids of the ports linking subsystem `nqn`, ascending. */
  portsLinking(nqn: string): number[] {
    return [...(this.linkedBy.get(nqn) ?? [])].sort((a, b) => a - b);
  }

  /** Keys of one collection in document order. */
  keys(kind: 'hosts' | 'subsystems'): IterableIterator<string>;
  keys(kind: 'ports'): IterableIterator<number>;
  keys(kind: Kind): IterableIterator<string | number> {
    return kind === 'hosts' ? this.hostMap.keys() : kind === 'subsystems' ? this.subsystemMap.keys() : this.portMap.keys();
  }

  /** The topology's facts for placement checks (the topology cannot change through an edit). */
  topologyFacts(): TopologyFacts | undefined {
    if (this.facts === null) {
      const v = this.opts.parse?.topologyValidator;
      this.facts = topologyFacts(this.rest, v === false ? undefined : (v ?? pciTopologyValidator), this.opts.parse?.topologyDocument);
    }
    return this.facts;
  }

  // ------------------------------------------------------------ changing

  /** Start describing a change; nothing happens until `commit`. */
  edit(): ConfigEdit {
    return new ConfigEdit(this);
  }

  /** Make an edit (checked, and taken by the live target) the running configuration. */
  commit(edit: ConfigEdit): void {
    for (const [nqn, h] of edit.hosts) {
      if (h === null) this.hostMap.delete(nqn);
      else this.hostMap.set(nqn, h);
    }
    for (const [nqn, s] of edit.subsystems) {
      this.unindexSubsystem(nqn);
      if (s !== null) this.indexSubsystem(s);
      else this.subsystemMap.delete(nqn);
    }
    for (const [portid, p] of edit.ports) {
      const delta = edit.linkDelta(portid);
      if (delta !== undefined && p !== null) {
        // Only links changed: index just those (a port may link thousands of subsystems).
        for (const nqn of delta.remove) removeFrom(this.linkedBy, nqn, portid);
        for (const nqn of delta.add) addTo(this.linkedBy, nqn, portid);
        this.portMap.set(portid, p);
        continue;
      }
      this.unindexPort(portid);
      if (p !== null) this.indexPort(p);
      else this.portMap.delete(portid);
    }
    this.doc = undefined;
  }

  private indexSubsystem(s: SubsystemConfig): void {
    this.subsystemMap.set(s.nqn, s);
    for (const h of s.allowedHosts) addTo(this.allowedBy, h, s.nqn);
  }

  private unindexSubsystem(nqn: string): void {
    const old = this.subsystemMap.get(nqn);
    if (old === undefined) return;
    for (const h of old.allowedHosts) removeFrom(this.allowedBy, h, nqn);
    // Deleting and re-setting would move it to the end: a changed subsystem keeps its place.
  }

  private indexPort(p: PortConfig): void {
    this.portMap.set(p.portid, p);
    for (const nqn of p.subsystems) addTo(this.linkedBy, nqn, p.portid);
    const k = listenKey(p);
    if (k !== undefined) this.listening.set(k, p.portid);
  }

  private unindexPort(portid: number): void {
    const old = this.portMap.get(portid);
    if (old === undefined) return;
    for (const nqn of old.subsystems) removeFrom(this.linkedBy, nqn, portid);
    const k = listenKey(old);
    if (k !== undefined && this.listening.get(k) === portid) this.listening.delete(k);
  }

  /** @internal the port listening on `key`. */
  listener(key: string): number | undefined {
    return this.listening.get(key);
  }

  /** @internal ports linking / subsystems allowing, as stored (no copy). */
  linkers(nqn: string): ReadonlySet<number> | undefined {
    return this.linkedBy.get(nqn);
  }
  allowers(hostnqn: string): ReadonlySet<string> | undefined {
    return this.allowedBy.get(hostnqn);
  }
}

/** The key an entity's JSON names (before it is parsed): nqn, or portid as a number. */
function keyOf(json: unknown, field: 'nqn' | 'portid'): string | number | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const v = (json as Record<string, unknown>)[field];
  if (field === 'nqn') return typeof v === 'string' ? v : undefined;
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/**
 * One change: entities put (new or replacing the one with the same key) and removed
 * (null). Reads see the change (`subsystem(nqn)` answers with the edited one).
 */
export class ConfigEdit {
  readonly hosts = new Map<string, HostConfig | null>();
  readonly subsystems = new Map<string, SubsystemConfig | null>();
  readonly ports = new Map<number, PortConfig | null>();
  private readonly labels = new Map<string, EntityLabel | undefined>();
  /** Ports whose only change is links added/removed through link()/unlink(). */
  private readonly links = new Map<number, { add: Set<string>; remove: Set<string> }>();
  private readonly created = new Set<string>();
  private readonly parseErrors: ConfigError[] = [];

  constructor(readonly store: ConfigStore) {}

  // ------------------------------------------------------------ reading through the edit

  host(nqn: string): HostConfig | undefined {
    const e = this.hosts.get(nqn);
    return e === null ? undefined : (e ?? this.store.host(nqn));
  }

  subsystem(nqn: string): SubsystemConfig | undefined {
    const e = this.subsystems.get(nqn);
    return e === null ? undefined : (e ?? this.store.subsystem(nqn));
  }

  port(portid: number): PortConfig | undefined {
    const e = this.ports.get(portid);
    return e === null ? undefined : (e ?? this.store.port(portid));
  }

  /** Whether nothing changes (and nothing was refused). */
  get empty(): boolean {
    return this.hosts.size + this.subsystems.size + this.ports.size === 0 && this.parseErrors.length === 0;
  }

  // ------------------------------------------------------------ describing the change

  /**
   * Put a host given as nvmetcli JSON, parsed like `hosts[i]` of a document. `create`:
   * it must not exist yet. Returns the parsed host, or undefined (errors kept for `check`).
   */
  putHostJson(json: unknown, opts: { at?: EntityLabel; create?: boolean } = {}): HostConfig | undefined {
    const h = this.parsed('hosts', parseHostJson(json, this.store.opts.parse, HERE), opts.at, keyOf(json, 'nqn'));
    if (h !== undefined) this.putHost(h, opts);
    return h;
  }

  putSubsystemJson(json: unknown, opts: { at?: EntityLabel; create?: boolean } = {}): SubsystemConfig | undefined {
    const s = this.parsed('subsystems', parseSubsystemJson(json, this.store.opts.parse, HERE), opts.at, keyOf(json, 'nqn'));
    if (s !== undefined) this.putSubsystem(s, opts);
    return s;
  }

  putPortJson(json: unknown, opts: { at?: EntityLabel; create?: boolean } = {}): PortConfig | undefined {
    const p = this.parsed('ports', parsePortJson(json, this.store.opts.parse, HERE), opts.at, keyOf(json, 'portid'));
    if (p !== undefined) this.putPort(p, opts);
    return p;
  }

  /** Put an already valid host (e.g. one derived from the current one). */
  putHost(h: HostConfig, opts: { at?: EntityLabel; create?: boolean } = {}): void {
    this.note('hosts', h.nqn, opts);
    this.hosts.set(h.nqn, h);
  }

  putSubsystem(s: SubsystemConfig, opts: { at?: EntityLabel; create?: boolean } = {}): void {
    this.note('subsystems', s.nqn, opts);
    this.subsystems.set(s.nqn, s);
  }

  putPort(p: PortConfig, opts: { at?: EntityLabel; create?: boolean } = {}): void {
    this.note('ports', p.portid, opts);
    this.ports.set(p.portid, p);
    this.links.delete(p.portid);
  }

  /**
   * Link subsystem `nqn` to an existing port (configfs ports/N/subsystems symlink).
   * Costs O(1) checks however many subsystems the port already links.
   */
  link(portid: number, nqn: string, opts: { at?: EntityLabel } = {}): void {
    this.relink(portid, nqn, true, opts);
  }

  /** Unlink subsystem `nqn` from a port. */
  unlink(portid: number, nqn: string, opts: { at?: EntityLabel } = {}): void {
    this.relink(portid, nqn, false, opts);
  }

  private relink(portid: number, nqn: string, on: boolean, opts: { at?: EntityLabel }): void {
    const cur = this.port(portid);
    if (cur === undefined) throw new Error(`port ${portid} does not exist`);
    const linked = cur.subsystems.includes(nqn);
    if (linked === on) return;
    const onlyLinks = this.links.get(portid) ?? (this.ports.has(portid) ? undefined : { add: new Set<string>(), remove: new Set<string>() });
    const next: PortConfig = { ...cur, subsystems: on ? [...cur.subsystems, nqn] : cur.subsystems.filter((x) => x !== nqn) };
    this.note('ports', portid, opts);
    this.ports.set(portid, next);
    if (onlyLinks === undefined) return;
    if (on) {
      if (!onlyLinks.remove.delete(nqn)) onlyLinks.add.add(nqn);
    } else if (!onlyLinks.add.delete(nqn)) onlyLinks.remove.add(nqn);
    this.links.set(portid, onlyLinks);
  }

  /** The links added and removed, when they are a port's only change. */
  linkDelta(portid: number): { readonly add: ReadonlySet<string>; readonly remove: ReadonlySet<string> } | undefined {
    return this.links.get(portid);
  }

  removeHost(nqn: string): void {
    this.hosts.set(nqn, null);
  }

  removeSubsystem(nqn: string): void {
    this.subsystems.set(nqn, null);
  }

  removePort(portid: number): void {
    this.ports.set(portid, null);
  }

  private note(kind: Kind, key: string | number, opts: { at?: EntityLabel; create?: boolean }): void {
    const id = `${kind}\u0000${String(key)}`;
    if (opts.at !== undefined || !this.labels.has(id)) this.labels.set(id, opts.at);
    if (opts.create === true) this.created.add(id);
  }

  private parsed<T>(kind: Kind, r: EntityResult<T>, at: EntityLabel | undefined, key: string | number | undefined): T | undefined {
    if (r.ok) return r.value;
    // An entity replacing a stored one sits where that one is; a new one is appended.
    const docPath = (): string => pathIndex(kind, key !== undefined && this.existed(kind, key) ? this.position(kind, key) : this.sizeAfter(kind));
    for (const e of r.errors) this.parseErrors.push({ path: this.render(e.path, at, docPath), message: e.message });
    return undefined;
  }

  // ------------------------------------------------------------ checking

  /**
   * Every problem of the edited configuration, as parseConfig would report it for
   * the whole document: what the edited objects say themselves first, references
   * only when those are clean. Costs O(edited entities + what references them).
   */
  check(): ConfigError[] {
    if (this.parseErrors.length > 0) return [...this.parseErrors];
    const sink = new IssueSink(this.store.opts.parse?.maxIssues ?? 200);
    const facts = this.store.topologyFacts();
    const out: ConfigError[] = [];
    const emit = (kind: Kind, key: string | number, path: string, message: string): void => {
      out.push({ path: this.render(path, this.labels.get(`${kind}\u0000${String(key)}`), () => pathIndex(kind, this.position(kind, key))), message });
    };
    const other = (kind: Kind, key: string | number, rest: (base: string) => string, message: string): void => {
      out.push({ path: rest(pathIndex(kind, this.position(kind, key))), message });
    };

    // Duplicates: only an entity that claims to be new can clash with an existing key.
    for (const [kind, map] of [['hosts', this.hosts], ['subsystems', this.subsystems], ['ports', this.ports]] as const) {
      for (const [key, v] of map as Map<string | number, unknown>) {
        configWork.checked++;
        if (v === null || !this.created.has(`${kind}\u0000${String(key)}`) || !this.existed(kind, key)) continue;
        const j = this.position(kind, key);
        const field = kind === 'ports' ? 'portid' : 'nqn';
        const msg = kind === 'hosts' ? duplicateHostNqn(j) : kind === 'subsystems' ? duplicateSubsystemNqn(j) : duplicatePortid(key as number, j);
        out.push({ path: this.render(pathKey(HERE, field), this.labels.get(`${kind}\u0000${String(key)}`), () => pathIndex(kind, this.sizeAfter(kind))), message: msg });
      }
    }
    if (out.length > 0) return out;

    // allowed_hosts → hosts.
    for (const [nqn, s] of this.subsystems) {
      if (s === null) continue;
      s.allowedHosts.forEach((h, k) => {
        if (this.host(h) === undefined) emit('subsystems', nqn, pathIndex(pathKey(HERE, 'allowed_hosts'), k), hostNotDefined(h));
      });
    }
    for (const [h, v] of this.hosts) {
      if (v !== null) continue;
      for (const nqn of this.store.allowers(h) ?? []) {
        if (this.subsystems.has(nqn)) continue; // an edited subsystem was checked above
        configWork.checked++;
        const s = this.store.subsystem(nqn)!;
        other('subsystems', nqn, (b) => pathIndex(pathKey(b, 'allowed_hosts'), s.allowedHosts.indexOf(h)), hostNotDefined(h));
      }
    }

    // ports' subsystem links → subsystems.
    for (const [portid, p] of this.ports) {
      if (p === null) continue;
      const delta = this.links.get(portid);
      if (delta !== undefined) {
        for (const nqn of delta.add) {
          if (this.subsystem(nqn) === undefined) emit('ports', portid, pathIndex(pathKey(HERE, 'subsystems'), p.subsystems.indexOf(nqn)), subsystemNotDefined(nqn));
        }
        continue;
      }
      p.subsystems.forEach((nqn, k) => {
        if (this.subsystem(nqn) === undefined) emit('ports', portid, pathIndex(pathKey(HERE, 'subsystems'), k), subsystemNotDefined(nqn));
      });
    }
    for (const [nqn, v] of this.subsystems) {
      if (v !== null) continue;
      for (const portid of this.store.linkers(nqn) ?? []) {
        if (this.ports.has(portid)) continue;
        configWork.checked++;
        const p = this.store.port(portid)!;
        other('ports', portid, (b) => pathIndex(pathKey(b, 'subsystems'), p.subsystems.indexOf(nqn)), subsystemNotDefined(nqn));
      }
    }

    // Listen addresses: reported at the later of the two ports, like the whole-document pass.
    for (const [portid, p] of this.ports) {
      if (p === null || this.links.has(portid)) continue;
      const key = listenKey(p);
      if (key === undefined) continue;
      const clash = this.listenerOf(key, portid);
      if (clash === undefined) continue;
      const mine = this.position('ports', portid);
      const theirs = this.position('ports', clash);
      if (mine > theirs) emit('ports', portid, pathKey(HERE, 'addr'), listenClash(theirs, key));
      else if (!this.ports.has(clash)) other('ports', clash, (b) => pathKey(b, 'addr'), listenClash(mine, key));
    }

    // Placement in the PCIe topology.
    if (facts !== undefined) {
      for (const [portid, p] of this.ports) {
        if (p === null || this.links.has(portid)) continue;
        checkPortPlacement(facts, p, HERE, sink);
        for (const e of sink.errors.splice(0)) emit('ports', portid, e.path, e.message);
      }
      for (const [nqn, s] of this.subsystems) {
        if (s === null) continue;
        checkSubsystemPlacement(facts, s, HERE, sink);
        for (const e of sink.errors.splice(0)) emit('subsystems', nqn, e.path, e.message);
      }
    }
    return out;
  }

  /** Where an entity sits in the edited document ("ports[2]"), for messages. O(configuration): refusals only. */
  pathOf(kind: Kind, key: string | number): string {
    return pathIndex(kind, this.position(kind, key));
  }

  /** Another port of the edited configuration that listens on `key`. */
  private listenerOf(key: string, self: number): number | undefined {
    for (const [portid, p] of this.ports) if (portid !== self && p !== null && listenKey(p) === key) return portid;
    const stored = this.store.listener(key);
    if (stored === undefined || stored === self || this.ports.has(stored)) return undefined;
    return stored;
  }

  private existed(kind: Kind, key: string | number): boolean {
    return kind === 'hosts' ? this.store.host(key as string) !== undefined : kind === 'subsystems' ? this.store.subsystem(key as string) !== undefined : this.store.port(key as number) !== undefined;
  }

  /** Number of entities of `kind` the store holds once the edit's removals are applied. O(configuration): refusals only. */
  private sizeAfter(kind: Kind): number {
    let n = 0;
    for (const k of this.store.keys(kind as 'hosts')) if (this.mapOf(kind).get(k) !== null) n++;
    return n;
  }

  private mapOf(kind: Kind): Map<string | number, unknown> {
    return (kind === 'hosts' ? this.hosts : kind === 'subsystems' ? this.subsystems : this.ports) as Map<string | number, unknown>;
  }

  /**
   * Index of `key` in the edited document: stored entities keep their place, new
   * ones follow in the order they were put. O(configuration): refusals only.
   */
  private position(kind: Kind, key: string | number): number {
    const edits = this.mapOf(kind);
    let i = 0;
    for (const k of this.store.keys(kind as 'hosts')) {
      if (k === key) return i;
      if (edits.get(k) !== null) i++;
    }
    for (const [k, v] of edits) {
      if (v === null || this.existed(kind, k)) continue;
      if (k === key) return i;
      i++;
    }
    return i;
  }

  /** A path under HERE → the request's label (EntityLabel) or the document path. */
  private render(path: string, at: EntityLabel | undefined, docPath: () => string): string {
    if (!path.startsWith(HERE)) return path;
    const rest = path.slice(HERE.length);
    if (at !== undefined) {
      const inner = at.inner ?? '';
      const after = rest.slice(inner.length);
      if (rest.startsWith(inner) && (after === '' || after[0] === '.' || after[0] === '[')) return at.label + after;
    }
    return docPath() + rest;
  }
}
