/**
 * `nvmet-ts check FILE`: validate a configuration without starting anything.
 * Every problem is printed with the JSON path of the value at fault; the exit
 * status is 1 when there are errors, 0 otherwise (warnings do not fail).
 */

import { parseArgs } from 'node:util';
import { statSync } from 'node:fs';
import { formatIssue, loadConfigFile, resolveConfig, type ConfigIssue } from '../config/index.js';

export const CHECK_USAGE = `Usage: nvmet-ts check [--json] FILE

Validate an nvmetcli-compatible configuration (and its PCIe topology) without
starting the target. Errors name the JSON path at fault; exit status 1 on errors.
`;

interface Out {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function checkCommand(argv: string[], io: Out): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    io.err(`nvmet-ts check: ${(e as Error).message}\n\n${CHECK_USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.out(CHECK_USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.err(`nvmet-ts check: expected exactly one FILE\n\n${CHECK_USAGE}`);
    return 2;
  }
  const file = args.positionals[0]!;
  const r = await loadConfigFile(file);
  const warnings: ConfigIssue[] = [...r.warnings];
  if (r.ok) {
    // Backing files of enabled namespaces: missing ones would fail at start-up.
    const resolved = resolveConfig(r.config, r.baseDir);
    resolved.subsystems.forEach((s, i) => {
      s.namespaces.forEach((ns, k) => {
        if (!ns.enabled || ns.backing === null || ns.backing.kind !== 'file') return;
        let problem: string | null = null;
        try {
          if (!statSync(ns.backing.path).isFile()) problem = `${ns.backing.path} is not a regular file`;
        } catch (e) {
          problem = `${ns.backing.path} cannot be opened (${(e as NodeJS.ErrnoException).code ?? 'error'}): enabling it will fail`;
        }
        if (problem) warnings.push({ path: `subsystems[${i}].namespaces[${k}].device.path`, message: problem });
      });
    });
  }
  if (args.values.json) {
    io.out(JSON.stringify({ file, ok: r.ok, errors: r.ok ? [] : r.errors, warnings }, null, 2) + '\n');
    return r.ok ? 0 : 1;
  }
  for (const w of warnings) io.err(`${file}: warning: ${formatIssue(w)}\n`);
  if (!r.ok) {
    for (const e of r.errors) io.err(`${file}: error: ${formatIssue(e)}\n`);
    io.err(`${file}: invalid (${r.errors.length} error${r.errors.length === 1 ? '' : 's'})\n`);
    return 1;
  }
  const c = r.config;
  const nss = c.subsystems.reduce((n, s) => n + s.namespaces.length, 0);
  const topo = r.topology ? `topology ${r.topology.source}` : 'built-in default topology';
  io.out(
    `${file}: OK (${c.hosts.length} host(s), ${c.ports.length} port(s), ${c.subsystems.length} subsystem(s), ${nss} namespace(s), ${topo}` +
      `${warnings.length ? `, ${warnings.length} warning(s)` : ''})\n`,
  );
  return 0;
}
