#!/usr/bin/env bash
# build-guest-trixie.sh [OUTDIR]
#
# Debian 13 "trixie" guest for the 6.12 interop run: a bootable linux-image-amd64 (6.12.x) +
# initramfs with busybox, kmod, nvme-cli 2.13 (libnvme 1.13), fio, tcpdump, e2fsprogs,
# ktls-utils (tlshd), keyutils, socat, all from trixie packages fetched with `apt-get download`
# into a private apt state and unpacked with `dpkg-deb -x` (nothing is installed on, or copied
# from, the host system). The release-independent steps (library closure, depmod, module
# selection, /init, cpio) are in guest-lib.sh, shared with build-guest.sh (Debian 12).
# The output works with secure/run-guest.sh (BUILD_DIR=OUTDIR).
#
# What is trixie-specific (and stays here):
#   * the private apt state (APT_DIR) for trixie on a Debian 12 machine
#   * 64-bit time_t library renames (libssl3t64, libnvme1t64, ...) are just followed through
#     the Depends closure; the ld.so --list walk finds sonames
#   * kmod 34 dlopen()s liblzma/libzstd/libz (not in DT_NEEDED): DLOPEN_LIBS
#   * 6.12 modules ship as .ko.xz (guest-lib.sh decompresses); built-in/absent modules only warn
#   * kTLS (nvme connect --tls) needs the AEAD modules (gcm, ghash, aesni, ...): tls.ko alone
#     makes tlshd fail with "The kernel does not support the requested algorithm" after a
#     successful handshake; DH-HMAC-CHAP needs dh_generic/hmac/sha*
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
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/build}"
FLAVOUR=trixie
KERNEL_PKG="${KERNEL_PKG:-linux-image-amd64}"
ROOT_PKGS="busybox-static kmod nvme-cli fio tcpdump e2fsprogs ktls-utils keyutils socat liblzma5 libzstd1 zlib1g ${EXTRA_PKGS:-}"
BINS="/usr/bin/kmod /usr/sbin/nvme /usr/bin/fio /usr/bin/tcpdump /usr/sbin/mke2fs /usr/sbin/tlshd /usr/bin/keyctl /usr/bin/socat ${EXTRA_BINS:-}"
# dlopen()ed by kmod 34 (compressed modules) -- not visible to ld.so --list
DLOPEN_LIBS="liblzma.so.5 libzstd.so.1 libz.so.1 ${EXTRA_LIBS:-}"
MODULES="configfs virtio_pci virtio_net virtio_blk virtio_rng 9pnet_virtio 9p
 nvme-core nvme-fabrics nvme-tcp nvme-keyring nvme-auth nvmet nvmet-tcp null_blk brd tls
 ext4 crc32c_generic crc32c-intel crct10dif_generic crct10dif-pclmul crc64_rocksoft_generic
 gcm ghash-generic ghash-clmulni-intel aesni-intel cryptd crypto_simd ccm chacha20poly1305 chacha_generic poly1305_generic
 dh_generic hmac sha256_generic sha512_generic kpp
 ${EXTRA_MODULES:-}"
MISSING_MODULE=warn
EXTRA_TOOLS="xz"
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
     -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache")
if ! apt-cache "${APT[@]}" show nvme-cli 2>/dev/null | grep -q '^Version: 2\.1[0-9]'; then
  log "trixie lists missing -> apt-get update ($APT_DIR)"; apt-get "${APT[@]}" -o APT::Sandbox::User=root -qq update
fi

gl_fetch
gl_rootfs
gl_kernel
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
