import type { NamespaceBackend } from '../../target/backend/backend.js';

/** Reads fill their buffer with this byte when their gate opens. */
export const GATED_READ_BYTE = 0xab;

/** A backend whose I/O completes only when the test says so. */
export class GatedBackend implements NamespaceBackend {
  readonly kind = 'gated';
  readonly deallocatedReadsZeroes = true;
  readonly size = 1 << 20;
  gates: (() => void)[] = [];
  fail = false;
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  read(_off: number, dst: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.gates.push(() => (this.fail ? reject(new Error('EIO')) : (dst.fill(GATED_READ_BYTE), resolve()))));
  }
  write(): Promise<void> {
    return new Promise((resolve, reject) => this.gates.push(() => (this.fail ? reject(new Error('EIO')) : resolve())));
  }
  flush(): void {}
  writeZeroes(): void {}
  deallocate(): void {}
  allocatedBytes(): number {
    return 0;
  }
  openAll(): void {
    for (const g of this.gates.splice(0)) g();
  }
}
