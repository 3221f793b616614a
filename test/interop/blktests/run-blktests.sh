#!/usr/bin/env bash
# blktests' nvme group (nvme_trtype=tcp) from a Debian 13 guest (kernel 6.12, nvme-cli 2.13)
# against nvmet-ts and against the same guest's own kernel nvmet, one boot, then the
# comparison table (test, what it covers, nvmet-ts, kernel, reason for any difference),
# written to OUTDIR/blktests-table.md and printed.
#
# blktests is not part of nvmet-ts: it runs from BLKTESTS_DIR, default ../shared/blktests
# next to the repository; without it this stage is skipped (exit 0) with a message.
# Its helpers are built (make -C src) in a copy under OUTDIR, never in the checkout.
# Needs root (netns, QEMU). Usage: run-blktests.sh [OUTDIR]
# Env: BLKTESTS_DIR, BUILD_DIR (guest cache), TESTS (default "nvme"), TARGETS (default
# "nvmet-ts kernel"), NVME_NUM_ITER (20), BLKTESTS_TIMEOUT (per-test TIMEOUT, 15), TIMEOUT (VM, 2400 s).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BLKTESTS_DIR="${BLKTESTS_DIR:-$ROOT/../shared/blktests}"
if [ ! -x "$BLKTESTS_DIR/check" ] || [ ! -d "$BLKTESTS_DIR/tests/nvme" ]; then
  echo "blktests stage skipped: no blktests checkout at $BLKTESTS_DIR (set BLKTESTS_DIR=/path/to/blktests to run it)"
  exit 0
fi
BLKTESTS_DIR="$(cd "$BLKTESTS_DIR" && pwd)"
[ "$(id -u)" = 0 ] || { echo "run-blktests.sh needs root (netns, QEMU)"; exit 2; }
OUT="${1:-$(mktemp -d /tmp/nvmet-ts-blktests.XXXXXX)}"; mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
BUILD_DIR="${BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nvmet-ts/guest-trixie-blktests}"
NS="nvmetts-blk-$$"
T0=$(date +%s)

# What the guest build, blktests' helpers and the run use, installed from Debian when missing.
# shellcheck source=../lib/host-tools.sh
. "$HERE/../lib/host-tools.sh"
host_tools_ensure "$OUT/apt.log" @guest @build || exit 2

# The guest image; rebuilt when the builder or the guest-lib.sh it sources changed since it was made.
BUILDER="$HERE/../guest/build-guest-trixie.sh"
STAMP="$(cat "$BUILDER" "$HERE/../guest/guest-lib.sh" | sha256sum | cut -c1-16)"
if [ ! -f "$BUILD_DIR/vmlinuz" ] || [ ! -f "$BUILD_DIR/initramfs.cpio.gz" ] || [ "$(cat "$BUILD_DIR/builder.stamp" 2>/dev/null)" != "$STAMP" ]; then
  echo "building the blktests guest ($BUILD_DIR) ..."
  FLAVOUR=blktests bash "$BUILDER" "$BUILD_DIR" >"$OUT/build.log" 2>&1 || { echo "guest build failed: $OUT/build.log"; exit 2; }
  echo "$STAMP" >"$BUILD_DIR/builder.stamp"
fi

# blktests, copied and built outside the repository and outside BLKTESTS_DIR.
G="$OUT/guest"; mkdir -p "$G"
rm -rf "$G/blktests"
cp -a "$BLKTESTS_DIR" "$G/blktests" && rm -rf "$G/blktests/results" "$G/blktests/config"
# Static: the helpers run on the guest's libc, whatever the host's is.
make -C "$G/blktests/src" CFLAGS="-O2 -static" CXXFLAGS="-O2 -static" LDFLAGS=-static >"$OUT/make.log" 2>&1 \
  || echo "warning: make -C src failed (tests needing its helpers will fail): $OUT/make.log"
cp "$ROOT/contrib/blktests/nvme-target-control" "$G/nvme-target-control"

ip netns add "$NS" && ip -n "$NS" link set lo up
TPID=""
cleanup() {
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null
  sleep 1
  ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
printf '{"hosts": [], "ports": [], "subsystems": []}\n' >"$OUT/empty.json"
mkdir -p "$OUT/data"
# The guest reaches the netns' 127.0.0.1 as 10.0.2.2 (QEMU user networking): ports listen on
# 127.0.0.1, the API accepts that Host name.
ip netns exec "$NS" node "$ROOT/bin/nvmet-ts.js" --config "$OUT/empty.json" --data-dir "$OUT/data" \
  --api 127.0.0.1:9420 --api-allow-host 10.0.2.2 >"$OUT/target.log" 2>&1 &
TPID=$!
for _ in $(seq 1 50); do grep -q "^api: " "$OUT/target.log" 2>/dev/null && break; sleep 0.2; done
grep -q "^api: " "$OUT/target.log" || { echo "target did not start:"; cat "$OUT/target.log"; exit 2; }

GUEST_BLKTESTS_TESTS="${TESTS:-nvme}" GUEST_BLKTESTS_TARGETS="${TARGETS:-nvmet-ts kernel}" \
GUEST_NVME_NUM_ITER="${NVME_NUM_ITER:-20}" GUEST_TIMEOUT="${BLKTESTS_TIMEOUT:-15}" \
NETNS="$NS" BUILD_DIR="$BUILD_DIR" SMP="${SMP:-2}" MEM="${MEM:-3072}" TIMEOUT="${TIMEOUT:-2400}" \
  bash "$HERE/../secure/run-guest.sh" "$HERE/guest-blktests.sh" "$G" >"$OUT/guest.log" 2>&1
GRC=$?
kill "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null; TPID=""
echo "guest exit $GRC, $(( $(date +%s) - T0 )) s in all (nvmet-ts run $(cat "$G/nvmet-ts/seconds" 2>/dev/null || echo ?) s, kernel run $(cat "$G/kernel/seconds" 2>/dev/null || echo ?) s)"
node "$ROOT/dist/test/interop/blktests/table.js" --blktests "$BLKTESTS_DIR" --run "$G" --out "$OUT/blktests-table.md"
TRC=$?
echo "logs: $OUT"
exit $TRC
