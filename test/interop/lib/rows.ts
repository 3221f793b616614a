/** The rows of the result table, in the order the guest runs them. */

export interface RowSpec {
  readonly id: string;
  readonly title: string;
  /** decided on the runner's side only (no guest check of that name) */
  readonly hostOnly?: boolean;
}

export const ROWS: readonly RowSpec[] = [
  { id: 'discover-text', title: 'nvme discover (text) on the I/O port' },
  { id: 'discover-json', title: 'nvme discover -o json on the I/O port' },
  { id: 'discover-8009-text', title: 'nvme discover (text) on discovery port 8009' },
  { id: 'discover-8009-json', title: 'nvme discover -o json on discovery port 8009' },
  { id: 'connect-default', title: 'nvme connect, default options' },
  { id: 'list', title: 'nvme list' },
  { id: 'id-ctrl', title: 'nvme id-ctrl' },
  { id: 'id-ns', title: 'nvme id-ns (each namespace)' },
  { id: 'ns-descs', title: 'nvme ns-descs (each namespace)' },
  { id: 'smart-log', title: 'nvme smart-log' },
  { id: 'error-log', title: 'nvme error-log' },
  { id: 'get-feature-7', title: 'nvme get-feature -f 7 (number of queues)' },
  { id: 'effects-log', title: 'nvme effects-log (LID 05h; LPA bit 1)' },
  { id: 'supported-log-pages', title: 'nvme supported-log-pages (LID 00h)' },
  { id: 'ana-paths', title: 'two paths (4420 + 8009): list-subsys ANA states, I/O across an ANA flip' },
  // lib/multipath.ts + guest/checks-multipath.sh: a second nvmet-ts process, reservations from two hosts
  { id: 'mp-list-subsys', title: 'two nvmet-ts processes, one namespace: list-subsys paths + ANA states, same NGUID/UUID/EUI-64' },
  { id: 'mp-fio-kill', title: 'fio verify while the optimized instance is killed (SIGKILL) and restarted' },
  { id: 'mp-fio-ana', title: 'fio verify while the optimized instance goes inaccessible (API) and back' },
  { id: 'resv-two-hosts', title: 'nvme resv-register/acquire/report/release from two host NQNs, conflicts' },
  { id: 'fio-nsid1', title: 'fio randwrite 4k-1m + crc32c verify, nsid 1 (file)' },
  { id: 'fio-nsid2', title: 'fio randwrite 4k-1m + crc32c verify, nsid 2' },
  { id: 'p2pmem-removal', title: 'fio verify across a p2pmem provider hot-removal (dmabuf, API) (--p2pmem)' },
  { id: 'ext4', title: 'mkfs.ext4, files, sync, umount, fsck, remount, checksums' },
  { id: 'ns-add', title: 'namespace added while connected appears (AEN/rescan)' },
  { id: 'disc-aen', title: 'persistent discovery controller gets the discovery-log-change AEN (uevent)' },
  { id: 'disconnect', title: 'nvme disconnect -n' },
  { id: 'connect-ioq4', title: 'nvme connect -i 4 (four I/O queues)' },
  { id: 'connect-qsize128', title: 'nvme connect -Q 128' },
  { id: 'connect-digests', title: 'nvme connect -g -G (header + data digests)' },
  { id: 'connect-hostnqn', title: 'nvme connect --hostnqn/--hostid (allowed host)' },
  { id: 'connect-refused', title: 'connect refused for a host not in allowed_hosts' },
  { id: 'target-restart', title: 'target restarted while connected: reconnect, data intact' },
  { id: 'keep-alive', title: 'silent host dropped after KATO' },
  { id: 'disconnect-all', title: 'nvme disconnect-all' },
  // lib/reactors.ts: a third nvmet-ts process, --reactors 2 with RAM namespaces
  { id: 'reactors', title: 'target --reactors 2: connect -i 4, fio verify on every queue, cross-loop read-back, SMART counts' },
  { id: 'wire-check', title: 'tshark: 0 malformed PDUs, 0 digest errors', hostOnly: true },
  { id: 'p2pmem-staging', title: 'host I/O staged in p2pmem, no fallback, no leak (--p2pmem)', hostOnly: true },
];

export const GUEST_CHECKS: readonly string[] = ROWS.filter((r) => !r.hostOnly).map((r) => r.id);

export type Status = 'pass' | 'fail' | 'skip' | 'pending';

export interface RowResult {
  readonly id: string;
  readonly title: string;
  status: Status;
  seconds: number | null;
  reason: string;
  /** where the evidence is (guest log, artifact, pcap) */
  log: string | null;
}
