#!/usr/bin/env bash
# The multipath and reservation rows against the Debian 13 host (6.12, nvme-cli 2.13):
# two nvmet-ts processes behind one namespace, reservations from two host NQNs.
# Usage: run-612.sh OUTDIR [BUILD_DIR]   (hooked into test/interop/secure/run-612.sh;
# needs root and `npm run build`). Prints "ID<TAB>pass|fail<TAB>reason" rows on stdout.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
OUT="${1:?usage: run-612.sh OUTDIR [BUILD_DIR]}"; mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
BUILD_DIR="${2:-${BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nvmet-ts/guest-trixie}}"
JS="$ROOT/dist/test/interop/multipath/run-612.js"
# the rows (run-612.ts ROWS_612): connect and two log pages, the multipath rows as the guest runs them
# (mp_run_checks; the runner's MP_ROWS is the same list), then disc-aen
ROWS="$(sed -n '/^mp_run_checks() {/,/^}/s/^ *run_check \([a-z0-9-]*\) .*/\1/p' "$ROOT/test/interop/guest/checks-multipath.sh")"
ROWS="connect-default effects-log supported-log-pages $ROWS disc-aen"
fail_all() { for id in $ROWS; do printf '%s\tfail\t%s\n' "$id" "$1"; done; exit 1; }
[ "$(id -u)" = 0 ] || fail_all "needs root"
[ -f "$JS" ] || fail_all "$JS missing (npm run build)"
[ -f "$BUILD_DIR/vmlinuz" ] || fail_all "no trixie guest in $BUILD_DIR"
NS="nvmetts-mp-$$"
ip netns add "$NS" && ip -n "$NS" link set lo up || fail_all "cannot create netns $NS"
trap 'ip netns del "$NS" 2>/dev/null' EXIT
ip netns exec "$NS" node "$JS" "$OUT" "$BUILD_DIR" "$NS" 2>>"$OUT/runner.log"
