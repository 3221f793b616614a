/**
 * NVMe/TCP TLS 1.3 at accept time (TP 8011; Linux nvmet-tcp with tlshd): before ICReq,
 * a port with TSAS SECTYPE tls1.3 runs a PSK-only TLS 1.3 server handshake on the
 * accepted socket and hands the TLS socket to the NVMe/TCP queue. Kept apart from the
 * queue: the queue only ever sees a stream that carries PDUs.
 *
 * - TREQ "required": every connection must speak TLS; a plain ICReq fails the handshake
 *   and the connection is closed (Linux nvmet_tcp_tls_handshake: no fallback).
 * - TREQ "not required": the first byte decides, as nvmet_tcp_try_peek_pdu does: 0x16 (a
 *   TLS handshake record) starts TLS, anything else is plain NVMe/TCP.
 *
 * Supported: TLS 1.3, cipher suite TLS_AES_128_GCM_SHA256, external PSKs whose identity
 * names hash 01 (SHA-256): "NVMe0R01 ..." and "NVMe1R01 ... <digest>". node:tls's PSK
 * callback is OpenSSL's TLS 1.2-style one, which TLS 1.3 only pairs with SHA-256 suites,
 * so SHA-384 identities (NVMe?R02, TLS_AES_256_GCM_SHA384) are refused with a log line,
 * and configurations carrying such keys are refused when loaded. Generated PSKs ('G',
 * from secure channel concatenation) are not implemented and refused.
 *
 * The kernel host hands the socket to kTLS right after the handshake and cannot read
 * TLS records other than application data (tls_sw_read_sock), so the server must not
 * send TLS 1.3 session tickets. node:tls has no per-context switch for that; the
 * process must run with OpenSSL's NumTickets = 0 (config/openssl-nvmet-ts.cnf, which
 * bin/nvmet-ts.js loads). `tlsTicketsDisabled()` checks it with a real handshake and
 * the port refuses to start otherwise.
 */

import { Duplex } from 'node:stream';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { createServer, type Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import type { TlsPortPolicy } from '../core/fabrics-ops.js';


const TLS_OPTS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256',
} as const;

/** TLSSocket server options with a PSK callback (typed by @types/node only on tls.createServer). */
function serverOptions(psk: (identity: string) => Buffer | null): ConstructorParameters<typeof TLSSocket>[1] {
  return { isServer: true, ...TLS_OPTS, pskCallback: (_s: TLSSocket, identity: string) => psk(identity) } as ConstructorParameters<typeof TLSSocket>[1];
}

/** First byte of a TLS record carrying a handshake message (ClientHello). */
const TLS_RECORD_HANDSHAKE = 0x16;

/**
 * Take over an accepted (paused) socket on a TLS port; `ready` gets the stream the NVMe/TCP
 * queue must use (TLS or, on a "not required" port, the plain socket).
 */
export function acceptTls(
  accepted: Socket,
  policy: TlsPortPolicy,
  log: Logger,
  peer: string,
  timeoutMs: number,
  ready: (s: Socket, tls: boolean) => void,
): void {
  const timer = setTimeout(() => {
    log.warn(`tcp ${peer}: TLS handshake not completed within ${timeoutMs} ms, closing`);
    accepted.destroy();
  }, timeoutMs);
  timer.unref();
  accepted.once('close', () => clearTimeout(timer));

  const startTls = (transport: Socket | Duplex): void => {
    let refused = '';
    const s = new TLSSocket(transport as Socket, serverOptions((identity) => {
      const r = policy.psk(identity);
      if ('why' in r) {
        refused = r.why;
        return null;
      }
      return Buffer.from(r.key);
    }));
    let secured = false;
    s.once('secure', () => {
      secured = true;
      clearTimeout(timer);
      log.info(`tcp ${peer}: TLS 1.3 established (${s.getCipher().name})`);
      ready(s, true);
    });
    s.on('error', (e: Error) => {
      // After the handshake the queue owns the socket and its errors.
      if (secured) return;
      // A TLS 1.2 ClientHello or one without TLS_AES_128_GCM_SHA256 ends here too (OpenSSL's
      // alert text); say what the port speaks, since nothing weaker is ever negotiated.
      log.warn(`tcp ${peer}: TLS handshake failed: ${refused !== '' ? refused : `${e.message} (this port speaks TLS 1.3 with TLS_AES_128_GCM_SHA256 and an NVMe PSK only)`}`);
      s.destroy();
      accepted.destroy();
    });
  };

  if (policy.required) {
    startTls(accepted);
    accepted.resume();
    return;
  }
  // "not required": look at the first byte without losing it.
  accepted.once('data', (chunk: Buffer) => {
    accepted.pause();
    if (chunk[0] === TLS_RECORD_HANDSHAKE) {
      startTls(prependStream(accepted, chunk));
    } else {
      clearTimeout(timer);
      accepted.unshift(chunk);
      ready(accepted, false);
      accepted.resume();
    }
  });
  accepted.resume();
}

/** A duplex over `s` whose readable side starts with `first` (bytes already read from `s`). */
function prependStream(s: Socket, first: Buffer): Duplex {
  const d = new Duplex({
    read() {
      s.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      s.write(chunk, cb);
    },
    final(cb) {
      s.end();
      cb();
    },
    destroy(err, cb) {
      s.destroy(err ?? undefined);
      cb(err);
    },
  });
  d.push(first);
  s.on('data', (c: Buffer) => {
    if (!d.push(c)) s.pause();
  });
  s.on('end', () => d.push(null));
  s.on('close', () => d.destroy());
  s.on('error', (e) => d.destroy(e));
  return d;
}

let ticketCheck: Promise<boolean> | null = null;

/**
 * True when this process's OpenSSL sends no TLS 1.3 session tickets (NumTickets = 0):
 * checked once with a loopback handshake.
 */
export function tlsTicketsDisabled(): Promise<boolean> {
  ticketCheck ??= new Promise<boolean>((resolve) => {
    const psk = Buffer.alloc(32, 1);
    const srv = createServer((raw) => {
      const s = new TLSSocket(raw, serverOptions(() => psk));
      s.on('secure', () => s.end('x'));
      s.on('error', () => s.destroy());
    });
    const done = (v: boolean): void => {
      srv.close();
      resolve(v);
    };
    const guard = setTimeout(() => done(false), 5000);
    guard.unref();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      let tickets = 0;
      const c = tlsConnect({ host: '127.0.0.1', port, ...TLS_OPTS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk, identity: 'nvmet-ts ticket check' }) });
      c.on('session', () => tickets++);
      c.on('data', () => undefined);
      c.on('end', () => {
        clearTimeout(guard);
        c.destroy();
        done(tickets === 0);
      });
      c.on('error', () => {
        clearTimeout(guard);
        done(false);
      });
    });
  });
  return ticketCheck;
}
