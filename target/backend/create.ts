import type { BackendSpec, NamespaceBackend } from './backend.js';
import { RamBackend } from './ram.js';
import { FileBackend } from './file.js';

/** Build a backend from its configuration. */
export function createBackend(spec: BackendSpec): NamespaceBackend {
  switch (spec.kind) {
    case 'ram':
      return new RamBackend(spec.size, spec.chunkSize);
    case 'file':
      return new FileBackend(spec.path, spec.size, spec.open);
  }
}

/** True if `b` is a backend object rather than a spec. */
export function isBackend(b: BackendSpec | NamespaceBackend): b is NamespaceBackend {
  return typeof (b as NamespaceBackend).read === 'function';
}
