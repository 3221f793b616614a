/**
 * Bench dispatcher: `node dist/bench/run.js <name> [bench options]`.
 * Each bench prints a table (stdout) and its JSON (stdout, one line prefixed
 * "JSON "), or only the JSON with --json.
 */
import { tcpLoopbackBench, TCP_LOOPBACK_USAGE } from './tcp-loopback.js';
import { stagingBench, STAGING_USAGE } from './staging/main.js';
import { runCopyEngineBench, COPY_ENGINE_USAGE } from './copy-engine.js';
import { nicKindsBench, NIC_BENCH_USAGE } from './nic-kinds.js';
import { perfBench, PERF_USAGE } from './perf.js';
import { profileBench, PROFILE_USAGE } from './profile.js';

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
  copy: {
    run: runCopyEngineBench,
    usage: COPY_ENGINE_USAGE,
    summary: 'DMA copy engine (1 and 2 workers) vs an inline copy; --threshold sweeps the inline threshold (issue 5)',
  },
  perf: {
    run: perfBench,
    usage: PERF_USAGE,
    summary: 'independent C initiator (bench/perf-c) vs the nvmet-ts CLI: the five issue-13 jobs, pinned, medians (issue 13)',
  },
  profile: {
    run: profileBench,
    usage: PROFILE_USAGE,
    summary: 'where the target CPU goes for one perf job: perf stat syscalls, --cpu-prof areas, promises/GC per I/O (issue 13)',
  },
  nic: {
    run: nicKindsBench,
    usage: NIC_BENCH_USAGE,
    summary: 'NIC kind (rdma | tcp-ddp | tcp) x staging: RC/DRAM/MMIO bytes per payload byte, projected throughput; provider removal under load (issue 16)',
  },
  staging: {
    run: stagingBench,
    usage: STAGING_USAGE,
    summary: 'p2pmem vs system-memory staging matrix (issue 7); the default bench',
  },
};

/** What `npm run bench` runs without a bench name (options such as --full go to it). */
export const DEFAULT_BENCH = 'staging';

const USAGE = `Usage: node dist/bench/run.js [<bench>] [options]   (no bench name: ${DEFAULT_BENCH})

Benches:
${Object.entries(BENCHES)
  .map(([k, v]) => `  ${k.padEnd(12)} ${v.summary}`)
  .join('\n')}

Run 'node dist/bench/run.js <bench> --help' for its options.`;

export async function main(argv: string[]): Promise<number> {
  // `npm run bench` and `npm run bench -- --full`: the default bench with those options.
  if (argv.length === 0 || (argv[0]!.startsWith('-') && argv[0] !== '--help' && argv[0] !== '-h')) {
    return BENCHES[DEFAULT_BENCH]!.run(argv);
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(USAGE);
    return 0;
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
