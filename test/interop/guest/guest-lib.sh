# shellcheck shell=bash
# guest-lib.sh — the part of the interop guest build that does not depend on the Debian release.
# Sourced (never run) by build-guest.sh (Debian 12 "bookworm", 6.1) and build-guest-trixie.sh
# (Debian 13, 6.12). Those files keep what differs: the apt source, the package / binary /
# module lists and release-specific /etc files. This file turns downloaded .debs into
# OUTDIR/vmlinuz + OUTDIR/initramfs.cpio.gz + OUTDIR/manifest.txt:
#   gl_setup      work dirs (WORK DEBS STAGE KST ROOT)
#   gl_fetch      apt-get download of the Depends closure of ROOT_PKGS + the kernel, dpkg-deb -x
#   gl_rootfs     merged-/usr skeleton, BINS + every shared library they need (resolved with the
#                 *extracted* glibc loader and library pool, never the host's ld.so.cache),
#                 DLOPEN_LIBS; gl_add_deps FILE adds what another ELF file needs
#   gl_busybox    busybox + the applet links no real program shadows, kmod links (after any
#                 programs the caller copied itself)
#   gl_kernel     vmlinuz, depmod (the extracted kmod through the extracted loader: Debian ships
#                 no modules.dep), MODULES + their dependencies, decompressed (.ko.xz/.zst/.gz)
#   gl_etc        passwd/group/hosts/... shared by both guests
#   gl_init       the guest /init (PID 1): mounts (and /dev/fd, /dev/std* links, which devtmpfs
#                 lacks and bash process substitution needs), static slirp network (10.0.2.15/24 gw 10.0.2.2),
#                 NVMe host identity (nvh.hostid= or random), 9p shares /in (ro) and /out (rw),
#                 runs /in/$nvh.script, writes /out/.exit-status, prints NVMEHARNESS-EXIT: <rc>
#   gl_pack       cpio (newc, root-owned, sorted) | gzip, and the manifest
# Inputs (set by the caller before gl_setup): OUT, KERNEL_PKG, ROOT_PKGS, BINS, MODULES,
# DLOPEN_LIBS (may be empty), APT (array of apt -o options; may be empty), FLAVOUR (a label),
# MISSING_MODULE=die|warn, KEEP_WORK, EXTRA_TOOLS (host tools to check for). Every runner's cache
# key hashes this file with its builder.

log() { printf '[build-guest %s] %s\n' "${FLAVOUR:-?}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

gl_setup() {
  for t in apt-get apt-cache dpkg-deb gzip find sort awk ${EXTRA_TOOLS:-}; do
    command -v "$t" >/dev/null || die "host tool '$t' missing (apt-get install $t)"
  done
  mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
  WORK="$(mktemp -d /tmp/nvmeharness-build.XXXXXX)"
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"
  else trap 'rm -rf "$WORK"' EXIT; fi
  DEBS="$WORK/debs"; STAGE="$WORK/stage"; KST="$WORK/kernel"; ROOT="$WORK/root"
  mkdir -p "$DEBS" "$STAGE" "$KST" "$ROOT"
}

gl_fetch() {
  # linux-image-amd64 is a metapackage; find the real image package.
  KREAL="$(apt-cache "${APT[@]}" depends "$KERNEL_PKG" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
  [ -n "$KREAL" ] || KREAL="$KERNEL_PKG"
  log "kernel package: $KREAL"
  # Full Depends/Pre-Depends closure of the userspace packages (all alternatives are included;
  # extra packages are harmless, they only widen the library pool). Virtual packages dropped.
  # shellcheck disable=SC2086
  PKGS="$(apt-cache "${APT[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
          --no-breaks --no-replaces --no-enhances $ROOT_PKGS 2>/dev/null \
          | grep -v '^ ' | grep -v '^<' | sort -u)"
  log "downloading $(echo "$PKGS" | wc -l) userspace packages + kernel"
  (
    cd "$DEBS"
    # shellcheck disable=SC2086
    if ! apt-get "${APT[@]}" -o APT::Sandbox::User=root -q download $PKGS "$KREAL" >"$WORK/download.log" 2>&1; then
      log "bulk download failed, retrying one by one (see $WORK/download.log)"
      for p in $PKGS "$KREAL"; do
        apt-get "${APT[@]}" -o APT::Sandbox::User=root -q download "$p" >>"$WORK/download.log" 2>&1 \
          || log "warning: could not download $p (ignored unless a library is missing)"
      done
    fi
  )
  ls "$DEBS"/"$KREAL"_*.deb >/dev/null 2>&1 || die "kernel package $KREAL not downloaded"
  local d
  for d in "$DEBS"/*.deb; do
    case "$(basename "$d")" in
      "$KREAL"_*) dpkg-deb -x "$d" "$KST" ;;
      *) dpkg-deb -x "$d" "$STAGE" ;;
    esac
  done
}

# soname path: copy one library of the pool into the guest (once)
gl_add_lib() {
  local soname; soname="$(basename "$1")"
  # the loader is copied from the pool once (gl_rootfs); --list may name the absolute
  # interpreter path of the binary instead
  [ "$soname" = ld-linux-x86-64.so.2 ] && return 0
  case "$2" in "$STAGE"/*) ;; *) die "$soname resolved outside the package pool: $2" ;; esac
  if [ ! -e "$ROOT/$LIBDIR/$soname" ]; then
    cp -L "$2" "$ROOT/$LIBDIR/$soname"; echo "$soname <= ${2#"$STAGE"}" >>"$LIBLIST"
  fi
}
# file: every library it needs (ldd equivalent with the extracted loader and pool)
gl_add_deps() {
  local out soname path
  out="$("$LOADER" --inhibit-cache --library-path "$LP" --list "$1" 2>&1)" || die "ld.so --list failed for $1: $out"
  if grep -q 'not found' <<<"$out"; then die "missing libraries for $1:"$'\n'"$out"; fi
  while read -r soname path; do gl_add_lib "$soname" "$path"; done < <(awk '/=>/ {print $1, $3}' <<<"$out")
}

gl_rootfs() {
  # merged-/usr layout: /bin /sbin /lib /lib64 are symlinks into /usr.
  LIBDIR=usr/lib/x86_64-linux-gnu
  mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib64,$LIBDIR,proc,sys,dev,tmp,run,etc/nvme,in,out,mnt,root,var/tmp,var/run}
  ln -s usr/bin "$ROOT/bin"; ln -s usr/sbin "$ROOT/sbin"
  ln -s usr/lib "$ROOT/lib"; ln -s usr/lib64 "$ROOT/lib64"
  chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"

  local c b src dst l p
  LOADER=""
  for c in usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 usr/lib64/ld-linux-x86-64.so.2 lib64/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/ld-linux-x86-64.so.2; do
    [ -e "$STAGE/$c" ] && { LOADER="$STAGE/$c"; break; }
  done
  [ -n "$LOADER" ] || die "glibc loader not found in extracted libc6"
  LOADER="$(readlink -f "$LOADER")"
  # every directory of the pool that holds a shared object (covers RUNPATHs such as
  # /usr/lib/x86_64-linux-gnu/ceph).
  LP="$(find "$STAGE" -path "$STAGE/usr/share" -prune -o -name 'lib*.so*' \( -type f -o -type l \) -printf '%h\n' \
        | sort -u | paste -sd:)"
  cp -L "$LOADER" "$ROOT/$LIBDIR/ld-linux-x86-64.so.2"
  ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOT/usr/lib64/ld-linux-x86-64.so.2"

  LIBLIST="$WORK/libs.txt"; : >"$LIBLIST"
  for b in $BINS; do
    src="$STAGE$b"; [ -f "$src" ] || src="$STAGE/usr$b"
    [ -f "$src" ] || die "binary $b not found in extracted packages"
    case "$b" in */sbin/*) dst="$ROOT/usr/sbin/$(basename "$b")" ;; *) dst="$ROOT/usr/bin/$(basename "$b")" ;; esac
    cp -L "$src" "$dst"; chmod 755 "$dst"
    gl_add_deps "$src"
  done
  for l in ${DLOPEN_LIBS:-}; do
    p="$(find "$STAGE/usr/lib" -name "$l" 2>/dev/null | head -n1 || true)"
    [ -n "$p" ] || die "dlopen library $l not in the pool"
    gl_add_lib "$l" "$p"; gl_add_deps "$p"
  done
}

gl_busybox() {
  local a n d
  # busybox (static) + its applet links, without shadowing real binaries; kmod multi-call
  # links (the real modprobe understands modules.dep/alias/softdep).
  BB="$STAGE/usr/bin/busybox"; [ -x "$BB" ] || BB="$STAGE/bin/busybox"
  cp "$BB" "$ROOT/usr/bin/busybox"; chmod 755 "$ROOT/usr/bin/busybox"
  for a in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf ../bin/kmod "$ROOT/usr/sbin/$a"; done
  "$BB" --list-full | while read -r a; do
    n="$(basename "$a")"
    case "$a" in *sbin/*) d="$ROOT/usr/sbin" ;; *) d="$ROOT/usr/bin" ;; esac
    [ -e "$ROOT/usr/bin/$n" ] || [ -e "$ROOT/usr/sbin/$n" ] || [ -L "$ROOT/usr/sbin/$n" ] && continue
    ln -s /usr/bin/busybox "$d/$n"
  done
}

gl_kernel() {
  local kmod m n line p f
  MODROOT="$KST/usr/lib/modules"; [ -d "$MODROOT" ] || MODROOT="$KST/lib/modules"
  KVER="$(ls "$MODROOT" | head -n1)"
  [ -n "$KVER" ] || die "no modules directory in $KREAL"
  cp "$KST/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
  cp "$KST/boot/config-$KVER" "$WORK/kconfig" 2>/dev/null || true
  kmod="$STAGE/usr/bin/kmod"; [ -x "$kmod" ] || kmod="$STAGE/bin/kmod"
  KMOD_RUN=("$LOADER" --inhibit-cache --library-path "$LP" --argv0 depmod "$kmod")
  # depmod -b BASE looks in BASE/lib/modules; trixie keeps modules in /usr/lib -> a /lib view.
  local kbase="$WORK/kbase"; mkdir -p "$kbase/lib"; ln -s "$MODROOT" "$kbase/lib/modules"
  "${KMOD_RUN[@]}" -b "$kbase" "$KVER" 2>"$WORK/depmod.err" || die "depmod failed on kernel tree: $(cat "$WORK/depmod.err")"
  local mdep="$MODROOT/$KVER/modules.dep"
  [ -s "$mdep" ] || die "modules.dep not generated"

  MODSEL="$WORK/mods.txt"; : >"$MODSEL"
  for m in $MODULES; do
    n="${m//-/_}"
    line="$(awk -v n="$n" -F: '{p=$1; b=p; sub(/.*\//,"",b); sub(/\.ko(\.[a-z]+)?$/,"",b); gsub(/-/,"_",b); if (b==n) {print; exit}}' "$mdep")"
    if [ -z "$line" ]; then
      if grep -qE "/(${m}|${n})\.ko" "$MODROOT/$KVER/modules.builtin" 2>/dev/null; then
        log "module $m is built in"
      elif [ "${MISSING_MODULE:-die}" = warn ]; then log "warning: module $m not found (skipped)"
      else die "module $m not found in modules.dep"; fi
      continue
    fi
    # "path: dep1 dep2 ..." -> every path on the line (modules.dep is transitive)
    tr ' :' '\n\n' <<<"$line" | grep . >>"$MODSEL"
  done
  sort -u "$MODSEL" -o "$MODSEL"
  local mdst="$ROOT/usr/lib/modules/$KVER"
  mkdir -p "$mdst"
  while read -r p; do
    mkdir -p "$mdst/$(dirname "$p")"
    case "$p" in
      *.ko.xz)  xz -dc "$MODROOT/$KVER/$p" >"$mdst/${p%.xz}" ;;
      *.ko.zst) zstd -qdc "$MODROOT/$KVER/$p" >"$mdst/${p%.zst}" ;;
      *.ko.gz)  gzip -dc "$MODROOT/$KVER/$p" >"$mdst/${p%.gz}" ;;
      *)        cp "$MODROOT/$KVER/$p" "$mdst/$p" ;;
    esac
  done <"$MODSEL"
  for f in modules.order modules.builtin; do
    [ -e "$MODROOT/$KVER/$f" ] && sed 's/\.ko\.\(xz\|zst\|gz\)$/.ko/' "$MODROOT/$KVER/$f" >"$mdst/$f"
  done
  [ -e "$MODROOT/$KVER/modules.builtin.modinfo" ] && cp "$MODROOT/$KVER/modules.builtin.modinfo" "$mdst/"
  "${KMOD_RUN[@]}" -b "$ROOT" "$KVER"
  [ -s "$mdst/modules.dep" ] || die "initramfs modules.dep not generated"
}

gl_etc() {
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
}

gl_init() {
  cat >"$ROOT/init" <<'INIT'
#!/bin/sh
# nvmeharness guest init (PID 1). Output goes to the serial console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
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
}

gl_pack() {
  local cpio d b
  # host cpio if present, else the (static) busybox cpio from the package pool
  if command -v cpio >/dev/null; then cpio=(cpio --quiet); else cpio=("$BB" cpio); fi
  ( cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | "${cpio[@]}" -o -H newc -R 0:0 ) \
    | gzip -6 >"$WORK/initramfs.cpio.gz"
  mv "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
  mv "$WORK/vmlinuz" "$OUT/vmlinuz"
  [ -f "$WORK/kconfig" ] && mv "$WORK/kconfig" "$OUT/kconfig"
  {
    echo "# nvmeharness ($FLAVOUR) build manifest ($(date -u +%FT%TZ))"
    echo "kernel_package: $KREAL $(dpkg-deb -f "$(ls "$DEBS"/"$KREAL"_*.deb | head -n1)" Version)"
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
}
