#!/usr/bin/env bash
# build-guest-trixie.sh [OUTDIR]
#
# Debian 13 "trixie" flavour of build-guest.sh (same folder): a bootable
# linux-image-amd64 (6.12.x) + initramfs with busybox, kmod, nvme-cli 2.13
# (libnvme 1.13), fio, tcpdump, e2fsprogs, ktls-utils (tlshd), keyutils, socat,
# all from trixie packages fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` (nothing is installed on, or copied from, the host system).
# The output works with secure/run-guest.sh (BUILD_DIR=OUTDIR). The release-independent
# steps (library closure, depmod, module selection, /init, cpio) are guest-lib.sh's; this
# file keeps the private trixie apt state, the lists and the trixie-only steps below.
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
# FLAVOUR (input) selects a variant; guest-lib.sh uses FLAVOUR as the build's label.
VARIANT="${FLAVOUR:-}"
KERNEL_PKG="${KERNEL_PKG:-linux-image-amd64}"
ROOT_PKGS="busybox-static kmod nvme-cli fio tcpdump e2fsprogs ktls-utils keyutils socat liblzma5 libzstd1 zlib1g ${EXTRA_PKGS:-}"
BINS="/usr/bin/kmod /usr/sbin/nvme /usr/bin/fio /usr/bin/tcpdump /usr/sbin/mke2fs /usr/sbin/tlshd /usr/bin/keyctl /usr/bin/socat ${EXTRA_BINS:-}"
# dlopen()ed by kmod 34 (compressed modules) -- not visible to ld.so --list
DLOPEN_LIBS="liblzma.so.5 libzstd.so.1 libz.so.1 ${EXTRA_LIBS:-}"
# Packages whose every program is copied (FLAVOUR=blktests).
FULL_PKGS=""
if [ "$VARIANT" = blktests ]; then
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
# 6.12 builds some of these in, or drops them: warn, do not fail.
MISSING_MODULE=warn
EXTRA_TOOLS=xz
FLAVOUR="trixie${VARIANT:+-$VARIANT}"
# shellcheck source=guest-lib.sh
. "$HERE/guest-lib.sh"
gl_setup

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

gl_fetch
gl_rootfs

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
      if head -c4 "$src" | grep -q ELF; then gl_add_deps "$src"; fi
    done
done
if [ -n "$FULL_PKGS" ]; then
  ln -sf gawk "$ROOT/usr/bin/awk"   # Debian's awk is an alternatives link
  printf '%s\n' "$FULL_PKGS" >"$ROOT/etc/nvmeharness-flavour"
fi
gl_busybox
gl_kernel
# blktests reads the kernel's options (_have_kernel_options)
if [ -n "$FULL_PKGS" ] && [ -f "$WORK/kconfig" ]; then mkdir -p "$ROOT/boot"; cp "$WORK/kconfig" "$ROOT/boot/config-$KVER"; fi

gl_etc
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
gl_init
gl_pack
