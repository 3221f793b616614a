// Worker for bar-memory.test.ts: touches BAR memory through its own view of the
// SharedArrayBuffer it was sent, like a device DMA engine on another thread.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (m) => {
  const view = new Uint8Array(m.sab, m.offset, m.length);
  if (m.op === 'fill') {
    for (let i = 0; i < view.length; i++) view[i] = (m.seed + i * 7) & 0xff;
    // publish completion through the shared memory too, not only the message
    const flag = new Int32Array(m.sab, m.flagOffset, 1);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    parentPort.postMessage({ op: 'filled' });
  } else if (m.op === 'checksum') {
    let sum = 0;
    for (let i = 0; i < view.length; i++) sum = (sum * 31 + view[i]) >>> 0;
    parentPort.postMessage({ op: 'checksum', sum });
  }
});
