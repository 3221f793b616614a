# Guest side of the multipath and reservation rows (POSIX sh, sourced by checks.sh,
# which provides connect/ctrls/ns_dev/path_ana/wait_ana/ctl/fail/skip/why).
#
# The runner (lib/multipath.ts) runs a second nvmet-ts process, instance B, and
# writes /in/params-mp.sh: the subsystem MP_SUBNQN is served by the target under
# test (instance A, port $PORT, ANA group non-optimized) and by B (port
# $MP_PORT_B, optimized) with one shared file behind nsid 1; RESV_SUBNQN is
# served by A on $PORT and $DISC_PORT with reservations enabled.
# Each check runs in its own shell, so setting SUBNQN here changes only that check.

mp_init() {
  [ -f /in/params-mp.sh ] || skip "no second nvmet-ts instance in this run (kernel-local or --p2pmem)"
  . /in/params-mp.sh
  mp="$(cat /sys/module/nvme_core/parameters/multipath 2>/dev/null)"
  [ "$mp" = Y ] || fail "native NVMe multipath is off in this kernel (nvme_core.multipath=$mp)"
  SUBNQN="$MP_SUBNQN"
}
in_range() { # value lo-hi
  [ "$1" -ge "${2%-*}" ] 2>/dev/null && [ "$1" -le "${2#*-}" ]
}
# the path block device (nvmeXcYnZ) of namespace 1 via controller $1
path_dev() {
  for p in /sys/class/nvme/"$1"/nvme*c*n*; do
    [ "$(cat "$p/nsid" 2>/dev/null)" = 1 ] && { echo "${p##*/}"; return 0; }
  done
  return 1
}
mp_both() {
  CA="$(cat "$ST/mp-a" 2>/dev/null)"; CB="$(cat "$ST/mp-b" 2>/dev/null)"
  [ -n "$CA" ] && [ -n "$CB" ] || fail "no two paths (mp-list-subsys failed)"
  wait_state "$CA" live 30 >&2 || fail "path via A ($CA) not live"
  wait_state "$CB" live 30 >&2 || fail "path via B ($CB) not live"
  wait_ana "$CB" optimized 20 >&2 || fail "path via B not optimized before the row"
}
mp_cleanup() { [ -n "$(ctrls)" ] && run nvme disconnect -n "$MP_SUBNQN"; rm -f "$ST/mp-a" "$ST/mp-b"; return 0; }
# Write commands each instance's shared namespace served (its current life), from the runner's
# view of both management APIs: "A B" ("down" for a dead one). 6.1 keeps no I/O statistics on
# multipath head or path disks, so the targets' counters are the evidence of where I/O went.
mp_writes() { ctl mp-writes >&2; echo "$resp" | sed -n 's/.*a=\([0-9a-z]*\) b=\([0-9a-z]*\).*/\1 \2/p'; }
wa() { echo "${1% *}"; }
wb() { echo "${1#* }"; }
num() { case "$1" in ''|*[!0-9]*) echo 0 ;; *) echo "$1" ;; esac; }
mp_fio() { # name -> starts fio in the background on the shared namespace, pid in $FIO
  run fio --name="$1" --filename="$D" --ioengine=libaio --direct=1 --rw=randwrite \
    --bsrange=4k-128k --size="$MP_FIO_SIZE" --rate=2m --iodepth=8 --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --group_reporting --output="$A/$1.txt" &
  FIO=$!
  # act once writes flow (B's counter moves), 15 s at most: fio takes a few seconds to start under TCG
  w0="$(mp_writes)"
  for _ in $(seq 1 30); do
    sleep 0.5
    [ "$(num "$(wb "$(mp_writes)")")" -gt "$(num "$(wb "$w0")")" ] && break
  done
  sleep 1
}
fio_verdict() { # name rc
  cat "$A/$1.txt"
  [ "$2" = 0 ] || fail "fio exited $2 $3"
  grep -qi 'verify.*fail\|bad magic\|crc32c.*mismatch' "$A/$1.txt" && fail "fio reported verify errors $3"
  return 0
}

chk_mp_list_subsys() {
  mp_init
  mp_cleanup
  # -c 1: reconnect every second once a path is lost (mp-fio-kill brings B back)
  connect -c 1 -l 120 || fail "connect to instance A (port $PORT) failed"
  CA=$CTRL; echo "$CA" >"$ST/mp-a"
  CPORT="$MP_PORT_B" connect -c 1 -l 120 || { mp_cleanup; fail "connect to instance B (port $MP_PORT_B) failed"; }
  CB=$CTRL; echo "$CB" >"$ST/mp-b"
  a="$(cattr "$CA" cntlid)"; b="$(cattr "$CB" cntlid)"
  in_range "$a" "$MP_CNTLID_A" || fail "cntlid $a via A is outside A's range $MP_CNTLID_A"
  in_range "$b" "$MP_CNTLID_B" || fail "cntlid $b via B is outside B's range $MP_CNTLID_B"
  [ "$(cattr "$CA" subsysnqn)" = "$MP_SUBNQN" ] && [ "$(cattr "$CB" subsysnqn)" = "$MP_SUBNQN" ] || fail "subsystem NQNs differ"
  wait_ana "$CA" non-optimized 20 || fail "path via A not non-optimized"
  wait_ana "$CB" optimized 20 || fail "path via B not optimized"
  D="$(wait_ns 1 20)" || fail "no block device for the shared namespace"
  head="${D#/dev/}"
  # one head over both processes: each controller's path disk nvmeScCnZ belongs to head nvmeSnZ
  pa="$(path_dev "$CA")"; pb="$(path_dev "$CB")"
  echo "head $head, paths: $pa (via A) $pb (via B)"
  [ -n "$pa" ] && [ -n "$pb" ] || fail "no path disk via A ($pa) or B ($pb)"
  [ "$(echo "$pa" | sed 's/c[0-9]*n/n/')" = "$head" ] && [ "$(echo "$pb" | sed 's/c[0-9]*n/n/')" = "$head" ] \
    || fail "paths $pa and $pb are not both under $D: the host did not see one namespace"
  run nvme list-subsys -o json >"$A/mp-list-subsys.json" 2>&1; cat "$A/mp-list-subsys.json"
  out="$(run nvme list-subsys "$D" 2>&1)"; rc=$?; echo "$out"; echo "$out" >"$A/mp-list-subsys.txt"
  [ $rc = 0 ] || fail "nvme list-subsys $D exited $rc"
  echo "$out" | grep "trsvcid=$PORT[, ]" | grep -q " live non-optimized" || fail "list-subsys does not show the path via A (trsvcid $PORT) live non-optimized"
  echo "$out" | grep "trsvcid=$MP_PORT_B[, ]" | grep -q " live optimized" || fail "list-subsys does not show the path via B (trsvcid $MP_PORT_B) live optimized"
  # the identifiers both processes report are the ones the host keyed the namespace on
  descs="$(run nvme ns-descs "$D" 2>&1)"; echo "$descs"
  for c in "$CA" "$CB"; do
    run nvme ns-descs "/dev/$c" -n 1 >"$A/mp-ns-descs-$c.txt" 2>&1 || fail "nvme ns-descs via $c exited $?"
    cat "$A/mp-ns-descs-$c.txt"
    for id in "$MP_EUI64" "$MP_NGUID" "$(echo "$MP_UUID" | tr -d -)"; do
      tr -d ' -' <"$A/mp-ns-descs-$c.txt" | grep -qi "$id" || fail "ns-descs via $c lacks $id"
    done
  done
  eui="$(tr -d ' :\n' <"/sys/block/$head/eui" 2>/dev/null)"
  echo "sysfs eui = $eui, nguid = $(cat "/sys/block/$head/nguid" 2>/dev/null), uuid = $(cat "/sys/block/$head/uuid" 2>/dev/null), wwid = $(cat "/sys/block/$head/wwid" 2>/dev/null)"
  [ "$eui" = "$MP_EUI64" ] || fail "the host's EUI-64 for $D is '$eui', expected $MP_EUI64"
  why "$D: one namespace, 2 paths ($pa, $pb): A $CA (cntlid $a) non-optimized, B $CB (cntlid $b) optimized; NGUID/UUID/EUI-64 equal on both"
}

chk_mp_fio_kill() {
  mp_init
  mp_both
  D="$(ns_dev 1)" || fail "no block device for the shared namespace"
  mp_fio mp-fio-kill
  ctl mp-kill || { kill "$FIO"; wait "$FIO"; fail "runner could not kill instance B: ${CTL_REPLY:-}"; }
  t0=$(now)
  # the host sees B's connection die and fails its I/O over to A
  i=0; while [ $i -lt 100 ] && [ "$(cattr "$CB" state)" = live ]; do sleep 0.1; i=$((i + 1)); done
  echo "path via B: $(cattr "$CB" state)"
  a0=$(num "$(wa "$(mp_writes)")")
  sleep 4
  a1=$(num "$(wa "$(mp_writes)")")
  echo "writes served by A while B was down: $a0 -> $a1"
  ctl mp-start || { kill "$FIO"; wait "$FIO"; fail "runner could not restart instance B: ${CTL_REPLY:-}"; }
  wait_state "$CB" live 30 || { kill "$FIO"; wait "$FIO"; fail "path via B did not come back after the restart"; }
  t1=$(now)
  wait_ana "$CB" optimized 20 || { kill "$FIO"; wait "$FIO"; fail "path via B not optimized after the restart"; }
  sleep 3
  b1=$(num "$(wb "$(mp_writes)")")
  wait "$FIO"; rc=$?
  fio_verdict mp-fio-kill $rc "across the kill of instance B"
  dmesg | grep -i "$CB" | tail -n 8
  [ "$a1" -gt "$a0" ] || fail "A served no write while B was down ($a0 -> $a1): no failover"
  [ "$b1" -gt 0 ] || fail "the restarted instance B served no writes: I/O did not return"
  why "fio $MP_FIO_SIZE crc32c ok; B killed (SIGKILL): $((a1 - a0)) writes served by A in 4 s; B back $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s after the kill, optimized, served $b1 writes"
}

chk_mp_fio_ana() {
  mp_init
  mp_both
  D="$(ns_dev 1)" || fail "no block device for the shared namespace"
  mp_fio mp-fio-ana
  ctl mp-ana "state=inaccessible"; rc=$?
  [ $rc = 78 ] && { kill "$FIO"; wait "$FIO"; mp_cleanup; pending "${CTL_REPLY:-}"; }
  [ $rc = 0 ] || { kill "$FIO"; wait "$FIO"; mp_cleanup; fail "runner could not set B's group inaccessible: ${CTL_REPLY:-}"; }
  wait_ana "$CB" inaccessible 20 || { ctl mp-ana "state=optimized"; kill "$FIO"; wait "$FIO"; mp_cleanup; fail "host did not see B inaccessible"; }
  run nvme list-subsys "$D"
  w0="$(mp_writes)"
  sleep 4
  w1="$(mp_writes)"
  echo "while B was inaccessible: $w0 -> $w1 (A B)"
  ctl mp-ana "state=optimized" || { kill "$FIO"; wait "$FIO"; mp_cleanup; fail "could not restore B: ${CTL_REPLY:-}"; }
  wait_ana "$CB" optimized 20 || { kill "$FIO"; wait "$FIO"; mp_cleanup; fail "host did not see B optimized again"; }
  sleep 3
  w2="$(mp_writes)"
  echo "after B optimized again: $w1 -> $w2 (A B)"
  wait "$FIO"; rc=$?
  mp_cleanup
  fio_verdict mp-fio-ana $rc "across B's ANA flip"
  a0=$(num "$(wa "$w0")"); a1=$(num "$(wa "$w1")"); b0=$(num "$(wb "$w0")"); b1=$(num "$(wb "$w1")"); b2=$(num "$(wb "$w2")")
  [ "$a1" -gt "$a0" ] || fail "A served no write while B was inaccessible ($a0 -> $a1)"
  [ "$b1" = "$b0" ] || fail "B served $((b1 - b0)) writes while inaccessible"
  [ "$b2" -gt "$b1" ] || fail "B served no writes after it was optimized again ($b1 -> $b2)"
  why "fio $MP_FIO_SIZE crc32c ok; B inaccessible: $((a1 - a0)) writes on A, none on B; B optimized again: $((b2 - b1)) writes on B"
}

# io CTRL OPCODE(1 write, 2 read): one 512-byte command through the controller's char device
# (one namespace per controller: the kernel sends it as that controller's host)
resv_io() {
  # long options only: nvme-cli 2.13 moved -o to --output-format (--opcode is -O there)
  if [ "$2" = 1 ]; then run nvme io-passthru "/dev/$1" --namespace-id=1 --opcode=1 --data-len=512 --write --input-file="$ST/blk" --cdw10=8 --cdw12=0 2>&1
  else run nvme io-passthru "/dev/$1" --namespace-id=1 --opcode=2 --data-len=512 --read --cdw10=8 --cdw12=0 2>&1 >/dev/null; fi
}
is_conflict() { echo "$1" | grep -qi 'reservation.conflict\|(0x83)\|0x4083'; }
resv_report() { # ctrl file -> the report (text) in $A/file
  run nvme resv-report "/dev/$1" -n 1 --eds >"$A/$2" 2>&1; r=$?; cat "$A/$2"; return $r
}
field() { sed -n "s/^$1 *: *//p" "$2" | head -n1 | tr -d ' '; }

chk_resv_two_hosts() {
  mp_init
  SUBNQN="$RESV_SUBNQN"
  [ -n "${DISC_PORT:-}" ] || skip "no second port"
  disconnect_subsys
  connect --hostnqn="$HOSTNQN" --hostid="$HOSTID" || fail "host 1 connect failed"
  C1=$CTRL
  CPORT="$DISC_PORT" connect --hostnqn="$ALT_HOSTNQN" --hostid="$ALT_HOSTID" || { disconnect_subsys; fail "host 2 connect failed"; }
  C2=$CTRL
  dd if=/dev/urandom of="$ST/blk" bs=512 count=1 2>/dev/null
  K1=0x1111aaaa; K2=0x2222bbbb
  bad() { disconnect_subsys; fail "$@"; }
  run nvme resv-register "/dev/$C1" -n 1 --nrkey=$K1 --rrega=0 || bad "host 1 resv-register exited $?"
  run nvme resv-register "/dev/$C2" -n 1 --nrkey=$K2 --rrega=0 || bad "host 2 resv-register exited $?"
  run nvme resv-acquire "/dev/$C1" -n 1 --crkey=$K1 --rtype=1 --racqa=0 || bad "host 1 resv-acquire (Write Exclusive) exited $?"
  resv_report "$C2" resv-report-held.txt || bad "resv-report exited $?"
  run nvme resv-report "/dev/$C2" -n 1 --eds -o json >"$A/resv-report-held.json" 2>&1; cat "$A/resv-report-held.json"
  f="$A/resv-report-held.txt"
  [ "$(field rtype "$f")" = 1 ] || bad "report: rtype $(field rtype "$f"), expected 1 (Write Exclusive)"
  [ "$(field regctl "$f")" = 2 ] || bad "report: regctl $(field regctl "$f"), expected 2 registrants"
  for h in "$HOSTID" "$ALT_HOSTID"; do tr -d ' -' <"$f" | grep -qi "$(echo "$h" | tr -d -)" || bad "report lacks host ID $h"; done
  for k in 1111aaaa 2222bbbb; do grep -qi "$k" "$f" || bad "report lacks key $k"; done
  # conflicts: host 2 may read (Write Exclusive) but not write or take the reservation
  out="$(resv_io "$C2" 1)"; rc=$?; echo "$out"
  [ $rc != 0 ] || bad "a write from host 2 (not the holder) succeeded under host 1's Write Exclusive reservation"
  is_conflict "$out" || bad "host 2's write failed, but not with Reservation Conflict: $out"
  resv_io "$C2" 2 || bad "a read from host 2 failed under Write Exclusive (reads are allowed)"
  resv_io "$C1" 1 || bad "a write from the holder (host 1) failed"
  out="$(run nvme resv-acquire "/dev/$C2" -n 1 --crkey=$K2 --rtype=1 --racqa=0 2>&1)"; rc=$?; echo "$out"
  [ $rc != 0 ] && is_conflict "$out" || bad "host 2's acquire while host 1 holds: rc $rc, expected Reservation Conflict: $out"
  # release: host 2 may write again; unregister both: nobody registered
  run nvme resv-release "/dev/$C1" -n 1 --crkey=$K1 --rtype=1 --rrela=0 || bad "host 1 resv-release exited $?"
  resv_io "$C2" 1 || bad "host 2's write failed after the release"
  resv_report "$C1" resv-report-released.txt || bad "resv-report exited $?"
  [ "$(field rtype "$A/resv-report-released.txt")" = 0 ] || bad "report after release: rtype $(field rtype "$A/resv-report-released.txt"), expected 0"
  run nvme resv-register "/dev/$C1" -n 1 --crkey=$K1 --rrega=1 || bad "host 1 unregister exited $?"
  run nvme resv-register "/dev/$C2" -n 1 --crkey=$K2 --rrega=1 || bad "host 2 unregister exited $?"
  resv_report "$C1" resv-report-empty.txt || bad "resv-report exited $?"
  [ "$(field regctl "$A/resv-report-empty.txt")" = 0 ] || bad "report after unregistering: regctl $(field regctl "$A/resv-report-empty.txt"), expected 0"
  disconnect_subsys
  why "2 registrants reported, host 1 holds Write Exclusive: host 2 write + acquire -> Reservation Conflict, read ok; released: host 2 writes; unregistered: 0"
}

# the driver's hook: run these rows in order
mp_run_checks() {
  run_check mp-list-subsys 60
  run_check mp-fio-kill 150
  run_check mp-fio-ana 120
  run_check resv-two-hosts 90
}
