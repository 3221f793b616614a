/**
 * Where bench results go: the machine they were measured on (so a number is
 * never separated from its context) and the files under bench/results/.
 */

import { mkdir, rename, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  readonly osRelease: string;
  readonly cpuModel: string;
  readonly cpus: number;
  /** What Node may actually use (cgroup/affinity limits), when it says. */
  readonly availableParallelism: number;
  readonly totalMemBytes: number;
  readonly hostname: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    availableParallelism: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    totalMemBytes: os.totalmem(),
    hostname: os.hostname(),
  };
}

/** One line for a report header: "Node v20.20.2 on linux x64, 2 × Intel(R) Xeon(R) …, 7.8 GiB". */
export function describeMachine(m: MachineInfo): string {
  const gib = (m.totalMemBytes / 2 ** 30).toFixed(1);
  return `Node ${m.node} on ${m.platform} ${m.arch} (${m.osRelease}), ${m.cpus} × ${m.cpuModel}, ${gib} GiB RAM`;
}

/** Write a file atomically (temp + rename) so a reader never sees half a report. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Write `files` (name → content) into `dir`, creating it; returns the paths written. */
export async function writeResultFiles(dir: string, files: Readonly<Record<string, string>>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    if (name.includes('/') || name.includes('\\') || name === '' || name.startsWith('.')) throw new RangeError(`bad result file name "${name}"`);
    const p = join(dir, name);
    await writeAtomic(p, data);
    out.push(p);
  }
  return out;
}
