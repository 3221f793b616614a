#!/usr/bin/env bash
# run-guest.sh SCRIPT [OUTDIR]      run SCRIPT inside the guest, exit with its status
# run-guest.sh --shell [OUTDIR]     interactive busybox shell on the serial console
#
# Boots build/vmlinuz + build/initramfs.cpio.gz (built by build-initramfs.sh,
# built automatically if missing) under QEMU (KVM if usable, else TCG), inside
# a private network namespace, with QEMU user-mode networking (slirp):
#   guest eth0 10.0.2.15/24, host side 10.0.2.2 == 127.0.0.1 *inside the netns*
# so a guest connection to 10.0.2.2:PORT reaches a listener started with
#   ip netns exec "$NETNS" <listener bound to 127.0.0.1:PORT>
# and nothing else (the netns has only loopback).
#
# Shares (9p/virtio):
#   /in  (read-only)  = directory containing SCRIPT; guest runs `sh /in/<name>`
#   /out (read-write) = OUTDIR (default: new /tmp/nvmeharness-out.XXXXXX)
# Inside the guest: cwd=/out, $OUT=/out $IN=/in $HOST_IP=10.0.2.2, and every
# host env var named GUEST_* is exported unchanged.
# The serial console is printed and saved to OUTDIR/console.log.
#
# Env knobs:
#   TIMEOUT  hard wall-clock limit in seconds for the whole VM (default 600);
#            on expiry QEMU is killed and the exit status is 124
#   MEM      guest RAM in MiB (default 2048)     SMP  vCPUs (default 2)
#   ACCEL    auto|kvm|tcg (default auto)
#   NETNS    netns to run QEMU in; created (and deleted afterwards) if absent.
#            Default: a fresh nvmeharness-<pid> netns.
#   BUILD_DIR  where vmlinuz/initramfs.cpio.gz live (default <this dir>/build)
#   VERBOSE=1  full kernel log on the console (drops `quiet`)
#   APPEND   extra kernel command line
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-$HERE/build}"
KERNEL="$BUILD_DIR/vmlinuz"; INITRD="$BUILD_DIR/initramfs.cpio.gz"
TIMEOUT="${TIMEOUT:-600}"; MEM="${MEM:-2048}"; SMP="${SMP:-2}"; ACCEL="${ACCEL:-auto}"

log() { printf '[run-guest] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 125; }

[ $# -ge 1 ] || { sed -n '2,3p' "$0" >&2; exit 2; }
INTERACTIVE=0
if [ "$1" = "--shell" ]; then
  INTERACTIVE=1; INDIR=""; SNAME=""
else
  [ -f "$1" ] || die "script not found: $1"
  INDIR="$(cd "$(dirname "$1")" && pwd)"; SNAME="$(basename "$1")"
  case "$SNAME" in *[!A-Za-z0-9._-]*) die "script name must match [A-Za-z0-9._-]+: $SNAME" ;; esac
fi
OUTDIR="${2:-$(mktemp -d /tmp/nvmeharness-out.XXXXXX)}"
mkdir -p "$OUTDIR" && OUTDIR="$(cd "$OUTDIR" && pwd)"
rm -f "$OUTDIR/.exit-status" "$OUTDIR/.harness-env"

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
  log "no build in $BUILD_DIR -> running build-initramfs.sh"
  "$HERE/../guest/build-guest-trixie.sh" "$BUILD_DIR" || die "build failed"
fi

# ---- accelerator
kvm_ok() {
  [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || { log "no usable /dev/kvm"; return 1; }
  # /dev/kvm provided by the PVM software hypervisor (kvm_pvm, e.g. inside a
  # Firecracker sandbox) opens fine but cannot run an unmodified guest kernel:
  # the Debian kernel never gets past its decompressor and `-cpu host` aborts
  # with "failed to set MSR 0x10a". Treat it as unusable.
  if [ -d /sys/module/kvm_pvm ]; then log "/dev/kvm is kvm_pvm (PVM): not usable for a stock kernel -> TCG"; return 1; fi
  echo quit | timeout 20 qemu-system-x86_64 -M none -accel kvm -nodefaults -display none \
    -monitor stdio >/dev/null 2>&1
}
case "$ACCEL" in
  auto) if kvm_ok; then ACCEL=kvm; else ACCEL=tcg; fi ;;
  kvm|tcg) ;;
  *) die "ACCEL must be auto, kvm or tcg" ;;
esac
if [ "$ACCEL" = kvm ]; then CPU=host; else CPU=max; fi

# ---- network namespace (all guest TCP ends up on this netns' loopback)
CREATED_NS=""
NETNS="${NETNS:-nvmeharness-$$}"
if ! ip netns list | awk '{print $1}' | grep -qx "$NETNS"; then
  ip netns add "$NETNS" || die "cannot create netns $NETNS"
  CREATED_NS="$NETNS"
fi
ip -n "$NETNS" link set lo up
cleanup() { [ -n "$CREATED_NS" ] && ip netns del "$CREATED_NS" 2>/dev/null; }
trap cleanup EXIT

# ---- guest environment passthrough
env | grep -E '^GUEST_[A-Za-z0-9_]*=' | while IFS='=' read -r k v; do
  printf "export %s='%s'\n" "$k" "$(printf '%s' "$v" | sed "s/'/'\\\\''/g")"
done >"$OUTDIR/.harness-env"

APPEND_LINE="console=ttyS0,115200 panic=-1 oops=panic"
[ "${VERBOSE:-0}" = 1 ] && APPEND_LINE="$APPEND_LINE nvh.verbose=1" || APPEND_LINE="$APPEND_LINE quiet"
[ -n "$SNAME" ] && APPEND_LINE="$APPEND_LINE nvh.script=$SNAME"
APPEND_LINE="$APPEND_LINE ${APPEND:-}"

QEMU=(qemu-system-x86_64 -name nvmeharness -machine q35 -accel "$ACCEL" -cpu "$CPU"
  -smp "$SMP" -m "$MEM" -nodefaults -no-user-config -display none -no-reboot
  -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND_LINE"
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0
  -fsdev "local,id=fsout,path=$OUTDIR,security_model=none" -device virtio-9p-pci,fsdev=fsout,mount_tag=out
  -device virtio-rng-pci)
[ -n "$INDIR" ] && QEMU+=(-fsdev "local,id=fsin,path=$INDIR,security_model=none,readonly=on"
  -device virtio-9p-pci,fsdev=fsin,mount_tag=in)

log "accel=$ACCEL cpu=$CPU smp=$SMP mem=${MEM}M netns=$NETNS timeout=${TIMEOUT}s out=$OUTDIR"
T0="$(date +%s.%N)"
if [ "$INTERACTIVE" = 1 ]; then
  QEMU+=(-serial mon:stdio)   # Ctrl-A X quits QEMU
  ip netns exec "$NETNS" timeout -k 10 "$TIMEOUT" "${QEMU[@]}" | tee "$OUTDIR/console.log"
  QRC=${PIPESTATUS[0]}
else
  QEMU+=(-serial stdio)
  boot() {
    ip netns exec "$NETNS" timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 \
      | while IFS= read -r line; do
          printf '%s\n' "$line"
          case "$line" in *NVMEHARNESS-READY*)
            echo "$(date +%s.%N)" >"$OUTDIR/.t-ready" ;; esac
        done | tee "$OUTDIR/console.log"
    QRC=${PIPESTATUS[0]}
  }
  boot
  # Under TCG the guest kernel sometimes dies while it patches its own text during boot
  # (an int3 Oops, "Kernel panic - not syncing"), before the harness script ran anything:
  # nothing was done yet, so that one case boots once more, saying so.
  if [ ! -f "$OUTDIR/.t-ready" ] && [ ! -s "$OUTDIR/.exit-status" ] && grep -q "Kernel panic" "$OUTDIR/console.log" 2>/dev/null; then
    mv "$OUTDIR/console.log" "$OUTDIR/console-boot1.log"
    log "guest kernel panicked before the harness was ready (console-boot1.log); booting once more"
    T0="$(date +%s.%N)"
    boot
  fi
fi
T1="$(date +%s.%N)"

RC=""
if [ -s "$OUTDIR/.exit-status" ]; then RC="$(tr -dc '0-9' <"$OUTDIR/.exit-status")"; fi
if [ -z "$RC" ] && [ -f "$OUTDIR/console.log" ]; then
  RC="$(sed -n 's/.*NVMEHARNESS-EXIT: \([0-9]*\).*/\1/p' "$OUTDIR/console.log" | tail -n1)"
fi
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
  log "TIMEOUT after ${TIMEOUT}s (qemu killed)"; RC=124
elif [ -z "$RC" ]; then
  log "guest did not report an exit status (qemu rc=$QRC)"; RC=125
fi
if [ -f "$OUTDIR/.t-ready" ]; then
  BOOT="$(awk -v a="$T0" -v b="$(cat "$OUTDIR/.t-ready")" 'BEGIN{printf "%.2f", b-a}')"
  rm -f "$OUTDIR/.t-ready"
else BOOT="?"; fi
TOTAL="$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.2f", b-a}')"
log "exit=$RC accel=$ACCEL boot-to-ready=${BOOT}s total=${TOTAL}s console=$OUTDIR/console.log"
exit "$RC"
