/**
 * Bench dispatcher: `node dist/bench/run.js <name> [bench options]`.
 * Each bench prints a table (stdout) and its JSON (stdout, one line prefixed
 * "JSON "), or only the JSON with --json.
 */
import { tcpLoopbackBench, TCP_LOOPBACK_USAGE } from './tcp-loopback.js';

export interface BenchEntry {
  run(argv: string[]): Promise<number>;
  usage: string;
  summary: string;
}

/** Registry of benches; other bench files add themselves here. */
export const BENCHES: Record<string, BenchEntry> = {
  tcp: {
    run: tcpLoopbackBench,
    usage: TCP_LOOPBACK_USAGE,
    summary: 'initiator → target over NVMe/TCP loopback vs a raw TCP stream (issue 2)',
  },
};

const USAGE = `Usage: node dist/bench/run.js <bench> [options]

Benches:
${Object.entries(BENCHES)
  .map(([k, v]) => `  ${k.padEnd(12)} ${v.summary}`)
  .join('\n')}

Run 'node dist/bench/run.js <bench> --help' for its options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const b = BENCHES[name];
  if (b === undefined) {
    console.error(`unknown bench "${name}"\n\n${USAGE}`);
    return 2;
  }
  return b.run(rest);
}

// Run when executed directly (not when imported by a test or another bench).
const invoked = process.argv[1] ?? '';
if (invoked.endsWith('/bench/run.js') || invoked.endsWith('/bench/run.ts')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    },
  );
}
