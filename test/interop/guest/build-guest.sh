#!/usr/bin/env bash
# build-guest.sh OUTDIR
#
# Builds the interop suite's Debian 12 "bookworm" Linux host (kernel 6.1): a bootable kernel +
# initramfs, using ONLY Debian packages fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into a private temp dir (nothing is copied from the host's own /usr or /lib).
# The release-independent steps (library closure, depmod, module selection, /init, cpio) are
# in guest-lib.sh, shared with build-guest-trixie.sh (Debian 13).
#
# Run by test/interop (lib/guest.ts) on first use and cached outside git, keyed by a hash of
# this file and guest-lib.sh.
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
# The guest /init (guest-lib.sh gl_init) mounts proc/sys/dev/configfs, configures eth0
# statically for QEMU slirp (10.0.2.15/24 gw 10.0.2.2), mounts two 9p shares (tag "in"
# read-only -> /in, tag "out" read-write -> /out), runs /in/$nvh.script (kernel cmdline),
# writes its exit status to /out/.exit-status, prints "NVMEHARNESS-EXIT: <rc>" on the serial
# console and powers off.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: build-guest.sh OUTDIR}"
FLAVOUR=bookworm
KERNEL_PKG="${KERNEL_PKG:-linux-image-amd64}"
ROOT_PKGS="busybox-static kmod nvme-cli fio tcpdump e2fsprogs ${EXTRA_PKGS:-}"
# Binaries (paths inside the extracted packages) that go into the guest along
# with every shared library they need.
BINS="/bin/kmod /usr/sbin/nvme /usr/bin/fio /usr/bin/tcpdump /sbin/mke2fs /sbin/e2fsck ${EXTRA_BINS:-}"
DLOPEN_LIBS=""
# Kernel modules wanted (dependencies are added from modules.dep).
MODULES="configfs virtio_pci virtio_net virtio_blk virtio_rng 9pnet_virtio 9p
 nvme-core nvme-fabrics nvme-tcp nvmet nvmet-tcp null_blk brd ext4
 crc32c_generic crc32c-intel crct10dif_generic crct10dif-pclmul crc64_rocksoft_generic
 ${EXTRA_MODULES:-}"
MISSING_MODULE=die
# The machine's own apt state (Debian 12).
APT=()
# shellcheck source=guest-lib.sh
. "$HERE/guest-lib.sh"
gl_setup
if ! apt-cache show fio >/dev/null 2>&1; then
  log "apt lists empty -> apt-get update"; apt-get update -qq
fi

gl_fetch
gl_rootfs
gl_busybox
# e2fsprogs front ends, and the mke2fs defaults (ext4 feature set) of the package
for a in mkfs.ext4 mkfs.ext2; do ln -sf mke2fs "$ROOT/usr/sbin/$a"; done
ln -sf e2fsck "$ROOT/usr/sbin/fsck.ext4"
gl_kernel
gl_etc
cp "$STAGE/etc/mke2fs.conf" "$ROOT/etc/mke2fs.conf"
gl_init
gl_pack
