#!/usr/bin/env bash
# build-guest.sh OUTDIR
#
# Builds the interop suite's Linux host: a bootable kernel + initramfs,
# using ONLY Debian packages fetched with `apt-get download` and unpacked with
# `dpkg -x` into a private temp dir (nothing is copied from the host's own
# /usr or /lib).
#
# Run by test/interop (guest-image.ts) on first use and cached outside git,
# keyed by a hash of this file. Debian ships no modules.dep, so depmod is run
# from the downloaded kmod package through the downloaded glibc loader.
#
# Output:
#   OUTDIR/vmlinuz             kernel from linux-image-amd64 (Debian bookworm 6.1.x)
#   OUTDIR/initramfs.cpio.gz   busybox + kmod + nvme-cli + fio + tcpdump + e2fsprogs + their
#                              shared libs + modules (nvme-tcp, nvmet-tcp, ...)
#   OUTDIR/manifest.txt        package versions, modules, libraries
#
# Environment knobs:
#   KERNEL_PKG      kernel meta/real package (default linux-image-amd64)
#   EXTRA_PKGS      extra Debian packages to pull in (space separated)
#   EXTRA_BINS      extra binaries (paths as inside the .deb, e.g. /usr/bin/strace)
#   EXTRA_MODULES   extra kernel module names
#   KEEP_WORK=1     keep the temp work dir (printed)
#
# The guest /init (see embedded heredoc below) mounts proc/sys/dev/configfs,
# configures eth0 statically for QEMU slirp (10.0.2.15/24 gw 10.0.2.2), mounts
# two 9p shares (tag "in" read-only -> /in, tag "out" read-write -> /out), runs
# /in/$nvh.script (kernel cmdline), writes its exit status to /out/.exit-status,
# prints "NVMEHARNESS-EXIT: <rc>" on the serial console and powers off.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: build-guest.sh OUTDIR}"
KERNEL_PKG="${KERNEL_PKG:-linux-image-amd64}"
ROOT_PKGS="busybox-static kmod nvme-cli fio tcpdump e2fsprogs ${EXTRA_PKGS:-}"
# Binaries (paths inside the extracted packages) that go into the guest along
# with every shared library they need.
BINS="/bin/kmod /usr/sbin/nvme /usr/bin/fio /usr/bin/tcpdump /sbin/mke2fs /sbin/e2fsck ${EXTRA_BINS:-}"
# Kernel modules wanted (dependencies are added from modules.dep).
MODULES="configfs virtio_pci virtio_net virtio_blk virtio_rng 9pnet_virtio 9p
 nvme-core nvme-fabrics nvme-tcp nvmet nvmet-tcp null_blk brd ext4
 crc32c_generic crc32c-intel crct10dif_generic crct10dif-pclmul crc64_rocksoft_generic
 ${EXTRA_MODULES:-}"

log() { printf '[build-initramfs] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for t in apt-get apt-cache dpkg-deb gzip find sort awk; do
  command -v "$t" >/dev/null || die "host tool '$t' missing (apt-get install $t)"
done

WORK="$(mktemp -d /tmp/nvmeharness-build.XXXXXX)"
if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"
else trap 'rm -rf "$WORK"' EXIT; fi
DEBS="$WORK/debs"; STAGE="$WORK/stage"; KST="$WORK/kernel"; ROOT="$WORK/root"
mkdir -p "$DEBS" "$STAGE" "$KST" "$ROOT"

# ---------------------------------------------------------------- packages --
if ! apt-cache show fio >/dev/null 2>&1; then
  log "apt lists empty -> apt-get update"; apt-get update -qq
fi

# linux-image-amd64 is a metapackage; find the real image package.
KREAL="$(apt-cache depends "$KERNEL_PKG" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
[ -n "$KREAL" ] || KREAL="$KERNEL_PKG"
log "kernel package: $KREAL"

# Full Depends/Pre-Depends closure of the userspace packages (all alternatives
# are included; extra packages are harmless, they are only used as a library
# pool). Virtual packages (<...>) are dropped.
# shellcheck disable=SC2086
PKGS="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $ROOT_PKGS 2>/dev/null \
        | grep -v '^ ' | grep -v '^<' | sort -u)"
log "downloading $(echo "$PKGS" | wc -l) userspace packages + kernel"
(
  cd "$DEBS"
  # shellcheck disable=SC2086
  if ! apt-get -q -o APT::Sandbox::User=root download $PKGS "$KREAL" >"$WORK/download.log" 2>&1; then
    log "bulk download failed, retrying one by one (see $WORK/download.log)"
    for p in $PKGS "$KREAL"; do
      apt-get -q -o APT::Sandbox::User=root download "$p" >>"$WORK/download.log" 2>&1 \
        || log "warning: could not download $p (ignored unless a library is missing)"
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
# merged-/usr layout: /bin /sbin /lib /lib64 are symlinks into /usr.
LIBDIR=usr/lib/x86_64-linux-gnu
mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib64,$LIBDIR,proc,sys,dev,tmp,run,etc/nvme,in,out,mnt,root,var/tmp}
ln -s usr/bin "$ROOT/bin"; ln -s usr/sbin "$ROOT/sbin"
ln -s usr/lib "$ROOT/lib"; ln -s usr/lib64 "$ROOT/lib64"
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"

# ------------------------------------------------------- binaries + libs --
LOADER="$STAGE/lib64/ld-linux-x86-64.so.2"
[ -e "$LOADER" ] || LOADER="$STAGE/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
[ -e "$LOADER" ] || die "glibc loader not found in extracted libc6"
# every directory of the pool that holds a shared object (covers RUNPATHs
# such as /usr/lib/x86_64-linux-gnu/ceph).
LP="$(find "$STAGE" -path "$STAGE/usr/share" -prune -o -name 'lib*.so*' \( -type f -o -type l \) -printf '%h\n' \
      | sort -u | paste -sd:)"

cp -L "$LOADER" "$ROOT/$LIBDIR/ld-linux-x86-64.so.2"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOT/usr/lib64/ld-linux-x86-64.so.2"

LIBLIST="$WORK/libs.txt"; : >"$LIBLIST"
for b in $BINS; do
  src="$STAGE$b"
  [ -f "$src" ] || die "binary $b not found in extracted packages"
  case "$b" in */sbin/*) dst="$ROOT/usr/sbin/$(basename "$b")" ;; *) dst="$ROOT/usr/bin/$(basename "$b")" ;; esac
  cp -L "$src" "$dst"; chmod 755 "$dst"
  # ldd equivalent, but with the *extracted* glibc loader and library pool,
  # never the host's ld.so.cache.
  if ! out="$("$LOADER" --inhibit-cache --library-path "$LP" --list "$src" 2>&1)"; then
    die "ld.so --list failed for $b: $out"
  fi
  if grep -q 'not found' <<<"$out"; then die "missing libraries for $b:"$'\n'"$out"; fi
  awk '/=>/ {print $1, $3}' <<<"$out" | while read -r soname path; do
    case "$path" in "$STAGE"/*) ;; *) die "$b: $soname resolved outside the package pool: $path" ;; esac
    soname="$(basename "$soname")"
    if [ ! -e "$ROOT/$LIBDIR/$soname" ]; then
      cp -L "$path" "$ROOT/$LIBDIR/$soname"
      echo "$soname <= ${path#"$STAGE"}" >>"$LIBLIST"
    fi
  done
done

# busybox (static) + its applet links, without shadowing real binaries.
cp "$STAGE/bin/busybox" "$ROOT/usr/bin/busybox"; chmod 755 "$ROOT/usr/bin/busybox"
# kmod multi-call links (real modprobe understands modules.dep/alias/softdep)
for a in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf ../bin/kmod "$ROOT/usr/sbin/$a"; done
# e2fsprogs front ends, and the mke2fs defaults (ext4 feature set)
for a in mkfs.ext4 mkfs.ext2; do ln -sf mke2fs "$ROOT/usr/sbin/$a"; done
ln -sf e2fsck "$ROOT/usr/sbin/fsck.ext4"
mkdir -p "$ROOT/etc" && cp "$STAGE/etc/mke2fs.conf" "$ROOT/etc/mke2fs.conf"
"$STAGE/bin/busybox" --list-full | while read -r a; do
  n="$(basename "$a")"
  case "$a" in *sbin/*) d="$ROOT/usr/sbin" ;; *) d="$ROOT/usr/bin" ;; esac
  [ -e "$ROOT/usr/bin/$n" ] || [ -e "$ROOT/usr/sbin/$n" ] || [ -L "$ROOT/usr/sbin/$n" ] && continue
  ln -s /usr/bin/busybox "$d/$n"
done

# ----------------------------------------------------------------- kernel --
KVER="$(ls "$KST/lib/modules" | head -n1)"
[ -n "$KVER" ] || die "no /lib/modules in $KREAL"
cp "$KST/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
KMOD_RUN=("$LOADER" --inhibit-cache --library-path "$LP" --argv0 depmod "$STAGE/bin/kmod")
# modules.dep for the whole kernel (Debian does not ship it; depmod from the
# kmod .deb, run through the extracted loader).
"${KMOD_RUN[@]}" -b "$KST" "$KVER" || die "depmod failed on kernel tree"
MDEP="$KST/lib/modules/$KVER/modules.dep"
[ -s "$MDEP" ] || die "modules.dep not generated"

MODSEL="$WORK/mods.txt"; : >"$MODSEL"
for m in $MODULES; do
  n="${m//-/_}"
  line="$(awk -v n="$n" -F: '{p=$1; b=p; sub(/.*\//,"",b); sub(/\.ko(\.[a-z]+)?$/,"",b); gsub(/-/,"_",b); if (b==n) {print; exit}}' "$MDEP")"
  if [ -z "$line" ]; then
    if grep -qE "/${m}\.ko|/${n}\.ko" "$KST/lib/modules/$KVER/modules.builtin" 2>/dev/null; then
      log "module $m is built in"; continue
    fi
    die "module $m not found in modules.dep"
  fi
  # "path: dep1 dep2 ..." -> every path on the line (modules.dep is transitive)
  tr ' :' '\n\n' <<<"$line" | grep . >>"$MODSEL"
done
sort -u "$MODSEL" -o "$MODSEL"
MDST="$ROOT/usr/lib/modules/$KVER"
mkdir -p "$MDST"
while read -r p; do
  mkdir -p "$MDST/$(dirname "$p")"; cp "$KST/lib/modules/$KVER/$p" "$MDST/$p"
done <"$MODSEL"
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -e "$KST/lib/modules/$KVER/$f" ] && cp "$KST/lib/modules/$KVER/$f" "$MDST/"
done
"${KMOD_RUN[@]}" -b "$ROOT" "$KVER"
[ -s "$MDST/modules.dep" ] || die "initramfs modules.dep not generated"

# ------------------------------------------------------------------- /etc --
cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
tcpdump:x:104:110::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
tcpdump:x:110:
nogroup:x:65534:
EOF
printf '127.0.0.1\tlocalhost\n10.0.2.2\thost\n' >"$ROOT/etc/hosts"
echo 'hosts: files' >"$ROOT/etc/nsswitch.conf"
echo nvmeguest >"$ROOT/etc/hostname"
: >"$ROOT/etc/fstab"

# ------------------------------------------------------------------- /init --
cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# nvmeharness guest init (PID 1). Output goes to the serial console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
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

modprobe configfs && mount -t configfs configfs /sys/kernel/config
for m in virtio_pci virtio_net virtio_rng 9pnet_virtio 9p crc32c_intel crc32c_generic; do
  modprobe -q "$m" || echo "init: modprobe $m failed"
done

# network: QEMU slirp (user-mode) defaults, static
ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 \
  || echo "init: eth0 setup failed"

# NVMe host identity: nvh.hostid= from the runner (so the target's allowed_hosts
# can name this host), else random per boot
U="$(arg nvh.hostid)"
[ -n "$U" ] || U="$(cat /proc/sys/kernel/random/uuid)"
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
if [ ! -f "/in/$SCRIPT" ]; then
  echo "init: /in/$SCRIPT not found"
  finish 127
fi
[ -f /out/.harness-env ] && . /out/.harness-env
export IN=/in OUT=/out HOST_IP=10.0.2.2 GUEST_IP=10.0.2.15
cd /out
echo "===== running /in/$SCRIPT ====="
sh "/in/$SCRIPT" </dev/null
rc=$?
echo "===== /in/$SCRIPT exited with $rc ====="
finish $rc
EOF
chmod 755 "$ROOT/init"

# ------------------------------------------------------------------ cpio --
mkdir -p "$OUT"
# host cpio if present, else the (static) busybox cpio from the package pool
if command -v cpio >/dev/null; then CPIO=(cpio --quiet); else CPIO=("$STAGE/bin/busybox" cpio); fi
( cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | "${CPIO[@]}" -o -H newc -R 0:0 ) \
  | gzip -6 >"$WORK/initramfs.cpio.gz"
mv "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
mv "$WORK/vmlinuz" "$OUT/vmlinuz"

{
  echo "# nvmeharness build manifest ($(date -u +%FT%TZ))"
  echo "kernel_package: $KREAL"
  echo "kernel_version: $KVER"
  echo "initramfs_bytes: $(stat -c %s "$OUT/initramfs.cpio.gz")"
  echo "## packages (root: $ROOT_PKGS)"
  for d in "$DEBS"/*.deb; do dpkg-deb -f "$d" Package Version | paste -sd' '; done
  echo "## binaries"; for b in $BINS; do echo "$b"; done; echo /bin/busybox
  echo "## modules"; cat "$MODSEL"
  echo "## libraries"; sort "$LIBLIST"
} >"$OUT/manifest.txt"

log "kernel:    $OUT/vmlinuz ($KVER)"
log "initramfs: $OUT/initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1), $(wc -l <"$LIBLIST") libs, $(wc -l <"$MODSEL") modules)"
