/**
 * Accepted connections that read into memory the queue chooses (`onread`).
 *
 * `net.Server` gives every accepted socket Node's default reader: a fresh
 * 64 KiB ArrayBuffer per read, which at a few GB/s of H2CData is pure garbage
 * for the GC. Only sockets constructed with `onread` read into caller memory,
 * and the server does not construct them that way, so the listener pauses each
 * connection on accept (`pauseOnConnect`: no byte read yet) and moves its
 * handle into a new Socket built with `onread`. The buffer is asked for before
 * every read, which also lets the queue point a read straight at a request's
 * staging buffer (see PduFramer.directView).
 *
 * The server counts the accepted socket as a connection until it closes, so it
 * is destroyed (handle-less: nothing to close twice) when the new one closes —
 * otherwise `server.close()` would never call back.
 */

import { Socket } from 'node:net';

export interface SocketReader {
  /** Where the next read lands (called before each read). */
  readBuffer(): Uint8Array;
  /** `n` bytes landed at the start of `buf` (the buffer last returned by readBuffer). */
  onRead(n: number, buf: Uint8Array): void;
}

interface HandleOwner {
  _handle: object | null;
}

/**
 * Move the handle of a paused accepted socket into a Socket that reads via
 * `reader`. Returns null (the accepted socket untouched) when this Node exposes
 * no handle to move; the caller then reads with 'data' events.
 */
export function adoptWithReader(accepted: Socket, reader: () => SocketReader | null, fallback: Uint8Array): Socket | null {
  const owner = accepted as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle === null || typeof handle !== 'object' || accepted.destroyed) return null;
  owner._handle = null;
  let s: Socket;
  try {
    s = new Socket({
      handle,
      readable: true,
      writable: true,
      onread: {
        // Called once during construction, before the reader exists.
        buffer: () => reader()?.readBuffer() ?? fallback,
        callback: (n: number, buf: Uint8Array): boolean => {
          reader()?.onRead(n, buf);
          return true;
        },
      },
    } as ConstructorParameters<typeof Socket>[0] & { handle: object });
  } catch {
    owner._handle = handle;
    return null;
  }
  s.once('close', () => accepted.destroy());
  return s;
}
