#!/usr/bin/env bash
# Secure-connections interop run against a Debian 13 host (kernel 6.12, nvme-cli 2.13,
# tlshd) under QEMU: builds/reuses the trixie guest, starts nvmet-ts (bin/nvmet-ts.js,
# so with the OpenSSL settings TLS needs) inside a private netns on 127.0.0.1:4420 (plain,
# DH-HMAC-CHAP) and :4421 (TLS 1.3 required), captures the exchange with tcpdump for the
# tshark wire check, boots the guest with checks-612.sh and prints the row table.
# Needs root. Usage: run-612.sh [OUTDIR]   Env: BUILD_DIR (guest cache), TIMEOUT,
# ONLY=FILE (run only that row file of this folder, e.g. ONLY=recipes-612.sh; the wire check then fails).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
OUT="${1:-$(mktemp -d /tmp/nvmet-ts-secure.XXXXXX)}"; mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
# The guest image is cached per content of its builder (and the shared guest-lib.sh), so a
# change to the package list rebuilds it; the trixie apt state is shared between builds.
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/nvmet-ts/guest-trixie"
GKEY="$(cat "$HERE/../guest/build-guest-trixie.sh" "$HERE/../guest/guest-lib.sh" | sha256sum | cut -c1-16)"
BUILD_DIR="${BUILD_DIR:-$CACHE/$GKEY}"
NS="nvmetts-sec-$$"
[ "$(id -u)" = 0 ] || { echo "run-612.sh needs root (netns, QEMU)"; exit 2; }
# What the guest build and the run use, installed from Debian (the system's own release) when missing.
# shellcheck source=../lib/host-tools.sh
. "$HERE/../lib/host-tools.sh"
host_tools_ensure "$OUT/apt.log" @guest @wire || exit 2
if [ ! -f "$BUILD_DIR/vmlinuz" ] || [ ! -f "$BUILD_DIR/initramfs.cpio.gz" ]; then
  echo "building the Debian 13 guest into $BUILD_DIR ..."
  mkdir -p "$CACHE"
  APT_DIR="${APT_DIR:-$CACHE/apt}" bash "$HERE/../guest/build-guest-trixie.sh" "$BUILD_DIR.tmp-$$" >"$OUT/build.log" 2>&1 \
    && rm -rf "$BUILD_DIR" && mv "$BUILD_DIR.tmp-$$" "$BUILD_DIR" \
    || { rm -rf "$BUILD_DIR.tmp-$$"; echo "guest build failed: $OUT/build.log"; exit 2; }
fi
ip netns add "$NS" && ip -n "$NS" link set lo up
TPID=""; CPID=""
# PIDs of host-side helpers that row files start (killed, by PID, at exit)
EXTRA_PIDS=()
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null
  for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
mkdir -p "$OUT/data"
ip netns exec "$NS" node "$ROOT/bin/nvmet-ts.js" --config "$HERE/target-config.json" --data-dir "$OUT/data" --api 127.0.0.1:9420 >"$OUT/target.log" 2>&1 &
TPID=$!
# ready = the last port enabled and the API (the recipes rows drive it from the guest) accepting
for i in $(seq 1 100); do
  grep -q "port 4 enabled" "$OUT/target.log" 2>/dev/null && ip netns exec "$NS" bash -c 'echo >/dev/tcp/127.0.0.1/9420' 2>/dev/null && break
  sleep 0.2
done
grep -q "port 4 enabled" "$OUT/target.log" || { echo "target did not start:"; cat "$OUT/target.log"; exit 2; }
if command -v tcpdump >/dev/null; then
  ip netns exec "$NS" tcpdump -i lo -s 0 -w "$OUT/wire.pcap" 'tcp port 4420 or tcp port 4421' >"$OUT/capture.log" 2>&1 &
  CPID=$!; sleep 1
elif command -v dumpcap >/dev/null; then
  ip netns exec "$NS" dumpcap -q -i lo -f 'tcp port 4420 or tcp port 4421' -w "$OUT/wire.pcap" >"$OUT/capture.log" 2>&1 &
  CPID=$!; sleep 2
fi
# Host-side setup of other row files, one line each: `. "$HERE/FILE"`. They run with
# NS (the netns; the guest reaches its 127.0.0.1 as 10.0.2.2), OUT, ROOT, HERE set, may start
# processes there (append their PIDs to EXTRA_PIDS) and export GUEST_* variables for the guest.
GUEST_ONLY="${ONLY:-}" NETNS="$NS" BUILD_DIR="$BUILD_DIR" SMP="${SMP:-2}" TIMEOUT="${TIMEOUT:-900}" bash "$HERE/run-guest.sh" "$HERE/checks-612.sh" "$OUT/guest" >"$OUT/guest.log" 2>&1
GRC=$?
[ -n "$CPID" ] && { kill "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null; CPID=""; }
bash "$HERE/../multipath/run-612.sh" "$OUT/multipath" "$BUILD_DIR" >>"$OUT/guest/results.txt"  # issue 12 rows (S3): 2 nvmet-ts processes + reservations, own netns + guest
WIRE="no capture"; WIRE_OK=0
if [ -s "$OUT/wire.pcap" ] && command -v tshark >/dev/null; then
  # Wireshark's NVMe/TCP dissector decodes the Authentication Send/Receive commands of port 4420.
  n=$(tshark -r "$OUT/wire.pcap" -d tcp.port==4420,nvme-tcp -Y 'nvme.fabrics.cmd.auth.secp == 0xe9' 2>/dev/null | wc -l)
  a=$(tshark -r "$OUT/wire.pcap" -d tcp.port==4420,nvme-tcp -Y 'nvme.fabrics.cqe.connect.authreq != 0' 2>/dev/null | wc -l)
  t=$(tshark -r "$OUT/wire.pcap" -Y 'tls.handshake.type == 1 && tcp.dstport == 4421' 2>/dev/null | wc -l)
  m=$(tshark -r "$OUT/wire.pcap" -d tcp.port==4420,nvme-tcp -Y '_ws.malformed || _ws.expert.severity == error' 2>/dev/null | wc -l)
  WIRE="$n Authentication Send/Receive (SECP E9h) and $a Connect responses with AUTHREQ decoded on :4420, $t TLS ClientHello on :4421, $m malformed"
  # The row passes only when the dissector saw the exchange and found nothing malformed.
  [ "$n" -gt 0 ] && [ "$a" -gt 0 ] && [ "$t" -gt 0 ] && [ "$m" -eq 0 ] && WIRE_OK=1
fi
echo "guest exit $GRC ($(cat "$OUT/guest/uname.txt" 2>/dev/null | tr '\n' ' '))"
printf '%-34s %-5s %s\n' ROW RESULT DETAIL
while IFS="$(printf '\t')" read -r id st why; do printf '%-34s %-5s %s\n' "$id" "$st" "$why"; done <"$OUT/guest/results.txt"
printf '%-34s %-5s %s\n' wire-check "$( [ "$WIRE_OK" = 1 ] && echo pass || echo fail)" "$WIRE"
echo "logs: $OUT"
! grep -q "	fail	" "$OUT/guest/results.txt" && [ -s "$OUT/guest/results.txt" ] && [ "$WIRE_OK" = 1 ]
