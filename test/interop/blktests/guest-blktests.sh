#!/bin/sh
# Runs inside the Debian 13 guest (build-guest-trixie.sh, FLAVOUR=blktests), started by
# run-blktests.sh: blktests' nvme group (nvme_trtype=tcp) twice in the same boot --
#   1. against nvmet-ts on the host (NVME_TARGET_CONTROL = contrib/blktests/nvme-target-control,
#      which drives nvmet-ts's management API at 10.0.2.2:9420),
#   2. against this guest's own kernel nvmet (blktests' configfs helpers),
# each into /out/<target>/ (check.log, results/). GUEST_BLKTESTS_TESTS (default "nvme")
# selects tests, GUEST_BLKTESTS_TARGETS (default "nvmet-ts kernel") the runs.
[ -n "${BASH_VERSION:-}" ] || exec /usr/bin/bash "$0" "$@"
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
# busybox's sh prefers its own applets; package scripts get bash and the GNU tools.
ln -sf bash /usr/bin/sh
mkdir -p /usr/local/bin
# No udevd runs here: devtmpfs creates the nodes, so there is no event queue to settle.
printf '#!/bin/bash\nexit 0\n' >/usr/local/bin/udevadm; chmod 755 /usr/local/bin/udevadm
# _have_kver parses `uname -r | sed 's/-.*//;s/[^.0-9]//'`, which Debian's
# "6.12.117+deb13-amd64" defeats (nvme/046, 047, 049 abort): the shim answers
# "6.12.117-deb13-amd64", and that name gets the module tree and kernel config too.
REAL="$(/usr/bin/uname -r)"; SHIM="${REAL//+/-}"
if [ "$SHIM" != "$REAL" ]; then
  cat >/usr/local/bin/uname <<SH
#!/bin/bash
if [ "\$#" = 1 ] && [ "\$1" = -r ]; then echo "$SHIM"; else exec /usr/bin/uname "\$@"; fi
SH
  chmod 755 /usr/local/bin/uname
  ln -sfn "$REAL" "/usr/lib/modules/$SHIM"
  [ -f "/boot/config-$REAL" ] && ln -sf "config-$REAL" "/boot/config-$SHIM"
fi
for m in loop nvme-tcp nvme-fabrics nvme-keyring nvme-auth xfs null_blk; do modprobe -q "$m" || echo "modprobe $m failed"; done
echo "kernel $REAL, nvme-cli $(nvme version 2>/dev/null | head -n1), bash $BASH_VERSION, fio $(fio --version)"

cp -a /out/blktests /root/blktests || { echo "no /out/blktests"; exit 2; }
cd /root/blktests || exit 2
TESTS="${GUEST_BLKTESTS_TESTS:-nvme}"
rc=0
for target in ${GUEST_BLKTESTS_TARGETS:-nvmet-ts kernel}; do
  mkdir -p "/out/$target"
  {
    echo "NVMET_TRTYPES=tcp"
    # One block-device type on both sides (the control script reports "device"): the
    # kernel run would otherwise repeat bd=file, which nvmet-ts (RAM namespaces) has no twin for.
    echo "NVMET_BLKDEV_TYPES=device"
    echo "NVME_NUM_ITER=${GUEST_NVME_NUM_ITER:-20}"
    echo "TIMEOUT=${GUEST_TIMEOUT:-15}"
  } >config
  # In external-target mode blktests attaches a loop device it never detaches, so
  # modprobe -r of the nvme modules waits its full patience (50 s) every test.
  export MODPROBE_PATIENT_RM_TIMEOUT_SECONDS=5
  if [ "$target" = nvmet-ts ]; then
    export NVME_TARGET_CONTROL=/root/nvme-target-control
    cp /out/nvme-target-control "$NVME_TARGET_CONTROL"; chmod 755 "$NVME_TARGET_CONTROL"
    export NVMET_TS_API=http://10.0.2.2:9420 NVMET_TS_TRADDR=10.0.2.2 NVMET_TS_LISTEN=127.0.0.1
    export NVMET_TS_CONTROL_LOG="/out/$target/control.log"
    "$NVME_TARGET_CONTROL" config --show-hostnqn >/dev/null || echo "control script cannot reach nvmet-ts"
  else
    unset NVME_TARGET_CONTROL NVMET_TS_API NVMET_TS_TRADDR NVMET_TS_LISTEN NVMET_TS_CONTROL_LOG
  fi
  echo "===== blktests $TESTS against $target ====="
  t0=$(date +%s)
  # shellcheck disable=SC2086
  ./check -o "/root/results-$target" $TESTS >"/out/$target/check.log" 2>&1
  crc=$?
  echo "$(( $(date +%s) - t0 ))" >"/out/$target/seconds"
  echo "check exit $crc after $(cat "/out/$target/seconds") s"
  cat "/out/$target/check.log"
  cp -a "/root/results-$target" "/out/$target/results"
  # Between runs: nothing of one target may leak into the other.
  for c in /sys/class/nvme-fabrics/ctl/nvme*; do [ -e "$c" ] && nvme disconnect -d "$(basename "$c")" >/dev/null 2>&1; done
  [ "$crc" = 0 ] || rc=1
done
dmesg >/out/dmesg.txt
exit $rc
