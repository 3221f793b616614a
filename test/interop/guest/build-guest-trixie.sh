#!/usr/bin/env bash
# build-initramfs.sh [OUTDIR]
#
# Debian 13 "trixie" flavour of build-initramfs.sh (same folder): a bootable
# linux-image-amd64 (6.12.x) + initramfs with busybox, kmod, nvme-cli 2.13
# (libnvme 1.13), fio, tcpdump, e2fsprogs, ktls-utils (tlshd), keyutils, socat,
# all from trixie packages fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` (nothing is installed on, or copied from, the host system).
# The output works with run-guest.sh (BUILD_DIR=OUTDIR).
#
# Differences handled vs. the bookworm builder:
#   * trixie is fully usr-merged: binaries, loader and libraries live under /usr
#   * 64-bit time_t library renames (libssl3t64, libnvme1t64, ...) are just
#     followed through the Depends closure; the ld.so --list walk finds sonames
#   * kmod 34 dlopen()s liblzma/libzstd/libz (not in DT_NEEDED): the pool gets
#     them for depmod, the guest gets them via EXTRA_LIBS
#   * 6.12 modules ship as .ko.xz: the selected ones are decompressed to .ko
#     for the guest; modules that are built in or absent only warn
#   * kTLS (nvme connect --tls) needs the AEAD modules (gcm, ghash, aesni, ...):
#     tls.ko alone makes tlshd fail with "The kernel does not support the
#     requested algorithm" after a successful handshake
#
# Output (default OUTDIR = <this dir>/build):
#   OUTDIR/vmlinuz  OUTDIR/initramfs.cpio.gz  OUTDIR/manifest.txt  OUTDIR/kconfig
#
# Environment knobs:
#   APT_DIR        directory holding sources.list + lists/ + cache/ for trixie.
#                  Default OUTDIR/apt (created, `apt-get update`d on first use).
#   KERNEL_PKG     (default linux-image-amd64)
#   EXTRA_PKGS / EXTRA_BINS / EXTRA_MODULES / EXTRA_LIBS   as the names say
#   KEEP_WORK=1    keep the temp work dir
#   FLAVOUR=blktests  also what blktests' nvme group needs (test/interop/blktests): bash,
#                  GNU coreutils/util-linux/gawk/findutils/diffutils/grep/sed/gzip, procps,
#                  iproute2, xfsprogs, curl, uuidgen, getconf, column -- every program of
#                  those packages, so GNU tools shadow busybox's applets --, the loop,
#                  nvme-loop and xfs modules and /boot/config-$KVER (_have_kernel_options)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/build}"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
KERNEL_PKG="${KERNEL_PKG:-linux-image-amd64}"
ROOT_PKGS="busybox-static kmod nvme-cli fio tcpdump e2fsprogs ktls-utils keyutils socat liblzma5 libzstd1 zlib1g ${EXTRA_PKGS:-}"
BINS="/usr/bin/kmod /usr/sbin/nvme /usr/bin/fio /usr/bin/tcpdump /usr/sbin/mke2fs /usr/sbin/tlshd /usr/bin/keyctl /usr/bin/socat ${EXTRA_BINS:-}"
# dlopen()ed by kmod 34 (compressed modules) -- not visible to ld.so --list
DLOPEN_LIBS="liblzma.so.5 libzstd.so.1 libz.so.1 ${EXTRA_LIBS:-}"
# Packages whose every program is copied (FLAVOUR=blktests).
FULL_PKGS=""
if [ "${FLAVOUR:-}" = blktests ]; then
  FULL_PKGS="bash coreutils util-linux mount gawk findutils diffutils grep sed gzip procps iproute2 xfsprogs curl uuid-runtime libc-bin bsdextrautils"
  ROOT_PKGS="$ROOT_PKGS $FULL_PKGS"
  EXTRA_MODULES="${EXTRA_MODULES:-} loop nvme-loop xfs"
fi
MODULES="configfs virtio_pci virtio_net virtio_blk virtio_rng 9pnet_virtio 9p
 nvme-core nvme-fabrics nvme-tcp nvme-keyring nvme-auth nvmet nvmet-tcp null_blk brd tls
 ext4 crc32c_generic crc32c-intel crct10dif_generic crct10dif-pclmul crc64_rocksoft_generic
 gcm ghash-generic ghash-clmulni-intel aesni-intel cryptd crypto_simd ccm chacha20poly1305 chacha_generic poly1305_generic
 dh_generic hmac sha256_generic sha512_generic kpp
 ${EXTRA_MODULES:-}"

log() { printf '[build-initramfs-612] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for t in apt-get apt-cache dpkg-deb gzip xz find sort awk; do
  command -v "$t" >/dev/null || die "host tool '$t' missing"
done

# ------------------------------------------------------------ apt (trixie) --
APT_DIR="${APT_DIR:-$OUT/apt}"
if [ ! -f "$APT_DIR/sources.list" ]; then
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$APT_DIR/sources.list"
fi
APT=(-o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o Dir::Etc::sourceparts=/dev/null
     -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" -o APT::Sandbox::User=root)
if ! apt-cache "${APT[@]}" show nvme-cli 2>/dev/null | grep -q '^Version: 2\.1[0-9]'; then
  log "trixie lists missing -> apt-get update ($APT_DIR)"; apt-get "${APT[@]}" -qq update
fi

WORK="$(mktemp -d /tmp/nvmeharness612-build.XXXXXX)"
if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"
else trap 'rm -rf "$WORK"' EXIT; fi
DEBS="$WORK/debs"; STAGE="$WORK/stage"; KST="$WORK/kernel"; ROOT="$WORK/root"
mkdir -p "$DEBS" "$STAGE" "$KST" "$ROOT"

KREAL="$(apt-cache "${APT[@]}" depends "$KERNEL_PKG" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
[ -n "$KREAL" ] || KREAL="$KERNEL_PKG"
log "kernel package: $KREAL"
# shellcheck disable=SC2086
PKGS="$(apt-cache "${APT[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $ROOT_PKGS 2>/dev/null \
        | grep -v '^ ' | grep -v '^<' | sort -u)"
log "downloading $(echo "$PKGS" | wc -l) userspace packages + kernel"
(
  cd "$DEBS"
  # shellcheck disable=SC2086
  if ! apt-get "${APT[@]}" -q download $PKGS "$KREAL" >"$WORK/download.log" 2>&1; then
    log "bulk download failed, retrying one by one"
    for p in $PKGS "$KREAL"; do
      apt-get "${APT[@]}" -q download "$p" >>"$WORK/download.log" 2>&1 || log "warning: could not download $p"
    done
  fi
)
ls "$DEBS"/"$KREAL"_*.deb >/dev/null 2>&1 || die "kernel package $KREAL not downloaded"
for d in "$DEBS"/*.deb; do
  case "$(basename "$d")" in
    "$KREAL"_*) dpkg-deb -x "$d" "$KST" ;;
    *) dpkg-deb -x "$d" "$STAGE" ;;
  esac
done

# ------------------------------------------------------------ rootfs skel --
LIBDIR=usr/lib/x86_64-linux-gnu
mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib64,$LIBDIR,proc,sys,dev,tmp,run,etc/nvme,in,out,mnt,root,var/tmp,var/run}
ln -s usr/bin "$ROOT/bin"; ln -s usr/sbin "$ROOT/sbin"
ln -s usr/lib "$ROOT/lib"; ln -s usr/lib64 "$ROOT/lib64"
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"

LOADER=""
for c in usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 usr/lib64/ld-linux-x86-64.so.2 lib64/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/ld-linux-x86-64.so.2; do
  [ -e "$STAGE/$c" ] && { LOADER="$STAGE/$c"; break; }
done
[ -n "$LOADER" ] || die "glibc loader not found in extracted libc6"
LOADER="$(readlink -f "$LOADER")"
LP="$(find "$STAGE" -path "$STAGE/usr/share" -prune -o -name 'lib*.so*' \( -type f -o -type l \) -printf '%h\n' \
      | sort -u | paste -sd:)"
cp -L "$LOADER" "$ROOT/$LIBDIR/ld-linux-x86-64.so.2"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOT/usr/lib64/ld-linux-x86-64.so.2"

LIBLIST="$WORK/libs.txt"; : >"$LIBLIST"
add_lib() { # soname path
  local soname; soname="$(basename "$1")"
  case "$2" in "$STAGE"/*) ;; *) die "$soname resolved outside the package pool: $2" ;; esac
  if [ ! -e "$ROOT/$LIBDIR/$soname" ]; then
    cp -L "$2" "$ROOT/$LIBDIR/$soname"; echo "$soname <= ${2#"$STAGE"}" >>"$LIBLIST"
  fi
}
add_deps() { # file
  local out
  out="$("$LOADER" --inhibit-cache --library-path "$LP" --list "$1" 2>&1)" || die "ld.so --list failed for $1: $out"
  if grep -q 'not found' <<<"$out"; then die "missing libraries for $1:"$'\n'"$out"; fi
  while read -r soname path; do add_lib "$soname" "$path"; done < <(awk '/=>/ {print $1, $3}' <<<"$out")
}
for b in $BINS; do
  src="$STAGE$b"; [ -f "$src" ] || src="$STAGE/usr$b"
  [ -f "$src" ] || die "binary $b not found in extracted packages"
  case "$b" in */sbin/*) dst="$ROOT/usr/sbin/$(basename "$b")" ;; *) dst="$ROOT/usr/bin/$(basename "$b")" ;; esac
  cp -L "$src" "$dst"; chmod 755 "$dst"
  add_deps "$src"
done
for l in $DLOPEN_LIBS; do
  p="$(find "$STAGE/usr/lib" -name "$l" 2>/dev/null | head -n1 || true)"
  [ -n "$p" ] || die "dlopen library $l not in the pool"
  add_lib "$l" "$p"; add_deps "$p"
done

# FLAVOUR=blktests: every program of FULL_PKGS (before busybox, whose applets only fill gaps).
for p in $FULL_PKGS; do
  deb="$(ls "$DEBS"/"${p}"_*.deb 2>/dev/null | head -n1)"
  [ -n "$deb" ] || die "package $p not downloaded"
  dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's#^\./##' \
    | grep -E '^(usr/)?s?bin/[^/]+$' | while read -r f; do
      src="$STAGE/$f"; [ -e "$src" ] || [ -L "$src" ] || continue
      case "$f" in *sbin/*) dst="$ROOT/usr/sbin/$(basename "$f")" ;; *) dst="$ROOT/usr/bin/$(basename "$f")" ;; esac
      [ -e "$dst" ] && continue
      if [ -L "$src" ]; then ln -s "$(readlink "$src")" "$dst"; continue; fi
      cp "$src" "$dst"; chmod 755 "$dst"
      if head -c4 "$src" | grep -q ELF; then add_deps "$src"; fi
    done
done
if [ -n "$FULL_PKGS" ]; then
  ln -sf gawk "$ROOT/usr/bin/awk"   # Debian's awk is an alternatives link
  printf '%s\n' "$FULL_PKGS" >"$ROOT/etc/nvmeharness-flavour"
fi
BB="$STAGE/usr/bin/busybox"; [ -x "$BB" ] || BB="$STAGE/bin/busybox"
cp "$BB" "$ROOT/usr/bin/busybox"; chmod 755 "$ROOT/usr/bin/busybox"
for a in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf ../bin/kmod "$ROOT/usr/sbin/$a"; done
"$BB" --list-full | while read -r a; do
  n="$(basename "$a")"
  case "$a" in *sbin/*) d="$ROOT/usr/sbin" ;; *) d="$ROOT/usr/bin" ;; esac
  [ -e "$ROOT/usr/bin/$n" ] || [ -e "$ROOT/usr/sbin/$n" ] || [ -L "$ROOT/usr/sbin/$n" ] && continue
  ln -s /usr/bin/busybox "$d/$n"
done

# ----------------------------------------------------------------- kernel --
MODROOT="$KST/usr/lib/modules"; [ -d "$MODROOT" ] || MODROOT="$KST/lib/modules"
KVER="$(ls "$MODROOT" | head -n1)"
[ -n "$KVER" ] || die "no modules directory in $KREAL"
cp "$KST/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
cp "$KST/boot/config-$KVER" "$WORK/kconfig" 2>/dev/null || true
if [ -n "$FULL_PKGS" ] && [ -f "$WORK/kconfig" ]; then mkdir -p "$ROOT/boot"; cp "$WORK/kconfig" "$ROOT/boot/config-$KVER"; fi
KMOD_RUN=("$LOADER" --inhibit-cache --library-path "$LP" --argv0 depmod "$STAGE/usr/bin/kmod")
# depmod of the extracted kmod, through the extracted loader; -b BASE looks in
# BASE/lib/modules (kmod 34 as built by Debian) -> give it a /lib view of /usr/lib.
KBASE="$WORK/kbase"; mkdir -p "$KBASE/lib"; ln -s "$MODROOT" "$KBASE/lib/modules"
"${KMOD_RUN[@]}" -b "$KBASE" "$KVER" 2>"$WORK/depmod.err" || die "depmod failed on kernel tree: $(cat "$WORK/depmod.err")"
MDEP="$MODROOT/$KVER/modules.dep"
[ -s "$MDEP" ] || die "modules.dep not generated"

MODSEL="$WORK/mods.txt"; : >"$MODSEL"
for m in $MODULES; do
  n="${m//-/_}"
  line="$(awk -v n="$n" -F: '{p=$1; b=p; sub(/.*\//,"",b); sub(/\.ko(\.[a-z]+)?$/,"",b); gsub(/-/,"_",b); if (b==n) {print; exit}}' "$MDEP")"
  if [ -z "$line" ]; then
    if grep -qE "/(${m}|${n})\.ko" "$MODROOT/$KVER/modules.builtin" 2>/dev/null; then
      log "module $m is built in"; else log "warning: module $m not found (skipped)"; fi
    continue
  fi
  tr ' :' '\n\n' <<<"$line" | grep . >>"$MODSEL"
done
sort -u "$MODSEL" -o "$MODSEL"
MDST="$ROOT/usr/lib/modules/$KVER"
mkdir -p "$MDST"
while read -r p; do
  mkdir -p "$MDST/$(dirname "$p")"
  case "$p" in
    *.ko.xz)  xz -dc "$MODROOT/$KVER/$p" >"$MDST/${p%.xz}" ;;
    *.ko.zst) zstd -qdc "$MODROOT/$KVER/$p" >"$MDST/${p%.zst}" ;;
    *.ko.gz)  gzip -dc "$MODROOT/$KVER/$p" >"$MDST/${p%.gz}" ;;
    *)        cp "$MODROOT/$KVER/$p" "$MDST/$p" ;;
  esac
done <"$MODSEL"
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -e "$MODROOT/$KVER/$f" ] && sed 's/\.ko\.\(xz\|zst\|gz\)$/.ko/' "$MODROOT/$KVER/$f" >"$MDST/$f"
done
[ -e "$MODROOT/$KVER/modules.builtin.modinfo" ] && cp "$MODROOT/$KVER/modules.builtin.modinfo" "$MDST/"
"${KMOD_RUN[@]}" -b "$ROOT" "$KVER"
[ -s "$MDST/modules.dep" ] || die "initramfs modules.dep not generated"

# ------------------------------------------------------------------- /etc --
cat >"$ROOT/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
tcpdump:x:104:110::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PW
cat >"$ROOT/etc/group" <<'GR'
root:x:0:
tcpdump:x:110:
nogroup:x:65534:
GR
printf '127.0.0.1\tlocalhost\n10.0.2.2\thost\n' >"$ROOT/etc/hosts"
echo 'hosts: files' >"$ROOT/etc/nsswitch.conf"
echo nvmeguest >"$ROOT/etc/hostname"
: >"$ROOT/etc/fstab"
# tlshd: log to the console; let it see the kernel's .nvme keyring
cat >"$ROOT/etc/tlshd.conf" <<'TC'
[debug]
loglevel=7
tls=0
nl=0

[authenticate]
keyrings=.nvme
TC
printf '[fs_types]\n ext4 = {\n  features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize\n  inode_size = 256\n }\n' >"$ROOT/etc/mke2fs.conf"

# ------------------------------------------------------------------- /init --
cat >"$ROOT/init" <<'INIT'
#!/bin/sh
# nvmeharness guest init (PID 1), trixie flavour. Output goes to the serial console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# devtmpfs has no /dev/fd (bash process substitution needs it) nor /dev/std*
ln -sf /proc/self/fd /dev/fd; ln -sf fd/0 /dev/stdin; ln -sf fd/1 /dev/stdout; ln -sf fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo /sbin/modprobe >/proc/sys/kernel/modprobe
hostname nvmeguest
T_INIT="$(cut -d' ' -f1 /proc/uptime)"

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n1; }
SCRIPT="$(arg nvh.script)"
VERBOSE="$(arg nvh.verbose)"
[ "$VERBOSE" = 1 ] || echo 4 >/proc/sys/kernel/printk

modprobe -q configfs; mount -t configfs configfs /sys/kernel/config
for m in virtio_pci virtio_net virtio_rng 9pnet_virtio 9p crc32c_intel crc32c_generic; do
  modprobe -q "$m" 2>/dev/null || echo "init: modprobe $m failed"
done

ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 \
  || echo "init: eth0 setup failed"

U="$(cat /proc/sys/kernel/random/uuid)"
echo "nqn.2014-08.org.nvmexpress:uuid:$U" >/etc/nvme/hostnqn
echo "$U" >/etc/nvme/hostid

mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none,ro in /in 2>/dev/null \
  || echo "init: no 9p share 'in'"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none out /out 2>/dev/null \
  || echo "init: no 9p share 'out'"

T_READY="$(cut -d' ' -f1 /proc/uptime)"
echo "NVMEHARNESS-READY: kernel $(uname -r), uptime at /init ${T_INIT}s, ready ${T_READY}s, $(nproc) cpu(s), $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)"

mounted() { grep -q " $1 " /proc/mounts; }
finish() {
  rc=$1
  if mounted /out; then echo "$rc" >/out/.exit-status; sync; umount /out 2>/dev/null; fi
  mounted /in && umount /in 2>/dev/null
  echo "NVMEHARNESS-EXIT: $rc (uptime $(cut -d' ' -f1 /proc/uptime)s)"
  poweroff -f
  sleep 10
}
if [ -z "$SCRIPT" ]; then
  echo "init: no nvh.script= given -> interactive shell (exit to power off)"
  setsid cttyhack sh -l
  finish $?
fi
if [ ! -f "/in/$SCRIPT" ]; then echo "init: /in/$SCRIPT not found"; finish 127; fi
[ -f /out/.harness-env ] && . /out/.harness-env
export IN=/in OUT=/out HOST_IP=10.0.2.2 GUEST_IP=10.0.2.15
cd /out
echo "===== running /in/$SCRIPT ====="
sh "/in/$SCRIPT" </dev/null
rc=$?
echo "===== /in/$SCRIPT exited with $rc ====="
finish $rc
INIT
chmod 755 "$ROOT/init"

# ------------------------------------------------------------------ cpio --
if command -v cpio >/dev/null; then CPIO=(cpio --quiet); else CPIO=("$BB" cpio); fi
( cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | "${CPIO[@]}" -o -H newc -R 0:0 ) \
  | gzip -6 >"$WORK/initramfs.cpio.gz"
mv "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
mv "$WORK/vmlinuz" "$OUT/vmlinuz"
[ -f "$WORK/kconfig" ] && mv "$WORK/kconfig" "$OUT/kconfig"
{
  echo "# nvmeharness (trixie) build manifest ($(date -u +%FT%TZ))"
  echo "kernel_package: $KREAL $(dpkg-deb -f "$DEBS/$KREAL"_*.deb Version)"
  echo "kernel_version: $KVER"
  echo "initramfs_bytes: $(stat -c %s "$OUT/initramfs.cpio.gz")"
  echo "## packages (root: $ROOT_PKGS)"
  for d in "$DEBS"/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"; done
  echo "## binaries"; for b in $BINS; do echo "$b"; done; echo /usr/bin/busybox
  echo "## modules"; cat "$MODSEL"
  echo "## libraries"; sort "$LIBLIST"
} >"$OUT/manifest.txt"
log "kernel:    $OUT/vmlinuz ($KVER)"
log "initramfs: $OUT/initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1), $(wc -l <"$LIBLIST") libs, $(wc -l <"$MODSEL") modules)"
