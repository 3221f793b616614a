/** The running document written to a file (POST /api/save, --save). */

import { isAbsolute, relative, resolve as resolvePath } from 'node:path';
import type { NvmetConfig } from '../config/index.js';

/**
 * The document as seen from another directory: relative backing-file and topology
 * paths are rewritten so they still name the same files (unchanged when the
 * directory is the same, so saving next to the loaded file is byte-identical).
 */
export function relocate(doc: NvmetConfig, fromDir: string, toDir: string): NvmetConfig {
  if (resolvePath(fromDir) === resolvePath(toDir)) return doc;
  const move = (p: string): string => (isAbsolute(p) ? p : relative(toDir, resolvePath(fromDir, p)) || '.');
  const isFile = (p: string | undefined): p is string => p !== undefined && p !== '' && p !== '(null)' && !p.startsWith('ram:');
  return {
    ...doc,
    subsystems: doc.subsystems.map((s) => ({
      ...s,
      namespaces: s.namespaces.map((ns) => (isFile(ns.device.path) ? { ...ns, device: { ...ns.device, path: move(ns.device.path) } } : ns)),
    })),
    ...(doc.topology?.kind === 'file' ? { topology: { kind: 'file' as const, path: move(doc.topology.path) } } : {}),
  };
}
