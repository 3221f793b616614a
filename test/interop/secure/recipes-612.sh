# shellcheck shell=sh
# The README's fault-injection recipes ("Fault and latency injection"), each applied over the
# management API exactly as the README shows it (curl there, socat here: the guest has no curl),
# with the host action the README names, checked by the 6.12 host's own dmesg lines quoted in
# the README. Sourced by checks-612.sh (uses its row/dmesg_since); the target side is the
# `nqn.2024-01.io.nvmet-ts:recipes` subsystem of target-config.json on ports 3 (4422) and 4
# (4423), namespaces 1 and 2, and the API on 127.0.0.1:9420 of the target's netns.
RSUB=nqn.2024-01.io.nvmet-ts:recipes
API_PORT=9420

api() { # METHOD PATH [JSON] -> "HTTP/1.1 NNN ..." line and body on stdout
  b=${3:-}; ct=""; [ -n "$b" ] && ct="Content-Type: application/json\r\n"
  printf "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n${ct}Content-Length: %d\r\nConnection: close\r\n\r\n%s" \
    "$1" "$2" "$API_PORT" "${#b}" "$b" | timeout 10 socat - "TCP:$T:$API_PORT" 2>&1
}
api_ok() { # METHOD PATH [JSON] -> 0 when 2xx; logs the exchange to $L
  r=$(api "$@"); echo "api $1 $2 $3 -> $(echo "$r" | head -n1)" >>"$L"
  echo "$r" | head -n1 | grep -q ' 2[0-9][0-9] '
}
r_ctrls() { # -> nvmeN of every controller of $RSUB
  for c in /sys/class/nvme/nvme*; do [ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$RSUB" ] && echo "${c##*/}"; done
}
r_dev() { # NSID -> /dev/nvmeXnY (the multipath head) of $RSUB
  for i in 1 2 3 4 5 6 7 8 9 10; do
    for b in /sys/block/nvme*n*; do
      n=${b##*/}; case "$n" in *c*) continue ;; esac
      [ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$RSUB" ] && [ "$(cat "$b/nsid" 2>/dev/null)" = "$1" ] \
        && [ -b "/dev/$n" ] && { echo "/dev/$n"; return 0; }
    done
    sleep 1
  done; return 1
}
r_connect() { # PORT [nvme connect args] -> 0 when a controller through PORT is there
  p=$1; shift
  timeout 60 nvme connect -t tcp -a "$T" -s "$p" -n "$RSUB" --reconnect-delay=1 --ctrl-loss-tmo=60 "$@" >>"$L" 2>&1
  for c in $(r_ctrls); do grep -q "trsvcid=$p" "/sys/class/nvme/$c/address" && return 0; done; return 1
}
r_disconnect() { nvme disconnect -n "$RSUB" >>"$L" 2>&1; api DELETE /api/faults >/dev/null; sleep 1; }
# quote: the kernel lines of this recipe (timestamps and device numbers stripped) into the row log
r_lines() { dmesg_since "$1" | sed 's/^\[[ 0-9.]*\] //' >"/out/rows/$id.dmesg"; cat "/out/rows/$id.dmesg" >>"$L"; }
has() { grep -qE "$1" "/out/rows/$id.dmesg"; }

# ---- host timeout and abort: a Read of LBA 0 is held (hang); the host's I/O timeout fires,
# it recovers the controller (reconnect) and the retried read completes.
id=recipe-host-timeout; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
old_to=$(cat /sys/module/nvme_core/parameters/io_timeout)
echo 5 >/sys/module/nvme_core/parameters/io_timeout   # 30 s by default; read when the queues are made
if r_connect 4422 && d=$(r_dev 1); then
  api_ok POST /api/faults '{"id":"stuck","match":{"subsysnqn":"'"$RSUB"'","set":"io","opcode":2,"lba":{"first":0,"last":0}},"fire":{"count":1},"action":{"type":"hang"}}'
  t0=$(cut -d' ' -f1 /proc/uptime)
  timeout 60 dd if="$d" of=/dev/null bs=4k count=1 iflag=direct >>"$L" 2>&1; rc=$?
  t1=$(cut -d' ' -f1 /proc/uptime)
  r_lines "$m0"
  if [ $rc -eq 0 ] && has 'I/O tag [0-9]+ \([0-9a-f]+\) type [0-9]+ opcode 0x2 \([^)]*\) QID [0-9]+ timeout' && has 'starting error recovery' && has 'Successfully reconnected'; then
    row "$id" pass "read held, host timed out after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b-a}') s, recovered, read completed: $(grep -m1 'timeout' "/out/rows/$id.dmesg")"
  else row "$id" fail "dd rc=$rc; host lines: $(tr '\n' '|' <"/out/rows/$id.dmesg" | cut -c1-300)"; fi
else row "$id" fail "connect to :4422 failed"; fi
r_disconnect
echo "$old_to" >/sys/module/nvme_core/parameters/io_timeout

# ---- digest error storm: every 20th read's C2HData carries a wrong data digest (10 of them);
# the host logs each, retries the read, and fio sees no error.
id=recipe-digest-storm; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
if r_connect 4422 --data-digest && d=$(r_dev 1); then
  api_ok POST /api/faults '{"id":"ddgst-storm","match":{"subsysnqn":"'"$RSUB"'","set":"io","opcode":2},"fire":{"everyNth":20,"count":10,"seed":1},"action":{"type":"corrupt-data-digest"}}'
  timeout 60 fio --name=storm --filename="$d" --rw=randread --bs=4k --size=16M --direct=1 --ioengine=psync \
    --time_based --runtime=5 >>"$L" 2>&1; rc=$?
  r_lines "$m0"
  n=$(grep -c 'data digest error' "/out/rows/$id.dmesg")
  if [ $rc -eq 0 ] && [ "$n" -ge 1 ]; then row "$id" pass "fio ok, $n host lines like: $(grep -m1 'data digest error' "/out/rows/$id.dmesg")"
  else row "$id" fail "fio rc=$rc, $n digest errors logged"; fi
else row "$id" fail "connect with --data-digest failed"; fi
r_disconnect

# ---- controller fatal during fio: the controller fails (CSTS.CFS, queues dropped) under a
# write+verify load; the host recovers and fio's verify still passes.
id=recipe-ctrl-fatal; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
if r_connect 4422 && d=$(r_dev 1); then
  timeout 90 fio --name=cfs --filename="$d" --rw=randwrite --bs=4k --size=8M --direct=1 --ioengine=psync \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --time_based --runtime=6 >>"$L" 2>&1 &
  fp=$!; sleep 2
  api_ok POST /api/faults '{"id":"cfs","match":{"subsysnqn":"'"$RSUB"'","set":"io"},"fire":{"count":1},"action":{"type":"controller-fatal"}}'
  wait $fp; rc=$?
  r_lines "$m0"
  if [ $rc -eq 0 ] && has 'starting error recovery|Reconnecting' && has 'Successfully reconnected'; then
    row "$id" pass "fio verify ok across the failure: $(grep -m1 -E 'starting error recovery|Reconnecting' "/out/rows/$id.dmesg")"
  else row "$id" fail "fio rc=$rc; host lines: $(tr '\n' '|' <"/out/rows/$id.dmesg" | cut -c1-300)"; fi
else row "$id" fail "connect failed"; fi
r_disconnect

# ---- ANA failover under load: two paths (ports 3 and 4); port 3's group 1 goes inaccessible
# during fio, I/O moves to port 4, then the group is optimized again.
id=recipe-ana-failover; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
if r_connect 4422 && r_connect 4423 && d=$(r_dev 1); then
  pa=""; pb=""
  for c in $(r_ctrls); do
    case "$(cat "/sys/class/nvme/$c/address")" in *trsvcid=4422*) pa=$c ;; *trsvcid=4423*) pb=$c ;; esac
  done
  # path devices nvmeXcYn1: Y = the controller's instance (their stat counters stay 0 on 6.12:
  # I/O is accounted on the multipath head), so the target counts I/O per port instead, with
  # two rules that never fire (probability 0: every matching command is a hit, none injected)
  ppath() { for b in /sys/block/nvme*c"${1#nvme}"n1; do [ -e "$b" ] && echo "$b"; done; }
  for pt in 3 4; do
    api_ok POST /api/faults '{"id":"count-port'$pt'","match":{"port":'$pt',"subsysnqn":"'"$RSUB"'","set":"io"},"fire":{"probability":0},"action":{"type":"delay","ms":0}}'
  done
  hits() { api GET "/api/faults/count-port$1" | sed -n 's/.*"hits":\([0-9]*\).*/\1/p'; }
  timeout 90 fio --name=ana --filename="$d" --rw=randwrite --bs=4k --size=8M --direct=1 --ioengine=psync \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --time_based --runtime=8 >>"$L" 2>&1 &
  fp=$!; sleep 2
  api_ok PUT /api/ports/3/ana_groups/1 '{"state":"inaccessible"}'
  sleep 1; sa=$(cat "$(ppath "$pa")/ana_state" 2>/dev/null); sb=$(cat "$(ppath "$pb")/ana_state" 2>/dev/null)
  a0=$(hits 3); b0=$(hits 4); sleep 3; a1=$(hits 3); b1=$(hits 4)
  api_ok PUT /api/ports/3/ana_groups/1 '{"state":"optimized"}'
  wait $fp; rc=$?
  sleep 1; sa2=$(cat "$(ppath "$pa")/ana_state" 2>/dev/null)
  r_lines "$m0"
  echo "path $pa (4422) while inaccessible: $sa, $pb: $sb, after: $sa2; I/Os in 3 s: port 3 $((a1 - a0)) port 4 $((b1 - b0))" >>"$L"
  if [ $rc -eq 0 ] && [ "$sa" = inaccessible ] && [ "$sa2" = optimized ] && [ $((a1 - a0)) -eq 0 ] && [ $((b1 - b0)) -gt 0 ]; then
    row "$id" pass "fio verify ok; $pa (4422) ana_state $sa then $sa2; 3 s of I/O all through 4423 ($((b1 - b0)) commands); no host log lines"
  else row "$id" fail "fio rc=$rc, $pa ana_state=$sa/$sa2, I/Os port 3 $((a1 - a0)) port 4 $((b1 - b0))"; fi
else row "$id" fail "two-path connect failed"; fi
r_disconnect

# ---- slow namespace (p99 = 50 ms): every I/O to namespace 2 is delayed log-normally
# (p50 5 ms, p99 50 ms); fio's completion-latency percentiles show it, namespace 1 does not.
id=recipe-slow-namespace; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
pct() { # fio output file, percentile ("50.00"|"99.00") -> value in ms
  awk -v p="$2" '/clat percentiles \(/{u=($0 ~ /msec/) ? 1 : ($0 ~ /nsec/ ? 0.000001 : 0.001)}
    { while (match($0, /[0-9.]+th=\[ *[0-9]+\]/)) { s=substr($0, RSTART, RLENGTH); $0=substr($0, RSTART+RLENGTH)
        split(s, a, /th=\[ */); if (a[1] == p) { sub(/\]/, "", a[2]); printf "%.1f\n", a[2] * u; exit } } }' "$1"
}
if r_connect 4422 && d2=$(r_dev 2) && d1=$(r_dev 1); then
  api_ok POST /api/faults '{"id":"slow-ns2","match":{"subsysnqn":"'"$RSUB"'","set":"io","nsid":2},"fire":{"seed":7},"action":{"type":"delay","p50":5,"p99":50}}'
  for x in 2 1; do
    eval dev=\$d$x
    timeout 60 fio --name=slow$x --filename="$dev" --rw=randread --bs=4k --size=16M --direct=1 --ioengine=psync \
      --time_based --runtime=5 --clat_percentiles=1 --percentile_list=50:99 >"/out/rows/$id.fio$x" 2>&1
    cat "/out/rows/$id.fio$x" >>"$L"
  done
  r_lines "$m0"
  p50=$(pct "/out/rows/$id.fio2" 50); p99=$(pct "/out/rows/$id.fio2" 99); q50=$(pct "/out/rows/$id.fio1" 50); q99=$(pct "/out/rows/$id.fio1" 99)
  # The host sees the drawn delay plus its own latency (large and noisy under TCG: namespace 1
  # alone had p50 4 ms / p99 53 ms here), so only lower bounds hold: p50 >= 5 ms, p99 >= 30 ms,
  # and namespace 2's median above namespace 1's. Nothing times out, so the host logs nothing.
  if awk -v a="$p50" -v b="$p99" -v c="$q50" 'BEGIN{exit !(a >= 5 && b >= 30 && a > c)}' && ! has 'timeout|error'; then
    row "$id" pass "ns2 clat p50 $p50 ms p99 $p99 ms (ns1 p50 $q50 p99 $q99 ms); no host log lines"
  else row "$id" fail "ns2 p50 '$p50' p99 '$p99' ms, ns1 p50 '$q50' p99 '$q99' ms; host lines: $(tr '\n' '|' <"/out/rows/$id.dmesg" | cut -c1-200)"; fi
else row "$id" fail "connect failed"; fi
r_disconnect
