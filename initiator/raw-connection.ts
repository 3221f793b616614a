/**
 * Raw NVMe/TCP escape hatch for hostile tests: a fresh TCP connection on which
 * the caller sends arbitrary bytes and reads back whole PDUs (split by the common
 * header's PLEN) or observes the close. Not a hot path: simplicity over zero-copy.
 */
import * as net from 'node:net';
import { TimeoutError, TransportError } from './errors.js';

export interface RawConnectOptions {
  host: string;
  port: number;
  /** Connect timeout, ms (default 5000). */
  timeoutMs?: number;
}

/** Largest PDU a raw reader accepts before declaring the peer broken. */
const RAW_MAX_PDU = 16 * 1024 * 1024;

export class RawConnection {
  private readonly sock: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private closedFlag = false;
  private waiters: Array<() => void> = [];

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    const onEnd = (): void => {
      this.closedFlag = true;
      this.wake();
    };
    sock.on('close', onEnd);
    sock.on('end', onEnd);
    sock.on('error', onEnd);
  }

  static open(opts: RawConnectOptions): Promise<RawConnection> {
    const ms = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: opts.host, port: opts.port });
      const t = setTimeout(() => {
        sock.destroy();
        reject(new TimeoutError(`raw connect to ${opts.host}:${opts.port}`, ms));
      }, ms);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve(new RawConnection(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(new TransportError('connect', `raw connect to ${opts.host}:${opts.port}: ${e.message}`, { cause: e }));
      });
    });
  }

  /** True once the peer closed (FIN, RST) or the socket errored. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Bytes received but not yet consumed by `readPdu`/`readBytes`. */
  get buffered(): number {
    return this.buf.length;
  }

  /** Send raw bytes; resolves when handed to the kernel (rejects if the socket is gone). */
  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.sock.destroyed) {
        reject(new TransportError('closed', 'raw connection already closed'));
        return;
      }
      this.sock.write(bytes, (err) => (err ? reject(new TransportError('closed', err.message, { cause: err })) : resolve()));
    });
  }

  /**
   * Next whole PDU (common header + PLEN bytes). Rejects with TransportError
   * ('closed') if the peer closes first, TimeoutError after `timeoutMs`.
   */
  async readPdu(timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 8) {
        const plen = this.buf.readUInt32LE(4);
        if (plen < 8 || plen > RAW_MAX_PDU) throw new TransportError('protocol', `raw: peer sent PDU with PLEN ${plen}`);
        if (this.buf.length >= plen) {
          const pdu = Uint8Array.prototype.slice.call(this.buf, 0, plen);
          this.buf = this.buf.subarray(plen);
          return pdu;
        }
      }
      if (this.closedFlag) throw new TransportError('closed', `raw: connection closed with ${this.buf.length} bytes of a partial PDU`);
      await this.waitEvent(deadline, 'raw readPdu', timeoutMs);
    }
  }

  /** Resolves once the peer has closed the connection; TimeoutError otherwise. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.closedFlag) await this.waitEvent(deadline, 'raw waitClosed', timeoutMs);
  }

  /** Close our side (idempotent). */
  close(): void {
    this.sock.destroy();
    this.closedFlag = true;
    this.wake();
  }

  private waitEvent(deadline: number, what: string, total: number): Promise<void> {
    const left = deadline - performance.now();
    if (left <= 0) return Promise.reject(new TimeoutError(what, total));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(new TimeoutError(what, total));
      }, left);
      const wake = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
