#!/bin/sh
# Guest side of the nvmet-ts interop suite (POSIX sh for busybox ash).
#
# /init runs `sh /in/checks.sh`; the runner put params.sh beside it. Each check
# runs in its own `sh /in/checks.sh --one ID` under `timeout`, so a hung check
# cannot stall the others; checks share state only through files in $ST.
# Per check: /out/checks/ID.log (commands, their output, kernel log) and one
# line "ID<TAB>status<TAB>seconds<TAB>reason" in /out/results.txt, where status
# is pass|fail|skip|pending. JSON outputs the runner validates further go to
# /out/artifacts/.
#
# Actions on the target side (restart it, add a namespace, cut the host's link)
# are asked of the runner over HTTP at $HOST_IP:$CTL_PORT (MODE=nvmet-ts), or
# done here through configfs on the guest's own kernel nvmet (MODE=kernel-local,
# which proves the image, the checks and the wire check on a known-good target).
set -u
. /in/params.sh

ST=/tmp/state L=/out/checks A=/out/artifacts R=/out/results.txt
mkdir -p "$ST" "$L" "$A" /out/ctl
NVMET=/sys/kernel/config/nvmet

now() { cut -d' ' -f1 /proc/uptime; }
say() { echo "[checks] $*"; }
# a check's verdict: the reason line is the table's last column
why() { printf '%s\n' "$*" >"$L/$CHECK.reason"; echo "=> $*" >&2; }
fail() { why "$@"; exit 1; }
skip() { why "$@"; exit 77; }
pending() { why "$@"; exit 78; }
run() { echo "+ $*" >&2; "$@"; }

# ------------------------------------------------------------------ helpers --
# controllers (nvmeN) of $SUBNQN, optionally only those of host NQN $1
ctrls() {
  for c in /sys/class/nvme/nvme*; do
    [ -e "$c/subsysnqn" ] || continue
    [ "$(cat "$c/subsysnqn")" = "$SUBNQN" ] || continue
    [ -z "${1:-}" ] || [ "$(cat "$c/hostnqn" 2>/dev/null)" = "$1" ] || continue
    echo "${c##*/}"
  done
}
cattr() { cat "/sys/class/nvme/$1/$2" 2>/dev/null; }
wait_state() { # ctrl state seconds
  i=0
  while [ $i -lt $(($3 * 5)) ]; do
    [ "$(cattr "$1" state)" = "$2" ] && return 0
    sleep 0.2; i=$((i + 1))
  done
  echo "controller $1 not $2 after $3 s (state: $(cattr "$1" state))"; return 1
}
show_ctrl() {
  for a in state transport address cntlid hostnqn hostid subsysnqn queue_count sqsize kato serial model; do
    printf '  %s/%s = %s\n' "$1" "$a" "$(cattr "$1" "$a")"
  done
}
# nvme connect to $SUBNQN at $TADDR:$PORT with extra args; sets CTRL to the new
# controller and waits for it to be live
connect() {
  before=" $(ctrls | tr '\n' ' ') "
  CTRL=""
  run nvme connect -t tcp -a "$TADDR" -s "${CPORT:-$PORT}" -n "$SUBNQN" "$@" || { echo "nvme connect exited $?"; return 1; }
  for c in $(ctrls); do
    case "$before" in *" $c "*) ;; *) CTRL=$c ;; esac
  done
  [ -n "$CTRL" ] || { echo "no new controller for $SUBNQN after connect"; return 1; }
  wait_state "$CTRL" live 20 || return 1
  show_ctrl "$CTRL"
}
disconnect_ctrl() { [ -n "${1:-}" ] && [ -e "/sys/class/nvme/$1" ] && run nvme disconnect -d "$1"; return 0; }
disconnect_subsys() { [ -n "$(ctrls)" ] && run nvme disconnect -n "$SUBNQN"; return 0; }
# block device of namespace $1 of $SUBNQN (the multipath head, or nvmeXnY)
ns_dev() {
  for b in /sys/block/nvme*n*; do
    n=${b##*/}
    case "$n" in *c*) continue ;; esac
    [ "$(cat "$b/nsid" 2>/dev/null)" = "$1" ] || continue
    [ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$SUBNQN" ] || continue
    [ -b "/dev/$n" ] && { echo "/dev/$n"; return 0; }
  done
  return 1
}
wait_ns() { # nsid seconds -> device on stdout
  i=0
  while [ $i -lt $(($2 * 5)) ]; do
    ns_dev "$1" && return 0
    sleep 0.2; i=$((i + 1))
  done
  return 1
}
# the controller connect-default made; a host recovering from an error (reset,
# reconnect) gets time to come back, so one failed command does not fail the rest
main_ctrl() {
  c="$(cat "$ST/main" 2>/dev/null)"
  [ -n "$c" ] && [ -e "/sys/class/nvme/$c" ] || fail "no controller (connect-default failed or it was removed)"
  wait_state "$c" live 30 >&2 || fail "controller $c not live ($(cattr "$c" state))"
  echo "$c"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ------------------------------------------------------- target-side actions --
# ctl ACTION [QUERY]: ask for a target-side action; 0 ok, 78 pending, 1 error
ctl() {
  if [ "$MODE" = kernel-local ]; then
    "local_$(echo "$1" | tr - _)" "$@"; return $?
  fi
  resp="$(timeout "${CTL_TIMEOUT:-90}" wget -q -O - "http://$HOST_IP:$CTL_PORT/$1?${2:-}" 2>&1)"; rc=$?
  echo "ctl $1 ${2:-}: rc=$rc: $resp"
  case "$resp" in ok*) return 0 ;; pending*) CTL_REPLY="$resp"; return 78 ;; *) CTL_REPLY="$resp"; return 1 ;; esac
}

local_ana() { # kernel-local: ANA group 1 of a port through configfs
  q="${2:-}"; port=$(echo "$q" | sed -n 's/.*port=\([0-9]*\).*/\1/p'); st=$(echo "$q" | sed -n 's/.*state=\([a-z-]*\).*/\1/p')
  echo "$st" >"$NVMET/ports/$port/ana_groups/1/ana/state"
}
local_port() { # id trsvcid
  p="$NVMET/ports/$1"
  mkdir -p "$p"
  echo tcp >"$p/addr_trtype"; echo ipv4 >"$p/addr_adrfam"
  echo 127.0.0.1 >"$p/addr_traddr"; echo "$2" >"$p/addr_trsvcid"
  ln -s "$NVMET/subsystems/$SUBNQN" "$p/subsystems/$SUBNQN"
}
local_ns() { # nsid uuid nguid path [buffered]
  n="$NVMET/subsystems/$SUBNQN/namespaces/$1"
  mkdir "$n" && echo "$4" >"$n/device_path" && echo "$2" >"$n/device_uuid" && echo "$3" >"$n/device_nguid" || return 1
  [ -z "${5:-}" ] || echo 1 >"$n/buffered_io"
  echo 1 >"$n/enable"
}
mkfile() { dd if=/dev/zero of="$1" bs=1 count=0 seek="$2" 2>/dev/null; }
# The guest's own kernel target, configured like the runner's nvmet-ts config.
local_target_setup() {
  modprobe nvmet && modprobe nvmet-tcp || return 1
  modprobe brd rd_nr=1 rd_size=$((NS2_BYTES / 1024)) || return 1
  s="$NVMET/subsystems/$SUBNQN"
  mkdir "$s" || return 1
  echo 0 >"$s/attr_allow_any_host"
  echo "$SERIAL" >"$s/attr_serial"; echo "$MODEL" >"$s/attr_model"
  for h in "$HOSTNQN" "$ALT_HOSTNQN"; do
    mkdir "$NVMET/hosts/$h" && ln -s "$NVMET/hosts/$h" "$s/allowed_hosts/$h" || return 1
  done
  mkfile /tmp/ns1.img "$NS1_BYTES"; mkfile /tmp/ns3.img "$NS3_BYTES"
  local_ns 1 "$NS1_UUID" "$NS1_NGUID" /tmp/ns1.img buffered || return 1
  local_ns 2 "$NS2_UUID" "$NS2_NGUID" /dev/ram0 || return 1
  local_port 1 "$PORT"
  [ -z "$DISC_PORT" ] || local_port 2 "$DISC_PORT"
}
local_ns_add() { local_ns 3 "$NS3_UUID" "$NS3_NGUID" /tmp/ns3.img buffered && echo "ok: nsid 3 enabled in configfs"; }
local_restart() {
  # dropping the port's only link disables the port and tears its controllers
  # down, as a target going away does; the file-backed namespace stays
  rm "$NVMET/ports/1/subsystems/$SUBNQN" && sleep 2 &&
    ln -s "$NVMET/subsystems/$SUBNQN" "$NVMET/ports/1/subsystems/$SUBNQN" && echo "ok: port 1 re-enabled"
}
DISC_AEN_NQN=nqn.2014-08.org.nvmexpress:nvmet-ts-disc-aen
local_disc_change() { # a new subsystem any host may use, linked to port 1
  d="$NVMET/subsystems/$DISC_AEN_NQN"
  mkdir "$d" && echo 1 >"$d/attr_allow_any_host" && ln -s "$d" "$NVMET/ports/1/subsystems/$DISC_AEN_NQN" && echo "ok: $DISC_AEN_NQN linked to port 1"
}
local_disc_restore() { rm -f "$NVMET/ports/1/subsystems/$DISC_AEN_NQN"; rmdir "$NVMET/subsystems/$DISC_AEN_NQN" && echo "ok: removed"; }
local_keepalive_drop() { CTL_REPLY="skip: the guest's own target shares the host's link"; return 77; }

# ------------------------------------------------------------------- checks --
discover() { # port format
  f="$A/discover-$1.$2"
  if [ "$2" = json ]; then run nvme discover -t tcp -a "$TADDR" -s "$1" -o json >"$f"; rc=$?
  else run nvme discover -t tcp -a "$TADDR" -s "$1" >"$f"; rc=$?; fi
  cat "$f"
  [ $rc = 0 ] || fail "nvme discover -s $1 exited $rc"
  if [ "$2" = json ]; then
    grep -q "\"$SUBNQN\"" "$f" || fail "$SUBNQN not in the JSON discovery log"
  else
    grep -q "^subnqn: *$SUBNQN\$" "$f" || fail "$SUBNQN not in the discovery log"
    grep -q "^trsvcid: *$1\$" "$f" || fail "no entry with trsvcid $1"
    grep -q "^trtype: *tcp\$" "$f" || fail "no tcp entry"
  fi
  why "$(grep -c '=====Discovery Log Entry' "$f" 2>/dev/null || echo '?') entries"
}
chk_discover_text() { discover "$PORT" text; }
chk_discover_json() { discover "$PORT" json; why "valid per runner"; }
chk_discover_8009_text() { [ -n "$DISC_PORT" ] || skip "no discovery port configured"; discover "$DISC_PORT" text; }
chk_discover_8009_json() { [ -n "$DISC_PORT" ] || skip "no discovery port configured"; discover "$DISC_PORT" json; why "valid per runner"; }

chk_connect_default() {
  disconnect_subsys
  connect || fail "connect failed"
  echo "$CTRL" >"$ST/main"
  [ "$(cattr "$CTRL" transport)" = tcp ] || fail "transport is not tcp"
  cattr "$CTRL" address | grep -q "traddr=$TADDR,trsvcid=$PORT" || fail "unexpected address $(cattr "$CTRL" address)"
  for n in $NSIDS; do
    d="$(wait_ns "$n" 20)" || fail "namespace $n did not appear"
    echo "  nsid $n -> $d ($(cat "/sys/block/${d#/dev/}/size") sectors)"
  done
  why "$CTRL live, $(($(cattr "$CTRL" queue_count) - 1)) I/O queues, namespaces $NSIDS"
}

chk_list() {
  run nvme list -o json >"$A/list.json"; rc=$?; cat "$A/list.json"
  [ $rc = 0 ] || fail "nvme list exited $rc"
  run nvme list
  grep -q "$SERIAL" "$A/list.json" || fail "serial $SERIAL not listed"
  why "listed (fields checked by runner)"
}
chk_id_ctrl() {
  c="$(main_ctrl)" || exit 1
  cattr "$c" cntlid >"$A/cntlid.txt"
  run nvme id-ctrl "/dev/$c" -o json >"$A/id-ctrl.json"; rc=$?; cat "$A/id-ctrl.json"
  [ $rc = 0 ] || fail "nvme id-ctrl exited $rc"
  run nvme id-ctrl "/dev/$c" | head -n 40
  why "returned (fields checked by runner)"
}
chk_id_ns() {
  c="$(main_ctrl)" || exit 1
  for n in $NSIDS; do
    run nvme id-ns "/dev/$c" -n "$n" -o json >"$A/id-ns-$n.json" || fail "nvme id-ns -n $n exited $?"
    cat "$A/id-ns-$n.json"
    d="$(ns_dev "$n")" && echo $(($(cat "/sys/block/${d#/dev/}/size") * 512)) >"$A/bdev-bytes-$n.txt"
  done
  why "returned for $NSIDS (fields checked by runner)"
}
chk_ns_descs() {
  c="$(main_ctrl)" || exit 1
  for n in $NSIDS; do
    run nvme ns-descs "/dev/$c" -n "$n" -o json >"$A/ns-descs-$n.json" || fail "nvme ns-descs -n $n exited $?"
    cat "$A/ns-descs-$n.json"
    for a in uuid nguid wwid; do printf '  sysfs %s = %s\n' "$a" "$(cat "/sys/block/$(ns_dev "$n" | cut -d/ -f3)/$a" 2>/dev/null)"; done
  done
  why "returned for $NSIDS (identifiers checked by runner)"
}
chk_smart_log() {
  c="$(main_ctrl)" || exit 1
  run nvme smart-log "/dev/$c" -o json >"$A/smart-log.json"; rc=$?; cat "$A/smart-log.json"
  [ $rc = 0 ] || fail "nvme smart-log exited $rc"
  grep -q critical_warning "$A/smart-log.json" || fail "no critical_warning in output"
  why "ok"
}
chk_error_log() {
  c="$(main_ctrl)" || exit 1
  run nvme error-log "/dev/$c" -o json >"$A/error-log.json"; rc=$?; head -c 2000 "$A/error-log.json"; echo
  [ $rc = 0 ] || fail "nvme error-log exited $rc"
  why "ok"
}
chk_get_feature_7() {
  c="$(main_ctrl)" || exit 1
  out="$(run nvme get-feature "/dev/$c" -f 7 -H 2>&1)"; rc=$?; echo "$out"
  [ $rc = 0 ] || fail "nvme get-feature -f 7 exited $rc"
  v="$(echo "$out" | sed -n 's/.*[Cc]urrent value: *\(0x[0-9a-fA-F]*\).*/\1/p' | head -n1)"
  [ -n "$v" ] || fail "no current value in output"
  nsqa=$(((v & 0xffff) + 1)); ncqa=$(((v >> 16) + 1)); ioq=$(($(cattr "$c" queue_count) - 1))
  [ "$nsqa" -ge "$ioq" ] && [ "$ncqa" -ge "$ioq" ] || fail "NSQA $nsqa / NCQA $ncqa < $ioq I/O queues in use"
  why "$v: $nsqa SQs / $ncqa CQs allocated, $ioq in use"
}

chk_effects_log() {
  c="$(main_ctrl)" || exit 1
  # without --csi, nvme-cli 2.3 reads CAP.CSS from a PCI BAR and prints nothing on fabrics
  out="$(run nvme effects-log "/dev/$c" --csi=0 2>&1)"; rc=$?; echo "$out"
  [ $rc = 0 ] || fail "nvme effects-log --csi=0 exited $rc"
  run nvme effects-log "/dev/$c" --csi=0 -o json >"$A/effects-log.json" 2>&1; cat "$A/effects-log.json"
  # Read (I/O opcode 02h) and Identify (admin 06h) must be marked supported (CSUPP)
  n="$(echo "$out" | grep -c '0000000[13]')"
  [ "$n" -ge 2 ] || fail "fewer than two supported commands listed"
  why "$n commands listed as supported"
}
chk_supported_log_pages() {
  c="$(main_ctrl)" || exit 1
  nvme help 2>&1 | grep -q supported-log-pages || skip "this nvme-cli has no supported-log-pages command"
  out="$(run nvme supported-log-pages "/dev/$c" 2>&1)"; rc=$?; echo "$out"
  [ $rc = 0 ] || fail "nvme supported-log-pages exited $rc"
  run nvme supported-log-pages "/dev/$c" -o json >"$A/supported-log-pages.json" 2>&1; cat "$A/supported-log-pages.json"
  why "ok ($(echo "$out" | grep -ci 'lid') lines naming a LID)"
}
# the per-path ANA state the host keeps (/sys/block/nvmeXcYnZ/ana_state) of namespace 1 via controller $1
path_ana() {
  for p in /sys/class/nvme/"$1"/nvme*c*n*; do
    [ "$(cat "$p/nsid" 2>/dev/null)" = 1 ] || continue
    cat "$p/ana_state" 2>/dev/null; return 0
  done
  echo none
}
wait_ana() { # ctrl state seconds
  i=0
  while [ $i -lt $(($3 * 5)) ]; do
    [ "$(path_ana "$1")" = "$2" ] && return 0
    sleep 0.2; i=$((i + 1))
  done
  echo "path of $1 is $(path_ana "$1"), not $2 after $3 s"; return 1
}
chk_ana_paths() {
  # connect() and ctrls() assign $c (sh has no locals): keep the main path in $mc
  mc="$(main_ctrl)" || exit 1
  [ -n "${DISC_PORT:-}" ] || skip "no second port"
  CPORT="$DISC_PORT" connect || fail "second path (port $DISC_PORT) did not connect"
  pc2="$CTRL"; echo "$pc2" >"$ST/second"
  run nvme list-subsys -o json >"$A/list-subsys.json" 2>&1; cat "$A/list-subsys.json"
  run nvme list-subsys
  paths=$(grep -c '"Name"' "$A/list-subsys.json")
  wait_ana "$mc" optimized 10 || fail "first path not optimized"
  wait_ana "$pc2" optimized 10 || fail "second path not optimized"
  d="$(ns_dev 1)" || fail "namespace 1 has no block device"
  # with a namespace, nvme-cli prints each path's ANA state
  run nvme list-subsys "$d" -o json >"$A/list-subsys-ns1.json" 2>&1; cat "$A/list-subsys-ns1.json"
  run nvme list-subsys "$d"
  ctl ana "port=1&state=inaccessible"; rc=$?
  [ $rc = 78 ] && { disconnect_ctrl "$pc2"; pending "${CTL_REPLY:-target cannot change ANA states}"; }
  [ $rc = 0 ] || { disconnect_ctrl "$pc2"; fail "target did not change the ANA state: ${CTL_REPLY:-}"; }
  wait_ana "$mc" inaccessible 20 || { ctl ana "port=1&state=optimized"; disconnect_ctrl "$pc2"; fail "host did not see port 1 inaccessible"; }
  run nvme list-subsys "$d"
  dd if=/dev/urandom of="$ST/ana" bs=65536 count=16 2>/dev/null
  run dd if="$ST/ana" of="$d" bs=65536 seek=64 conv=fsync oflag=direct 2>&1 || { ctl ana "port=1&state=optimized"; disconnect_ctrl "$pc2"; fail "write through the optimized path failed while port 1 was inaccessible"; }
  ctl ana "port=1&state=optimized" || { disconnect_ctrl "$pc2"; fail "could not restore port 1"; }
  wait_ana "$mc" optimized 20 || { disconnect_ctrl "$pc2"; fail "host did not see port 1 optimized again"; }
  run dd if="$d" of="$ST/ana.back" bs=65536 skip=64 count=16 iflag=direct 2>&1 || { disconnect_ctrl "$pc2"; fail "read back failed"; }
  cmp "$ST/ana" "$ST/ana.back" || { disconnect_ctrl "$pc2"; fail "data read back differs"; }
  disconnect_ctrl "$pc2"; rm -f "$ST/second"
  why "$paths paths listed; port 1 optimized -> inaccessible -> optimized seen by the host, 1 MiB written meanwhile read back intact"
}

fio_ns() { # nsid
  main_ctrl >/dev/null || exit 1
  d="$(ns_dev "$1")" || fail "namespace $1 has no block device"
  run fio --name="verify-ns$1" --filename="$d" --ioengine=libaio --direct=1 --rw=randwrite \
    --bsrange=4k-1m --size="$FIO_SIZE" --iodepth=16 --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --group_reporting --output="$A/fio-ns$1.txt"; rc=$?
  cat "$A/fio-ns$1.txt"
  [ $rc = 0 ] || fail "fio exited $rc"
  grep -qi 'verify.*fail\|bad magic\|crc32c.*mismatch' "$A/fio-ns$1.txt" && fail "fio reported verify errors"
  why "$FIO_SIZE random 4k-1m written and read back, crc32c ok on $d"
}
chk_fio_nsid1() { fio_ns 1; }

# p2pmem-removal: fio verify on nsid 1 while the target hot-removes the provider its port
# stages in (dmabuf move_notify): in-flight staged commands fail with Transient Transport
# Error (DNR clear), the kernel retries them, fio's crc32c verify must still pass.
chk_p2pmem_removal() {
  main_ctrl >/dev/null || exit 1
  d="$(ns_dev 1)" || fail "namespace 1 has no block device"
  fio --name=removal --filename="$d" --ioengine=libaio --direct=1 --rw=randwrite \
    --bsrange=4k-1m --size="$FIO_SIZE" --iodepth=16 --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --group_reporting --output="$A/fio-removal.txt" &
  f=$!
  # fio needs a few seconds to start issuing I/O under TCG (at 1 s, two runs found no staged
  # buffer mapped); remove once the device shows I/O in flight, 10 s at most.
  dev="${d#/dev/}"
  for _ in $(seq 1 50); do
    [ "$(awk '{print $9}' "/sys/block/$dev/stat" 2>/dev/null || echo 0)" -gt 0 ] 2>/dev/null && break
    sleep 0.2
  done
  ctl p2p-remove; rc=$?
  removed="$resp"
  wait $f; frc=$?
  cat "$A/fio-removal.txt"
  [ $rc = 78 ] && pending "${CTL_REPLY:-not a --p2pmem run}"
  [ $rc = 0 ] || fail "provider removal failed: ${CTL_REPLY:-}"
  [ $frc = 0 ] || fail "fio exited $frc across the provider removal"
  grep -qi 'verify.*fail\|bad magic\|crc32c.*mismatch' "$A/fio-removal.txt" && fail "fio reported verify errors"
  ctl p2p-add || fail "provider hot-add failed: ${CTL_REPLY:-}"
  why "fio $FIO_SIZE crc32c verify ok across: ${removed#ok: }"
}
chk_fio_nsid2() { fio_ns 2; }

chk_ext4() {
  main_ctrl >/dev/null || exit 1
  d="$(ns_dev 2)" || fail "namespace 2 has no block device"
  m=/mnt/ext4
  mkdir -p "$m"
  run mkfs.ext4 -F -q "$d" || fail "mkfs.ext4 exited $?"
  run mount -t ext4 "$d" "$m" || fail "mount failed"
  mkdir -p "$m/data/sub"
  i=1
  while [ $i -le 6 ]; do
    dd if=/dev/urandom of="$m/data/f$i" bs=4096 count=$((i * 97)) 2>/dev/null
    i=$((i + 1))
  done
  dd if=/dev/urandom of="$m/data/sub/big" bs=65536 count=64 2>/dev/null
  (cd "$m" && find data -type f | sort | xargs sha256sum) >"$ST/ext4.sums"
  cat "$ST/ext4.sums"
  run sync
  run umount "$m" || fail "umount failed"
  echo 3 >/proc/sys/vm/drop_caches
  run e2fsck -fn "$d" || fail "e2fsck found problems"
  run mount -t ext4 "$d" "$m" || fail "remount failed"
  (cd "$m" && sha256sum -c "$ST/ext4.sums") || { umount "$m"; fail "checksums differ after remount"; }
  run umount "$m" || fail "final umount failed"
  why "mkfs, 7 files, sync, umount, fsck, remount: checksums equal"
}

chk_ns_add() {
  c="$(main_ctrl)" || exit 1
  ns_dev 3 && fail "namespace 3 exists before it was added"
  t0=$(now)
  ctl ns-add "nsid=3"; rc=$?
  [ $rc = 78 ] && pending "${CTL_REPLY:-target cannot add namespaces}"
  [ $rc = 0 ] || fail "target did not add the namespace: ${CTL_REPLY:-}"
  d="$(wait_ns 3 30)" || fail "namespace 3 did not appear on the host within 30 s"
  t1=$(now)
  sz=$(($(cat "/sys/block/${d#/dev/}/size") * 512))
  [ "$sz" = "$NS3_BYTES" ] || fail "namespace 3 is $sz bytes, expected $NS3_BYTES"
  run dd if="$d" of=/dev/null bs=65536 count=16 || fail "cannot read the new namespace"
  why "$d appeared $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s after the add"
}

chk_disconnect() {
  c="$(main_ctrl)" || exit 1
  run nvme disconnect -n "$SUBNQN" || fail "nvme disconnect exited $?"
  sleep 0.5
  [ -z "$(ctrls)" ] || fail "controllers left: $(ctrls)"
  ns_dev 1 && fail "namespace devices left"
  rm -f "$ST/main"
  why "$c removed"
}

io_check() { # quick data round trip on namespace $1, bytes $2 -> fails the check on mismatch
  d="$(wait_ns "$1" 20)" || fail "namespace $1 did not appear"
  cnt=$(($2 / 65536))
  dd if=/dev/urandom of="$ST/pat" bs=65536 count="$cnt" 2>/dev/null
  run dd if="$ST/pat" of="$d" bs=65536 seek=32 conv=fsync oflag=direct 2>&1 || fail "write to $d failed"
  run dd if="$d" of="$ST/back" bs=65536 skip=32 count="$cnt" iflag=direct 2>&1 || fail "read from $d failed"
  [ "$(sha "$ST/pat")" = "$(sha "$ST/back")" ] || fail "data read back differs"
}

chk_connect_ioq4() {
  disconnect_subsys
  connect -i 4 || fail "connect -i 4 failed"
  q=$(($(cattr "$CTRL" queue_count) - 1))
  dmesg | grep "$CTRL: mapped"
  [ "$q" = 4 ] || { disconnect_ctrl "$CTRL"; fail "$q I/O queues, expected 4"; }
  d="$(wait_ns 1 20)" || fail "namespace 1 did not appear"
  # one reader per CPU: blk-mq maps each CPU to its own hardware queue
  cpu=0
  while [ $cpu -lt "$(nproc)" ]; do
    taskset -c $cpu dd if="$d" of=/dev/null bs=65536 count=32 iflag=direct 2>/dev/null || { disconnect_ctrl "$CTRL"; fail "I/O on cpu $cpu failed"; }
    cpu=$((cpu + 1))
  done
  io_check 1 1048576
  disconnect_ctrl "$CTRL"
  why "4 I/O queues, I/O from $(nproc) CPUs ok"
}
chk_connect_qsize128() {
  disconnect_subsys
  connect -Q 128 || fail "connect -Q 128 failed"
  s="$(cattr "$CTRL" sqsize)"
  io_check 1 2097152
  disconnect_ctrl "$CTRL"
  [ "$s" = 127 ] || fail "sqsize $s (0's based), expected 127"
  why "sqsize 127, I/O ok"
}
chk_connect_digests() {
  disconnect_subsys
  connect -g -G || fail "connect -g -G failed"
  io_check 1 4194304
  d="$(ns_dev 2)" && run fio --name=digests --filename="$d" --ioengine=libaio --direct=1 --rw=randwrite \
    --bsrange=512-256k --size=8m --iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1 \
    --verify_state_save=0 --output="$A/fio-digests.txt" || { cat "$A/fio-digests.txt"; disconnect_ctrl "$CTRL"; fail "fio with digests failed"; }
  disconnect_ctrl "$CTRL"
  why "header+data digests: I/O ok (digests verified by the wire check)"
}
chk_connect_hostnqn() {
  disconnect_subsys
  connect --hostnqn="$ALT_HOSTNQN" --hostid="$ALT_HOSTID" || fail "connect with --hostnqn/--hostid failed"
  hn="$(cattr "$CTRL" hostnqn)"; hi="$(cattr "$CTRL" hostid)"
  io_check 1 1048576
  disconnect_ctrl "$CTRL"
  [ "$hn" = "$ALT_HOSTNQN" ] || fail "controller hostnqn $hn"
  [ "$hi" = "$ALT_HOSTID" ] || fail "controller hostid $hi"
  why "connected as $ALT_HOSTNQN"
}
chk_connect_refused() {
  disconnect_subsys
  t0=$(now)
  run nvme connect -t tcp -a "$TADDR" -s "$PORT" -n "$SUBNQN" --hostnqn="$DENIED_HOSTNQN" --hostid="$DENIED_HOSTID"; rc=$?
  t1=$(now)
  left="$(ctrls "$DENIED_HOSTNQN")"
  [ -z "$left" ] || { disconnect_ctrl "$left"; fail "host not in allowed_hosts got controller $left"; }
  [ $rc != 0 ] || fail "nvme connect succeeded for a host not in allowed_hosts"
  dmesg | grep -i 'not allowed\|connect' | tail -n 5
  dmesg | grep -q 'is not allowed' || fail "refused, but not with Connect Invalid Host (see kernel log)"
  why "refused with Connect Invalid Host in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
}

chk_target_restart() {
  disconnect_subsys
  connect -c 1 -l 90 || fail "connect failed"
  c=$CTRL
  d="$(wait_ns 1 20)" || fail "namespace 1 did not appear"
  dd if=/dev/urandom of="$ST/before" bs=65536 count=64 2>/dev/null
  run dd if="$ST/before" of="$d" bs=65536 seek=64 conv=fsync oflag=direct || fail "write before restart failed"
  ctl restart || { disconnect_ctrl "$c"; fail "target restart failed: ${CTL_REPLY:-}"; }
  # the host must notice, reconnect and go live again
  i=0
  while [ $i -lt 300 ]; do
    dmesg | grep -q "$c: Successfully reconnected" && [ "$(cattr "$c" state)" = live ] && break
    sleep 0.2; i=$((i + 1))
  done
  dmesg | grep "$c" | tail -n 8
  [ "$(cattr "$c" state)" = live ] || { disconnect_ctrl "$c"; fail "controller not live 60 s after restart ($(cattr "$c" state))"; }
  dmesg | grep -q "$c: Successfully reconnected" || { disconnect_ctrl "$c"; fail "host never reconnected (no reconnect in kernel log)"; }
  d="$(wait_ns 1 20)" || fail "namespace 1 gone after reconnect"
  run dd if="$d" of="$ST/after" bs=65536 skip=64 count=64 iflag=direct || { disconnect_ctrl "$c"; fail "read after restart failed"; }
  disconnect_ctrl "$c"
  [ "$(sha "$ST/before")" = "$(sha "$ST/after")" ] || fail "data written before the restart differs"
  why "host reconnected, 4 MiB written before the restart intact"
}

# A persistent discovery controller (nvme discover -p) is told of a discovery log change
# by an AEN (Notice, Discovery Log Page Change: result 0x70f002); the 6.1 host turns it
# into a uevent NVME_AEN=0x70f002 on that controller (nvme_aen_uevent), which udev's
# nvmf-connect rules use to re-run connect-all. busybox's uevent applet records it.
DISC_NQN=nqn.2014-08.org.nvmexpress.discovery
chk_disc_aen() {
  command -v busybox >/dev/null || skip "no busybox (its uevent applet records the uevent)"
  rm -f "$ST/uev"
  busybox uevent sh -c 'echo "${DEVPATH:-} ${NVME_AEN:-}" >>'"$ST/uev" & UPID=$!
  before=" $(ls /sys/class/nvme | tr '\n' ' ') "
  run nvme discover -t tcp -a "$TADDR" -s "$PORT" -p || { kill $UPID; fail "nvme discover -p exited $?"; }
  dc=""
  for c in /sys/class/nvme/nvme*; do
    n=${c##*/}
    [ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$DISC_NQN" ] || continue
    case "$before" in *" $n "*) ;; *) dc=$n ;; esac
  done
  [ -n "$dc" ] || { kill $UPID; fail "no persistent discovery controller after nvme discover -p"; }
  wait_state "$dc" live 10 || { kill $UPID; disconnect_ctrl "$dc"; fail "discovery controller $dc not live"; }
  show_ctrl "$dc"
  kato=$(cattr "$dc" kato)
  t0=$(now)
  ctl disc-change || { kill $UPID; disconnect_ctrl "$dc"; fail "runner could not change the discovery log: ${CTL_REPLY:-}"; }
  i=0
  while [ $i -lt 75 ] && ! grep -q "/$dc 0x70f002" "$ST/uev" 2>/dev/null; do sleep 0.2; i=$((i + 1)); done
  t1=$(now)
  cat "$ST/uev" 2>/dev/null | grep -v "^ *$" | tail -n 20
  seen=$(grep -c "/$dc 0x70f002" "$ST/uev" 2>/dev/null)
  # the log page the host reads after the event lists the new subsystem
  run nvme discover -t tcp -a "$TADDR" -s "$PORT" >"$ST/disc-after" 2>&1
  listed=$(grep -c "nvmet-ts-disc-aen" "$ST/disc-after")
  ctl disc-restore
  kill $UPID 2>/dev/null
  disconnect_ctrl "$dc"
  [ "${seen:-0}" -ge 1 ] || fail "no NVME_AEN=0x70f002 uevent on $dc within 15 s of the change"
  [ "${listed:-0}" -ge 1 ] || fail "the discovery log read after the event does not list the new subsystem"
  why "persistent discovery controller $dc (kato ${kato:-?}): uevent NVME_AEN=0x70f002 $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s after the link; the log then lists the new subsystem"
}

chk_keep_alive() {
  disconnect_subsys
  connect -k "$KATO" -c 2 -l 120 || fail "connect -k $KATO failed"
  c=$CTRL
  rm -f /out/ctl/keepalive.result
  ctl keepalive-drop "kato=$KATO"; rc=$?
  [ $rc = 77 ] && { disconnect_ctrl "$c"; skip "$CTL_REPLY"; }
  [ $rc = 0 ] || { disconnect_ctrl "$c"; fail "runner could not cut the link: ${CTL_REPLY:-}"; }
  # the link is down now: stay silent, wait for the runner's verdict (9p is not the network)
  i=0
  while [ $i -lt $((KATO * 3 + 30)) ] && [ ! -s /out/ctl/keepalive.result ]; do sleep 1; i=$((i + 1)); done
  res="$(cat /out/ctl/keepalive.result 2>/dev/null)"
  echo "runner: ${res:-no verdict}"
  wait_state "$c" live 60 || echo "(controller did not come back; removing it)"
  dmesg | grep "$c" | tail -n 8
  disconnect_ctrl "$c"
  case "$res" in
    pass*) why "${res#pass: }" ;;
    "") fail "no verdict from the runner" ;;
    *) fail "${res#fail: }" ;;
  esac
}

chk_disconnect_all() {
  disconnect_subsys
  connect || fail "first connect failed"
  # nvme-cli 2.3 refuses a second controller to the same address and
  # subsystem ("already connected", even with -D): use the second port
  CPORT="${DISC_PORT:-$PORT}" connect --hostnqn="$ALT_HOSTNQN" --hostid="$ALT_HOSTID" || fail "second connect failed"
  n=$(ctrls | wc -l)
  run nvme disconnect-all || fail "nvme disconnect-all exited $?"
  sleep 0.5
  [ -z "$(ctrls)" ] || fail "controllers left: $(ctrls)"
  ls /sys/class/nvme/ 2>/dev/null
  why "$n controllers removed"
}

# reactors: instance R (lib/reactors.ts) is nvmet-ts --reactors $RX_LOOPS with RAM namespaces on
# $RX_PORT: connections alternate between the main thread and a reactor thread (admin queue on
# the main thread). The runner checks the target's side and the SMART arithmetic afterwards.
jnum() { # key file -> the number (nvme-cli 2.3 prints 128-bit counters as strings)
  sed -n "s/.*\"$1\" *: *\"\{0,1\}\([0-9][0-9]*\)\"\{0,1\}.*/\1/p" "$2" | head -n1
}
rx_qid_of_cpu() { # ctrl cpu -> the I/O queue blk-mq maps that CPU to (hctx n is qid n+1), or ?
  for m in /sys/class/nvme/"$1"/nvme*n1/mq/*; do
    [ -f "$m/cpu_list" ] || continue
    case ",$(tr -d ' \n' <"$m/cpu_list")," in *",$2,"*) echo $((${m##*/} + 1)); return 0 ;; esac
  done
  echo '?'
}
chk_reactors() {
  [ "$MODE" = kernel-local ] && skip "kernel-local: the guest's own nvmet has no --reactors"
  [ -f /in/params-rx.sh ] || skip "no reactors instance in this run"
  . /in/params-rx.sh
  SUBNQN="$RX_SUBNQN"
  disconnect_subsys
  CPORT="$RX_PORT" connect -i "$RX_QUEUES" || fail "connect -i $RX_QUEUES to the --reactors $RX_LOOPS instance (port $RX_PORT) failed"
  c=$CTRL
  bad() { disconnect_ctrl "$c"; fail "$@"; }
  q=$(($(cattr "$c" queue_count) - 1))
  dmesg | grep "$c: mapped"
  [ "$q" = "$RX_QUEUES" ] || bad "$q I/O queues, expected $RX_QUEUES"
  cattr "$c" cntlid >"$A/rx-cntlid.txt"
  d1="$(wait_ns 1 20)" || bad "namespace 1 did not appear"
  d2="$(wait_ns 2 20)" || bad "namespace 2 did not appear"
  n=$(nproc)
  [ "$n" -ge 2 ] || bad "needs two CPUs (one I/O queue each), the guest has $n"
  for cpu in $(seq 0 $((n - 1))); do echo "cpu $cpu qid $(rx_qid_of_cpu "$c" "$cpu")"; done | tee "$A/rx-cpu-qid.txt"
  run nvme smart-log "/dev/$c" -o json >"$A/rx-smart-0.json" || bad "smart-log exited $?"
  # one fio job per CPU on its own region: every I/O queue carries I/O, both loops serve it
  run timeout 120 fio --name=reactors --filename="$d1" --ioengine=libaio --direct=1 --rw=randwrite \
    --bsrange=4k-256k --size="${RX_FIO_JOB_MIB}m" --offset_increment="${RX_FIO_JOB_MIB}m" --numjobs="$RX_FIO_JOBS" \
    --cpus_allowed="0-$((n - 1))" --cpus_allowed_policy=split --iodepth=16 --runtime=90 \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --randrepeat=0 \
    --group_reporting --output-format=json --output="$A/rx-fio.json"; rc=$?
  cat "$A/rx-fio.json"
  [ $rc = 0 ] || bad "fio exited $rc"
  grep -q '"error" *: *[1-9]' "$A/rx-fio.json" && bad "fio reported an error"
  run nvme smart-log "/dev/$c" -o json >"$A/rx-smart-1.json" || bad "smart-log exited $?"
  # a pattern written from CPU 0 and read back from CPU 1, another the other way (qid 1 and 2:
  # a reactor's queue and the main thread's)
  pb=$((RX_PATTERN_MIB * 16))
  dd if=/dev/urandom of="$ST/rx-a" bs=65536 count=$pb 2>/dev/null
  dd if=/dev/urandom of="$ST/rx-b" bs=65536 count=$pb 2>/dev/null
  run taskset -c 0 dd if="$ST/rx-a" of="$d2" bs=65536 oflag=direct conv=fsync 2>&1 || bad "pattern write from CPU 0 failed"
  run taskset -c 1 dd if="$d2" of="$ST/rx-a.back" bs=65536 count=$pb iflag=direct 2>&1 || bad "pattern read from CPU 1 failed"
  cmp "$ST/rx-a" "$ST/rx-a.back" || bad "$RX_PATTERN_MIB MiB written from CPU 0 read back from CPU 1 differ"
  run taskset -c 1 dd if="$ST/rx-b" of="$d2" bs=65536 seek=$pb oflag=direct conv=fsync 2>&1 || bad "pattern write from CPU 1 failed"
  run taskset -c 0 dd if="$d2" of="$ST/rx-b.back" bs=65536 skip=$pb count=$pb iflag=direct 2>&1 || bad "pattern read from CPU 0 failed"
  cmp "$ST/rx-b" "$ST/rx-b.back" || bad "$RX_PATTERN_MIB MiB written from CPU 1 read back from CPU 0 differ"
  # the target's reactor counters while connected (the runner keeps them for its verdict)
  ctl rx-state; rc=$?
  [ $rc = 0 ] || [ $rc = 78 ] || bad "runner could not read the target's reactor state: ${CTL_REPLY:-}"
  run nvme smart-log "/dev/$c" -o json >"$A/rx-smart-2.json" || bad "smart-log exited $?"
  for k in host_write_commands host_read_commands data_units_written data_units_read; do
    v0=$(jnum $k "$A/rx-smart-0.json"); v1=$(jnum $k "$A/rx-smart-1.json"); v2=$(jnum $k "$A/rx-smart-2.json")
    echo "smart-log $k: $v0 -> $v1 (fio) -> $v2 (dd)"
    [ -n "$v0" ] && [ -n "$v1" ] && [ -n "$v2" ] || bad "smart-log: no $k"
    [ "$v1" -gt "$v0" ] && [ "$v2" -gt "$v1" ] || bad "smart-log $k does not grow with the I/O: $v0 -> $v1 -> $v2"
  done
  run nvme disconnect -n "$RX_SUBNQN" || bad "nvme disconnect exited $?"
  sleep 0.5
  [ -z "$(ctrls)" ] || fail "controllers left: $(ctrls)"
  why "$c: $RX_QUEUES I/O queues; fio $((RX_FIO_JOBS * RX_FIO_JOB_MIB)) MiB (${RX_FIO_JOBS} jobs, one per CPU) crc32c ok; $RX_PATTERN_MIB MiB written from CPU 0 read back from CPU 1 and vice versa; smart-log host writes $(jnum host_write_commands "$A/rx-smart-0.json") -> $(jnum host_write_commands "$A/rx-smart-2.json"), reads $(jnum host_read_commands "$A/rx-smart-0.json") -> $(jnum host_read_commands "$A/rx-smart-2.json"); disconnected"
}

# the multipath and reservation rows (a second nvmet-ts process; lib/multipath.ts)
[ -f /in/checks-multipath.sh ] && . /in/checks-multipath.sh

# ----------------------------------------------------------------- driver --
if [ "${1:-}" = --one ]; then
  CHECK=$2
  "chk_$(echo "$2" | tr - _)"
  exit $?
fi

want() { case " $CHECKS " in *" $1 "*) return 0 ;; esac; return 1; }
run_check() { # id timeout
  want "$1" || return 0
  say "$1 ..."
  dmesg -c >/dev/null 2>&1
  t0=$(now)
  timeout -s KILL "$2" sh /in/checks.sh --one "$1" >"$L/$1.log" 2>&1
  rc=$?
  t1=$(now)
  { echo "----- kernel log -----"; dmesg -c; } >>"$L/$1.log" 2>&1
  case $rc in
    0) st=pass ;; 77) st=skip ;; 78) st=pending ;;
    *) st=fail
       if [ $rc = 137 ]; then echo "timed out after $2 s" >"$L/$1.reason"; fi
       [ -s "$L/$1.reason" ] || echo "exit status $rc" >"$L/$1.reason" ;;
  esac
  dt="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')"
  printf '%s\t%s\t%s\t%s\n' "$1" "$st" "$dt" "$(head -n1 "$L/$1.reason" 2>/dev/null)" >>"$R"
  say "$1: $st (${dt}s) $(head -n1 "$L/$1.reason" 2>/dev/null)"
}

: >"$R"
say "mode=$MODE target=$TADDR:$PORT subsystem=$SUBNQN host=$(cat /etc/nvme/hostnqn) cpus=$(nproc)"
# bounded command timeouts: a dropped completion must fail a check, not hang the run
modprobe nvme-core admin_timeout="${ADMIN_TIMEOUT:-15}" io_timeout="${IO_TIMEOUT:-15}"
modprobe nvme-fabrics && modprobe nvme-tcp || say "modprobe nvme-tcp failed"
CAP=""
if [ "$MODE" = kernel-local ]; then
  local_target_setup >"$L/local-target-setup.log" 2>&1 || { say "local target setup failed"; cat "$L/local-target-setup.log"; exit 1; }
  if [ "${GUEST_CAPTURE:-1}" = 1 ]; then
    # to tmpfs first: writing through 9p is slow enough to drop packets
    tcpdump -i lo -s 0 -B 131072 -w /tmp/guest.pcap "tcp port $PORT${DISC_PORT:+ or tcp port $DISC_PORT}" 2>"$L/tcpdump.log" &
    CAP=$!
    sleep 1
  fi
fi

run_check discover-text 30
run_check discover-json 30
run_check discover-8009-text 30
run_check discover-8009-json 30
run_check connect-default 60
run_check list 30
run_check id-ctrl 30
run_check id-ns 30
run_check ns-descs 30
run_check smart-log 45
run_check error-log 45
run_check get-feature-7 30
run_check effects-log 30
run_check supported-log-pages 30
run_check ana-paths 120
command -v mp_run_checks >/dev/null && mp_run_checks
run_check fio-nsid1 150
run_check fio-nsid2 150
run_check p2pmem-removal 150
run_check ext4 150
run_check ns-add 60
run_check disc-aen 60
run_check disconnect 30
run_check connect-ioq4 60
run_check connect-qsize128 60
run_check connect-digests 120
run_check connect-hostnqn 60
run_check connect-refused 60
run_check target-restart 120
run_check keep-alive $((KATO * 3 + 120))
run_check disconnect-all 60
run_check reactors 150

if [ -n "$CAP" ]; then
  kill "$CAP"; wait "$CAP"; cat "$L/tcpdump.log"
  cp /tmp/guest.pcap /out/guest.pcap && rm -f /tmp/guest.pcap
fi
say "done"
exit 0
