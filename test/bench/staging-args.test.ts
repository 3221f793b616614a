import { describe, expect, it } from 'vitest';
import { parseStagingArgs } from '../../bench/staging/main.js';
import { FULL, QUICK } from '../../bench/staging/matrix.js';

describe('staging bench arguments', () => {
  it('no arguments: the quick preset, results in bench/results', () => {
    const a = parseStagingArgs([]);
    expect(a.preset).toEqual(QUICK);
    expect(a.out).toMatch(/bench\/results$/);
    expect(a.json).toBe(false);
  });
  it('--full: the full matrix', () => {
    expect(parseStagingArgs(['--full']).preset).toEqual(FULL);
    expect(parseStagingArgs(['--preset', 'full']).preset).toEqual(FULL);
  });
  it('subsets and timing overrides', () => {
    const a = parseStagingArgs(['--topology', 'jbof,narrow-uplink', '--transport', 'tcp', '--workload', 'seqread-128k', '--qd', '1,32', '--queues', '2', '--seconds', '0.5', '--warmup', '0', '--rounds', '5', '--no-write']);
    expect(a.preset).toMatchObject({ topologies: ['jbof', 'narrow-uplink'], transports: ['tcp'], workloads: ['seqread-128k'], qds: [1, 32], queues: [2], seconds: 0.5, warmupSeconds: 0, ratioRounds: 5 });
    expect(a.out).toBeNull();
  });
  it.each([
    [['--topology', 'mesh']],
    [['--transport', 'fc']],
    [['--qd', '0']],
    [['--qd', '1.5']],
    [['--seconds', '-1']],
    [['--seconds', '0']],
    [['--preset', 'huge']],
    [['--full', '--preset', 'quick']],
    [['--bogus']],
    [['positional']],
  ])('rejects %j', (argv) => expect(() => parseStagingArgs(argv)).toThrow());
});
