#!/bin/sh
# Guest side of the secure-connections interop run (Debian 13: kernel 6.12, nvme-cli 2.13,
# tlshd): DH-HMAC-CHAP and NVMe/TCP TLS 1.3 against nvmet-ts at $HOST_IP. One line per row
# in /out/results.txt: "ID<TAB>pass|fail<TAB>reason". Logs in /out/rows/ID.log.
set -u
T=${HOST_IP:-10.0.2.2}
SUB=nqn.2024-01.io.nvmet-ts:secure
HA=nqn.2014-08.org.nvmexpress:uuid:a0000000-0000-4000-8000-00000000000a
HB=nqn.2014-08.org.nvmexpress:uuid:b0000000-0000-4000-8000-00000000000b
HC=nqn.2014-08.org.nvmexpress:uuid:c0000000-0000-4000-8000-00000000000c
HD=nqn.2014-08.org.nvmexpress:uuid:d0000000-0000-4000-8000-00000000000d
KA='DHHC-1:01:ASZLcJW63wQpTnOYveIHLFF2m8DlCi9UeZ7D6A0yV3zJTvX7:'
KB='DHHC-1:00:AyhNcpe84QYrUHWav+QJLlN4ncLnDDFWe6DF6g80WX7jVYGt:'
CB='DHHC-1:02:AidMcZa74AUqT3SZvuMILVJ3nMHmCzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jNwixn1g==:'
KC='DHHC-1:03:BClOc5i94gcsUXabwOUKL1R5nsPoDTJXfKHG6xA1Wn+kye4TOF2Cp8zxFjtgharP9Bk+Y4it0vccQWaLsNX6H/8Loaw=:'
CC='DHHC-1:00:BSpPdJm+4wgtUnecweYLMFV6n8TpDjNYfaLH7BE2W4C/FyZs:'
WRONG='DHHC-1:01:CS5TeJ3C5wwxVnugxeoPNFl+o8jtEjdcgabL8BU6X4TsHvgD:'
PSK='NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:'
R=/out/results.txt
mkdir -p /out/rows
: >"$R"
for m in nvme-tcp nvme-fabrics nvme-auth nvme-keyring tls dh_generic hmac sha256_generic sha512_generic gcm ghash-generic aesni-intel; do modprobe "$m" 2>/dev/null; done
uname -r >/out/uname.txt; nvme version >>/out/uname.txt 2>&1

row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$R"; echo "[row] $1 $2 $3"; }
ctrl_of() { # hostnqn -> nvmeN
  for c in /sys/class/nvme/nvme*; do
    [ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$SUB" ] && [ "$(cat "$c/hostnqn" 2>/dev/null)" = "$1" ] && { echo "${c##*/}"; return 0; }
  done; return 1
}
verify_io() { # ctrl -> fio write+verify on the namespace of $SUB (multipath head or plain)
  dev=""
  for i in 1 2 3 4 5 6 7 8 9 10; do
    for b in /sys/block/nvme*n*; do
      [ -e "$b" ] || continue
      [ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$SUB" ] && dev=/dev/${b##*/}
    done
    [ -n "$dev" ] && [ -b "$dev" ] && break
    sleep 1
  done
  [ -b "$dev" ] || { echo "no block device for $1"; ls /sys/block; return 1; }
  echo "fio on $dev"
  fio --name=v --filename="$dev" --rw=randwrite --bs=4k --size=8M --direct=1 --ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1
}
dmesg_since() { dmesg | tail -n +"$1"; }

# GUEST_ONLY=FILE (run-612.sh with ONLY=FILE) runs one row file of this folder alone, for work on it.
if [ -n "${GUEST_ONLY:-}" ]; then . "/in/$GUEST_ONLY"; dmesg >/out/dmesg.txt; exit 0; fi

dh_row() { # id hostnqn hostid secret ctrlsecret expect-hash expect-group
  id=$1; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
  extra=""; [ -n "$5" ] && extra="--dhchap-ctrl-secret=$5"
  timeout 150 nvme connect -t tcp -a "$T" -s 4420 -n "$SUB" --hostnqn="$2" --hostid="$3" --dhchap-secret="$4" $extra >"$L" 2>&1
  rc=$?
  c=$(ctrl_of "$2"); dmesg_since "$m0" >>"$L"
  if [ $rc -ne 0 ] || [ -z "$c" ]; then row "$id" fail "connect rc=$rc"; return; fi
  if ! dmesg_since "$m0" | grep -q "qid 0: authenticated with hash $6 dhgroup $7"; then
    row "$id" fail "no 'authenticated with hash $6 dhgroup $7' in the host log"; nvme disconnect -d "$c" >/dev/null 2>&1; return
  fi
  if [ -n "$5" ] && ! dmesg_since "$m0" | grep -qi "controller authenticated\|authenticated"; then :; fi
  if verify_io "$c" >>"$L" 2>&1; then row "$id" pass "authenticated ($6, $7$( [ -n "$5" ] && echo ', bidirectional')), fio verify ok"
  else row "$id" fail "fio verify failed"; fi
  echo "$c" >/tmp/last_ctrl
  [ "${KEEP:-0}" = 1 ] || nvme disconnect -d "$c" >>"$L" 2>&1
}

dh_row dhchap-uni-sha256-ffdhe2048 "$HA" a0000000-0000-4000-8000-00000000000a "$KA" "" "hmac(sha256)" ffdhe2048
dh_row dhchap-bi-sha384-ffdhe3072 "$HB" b0000000-0000-4000-8000-00000000000b "$KB" "$CB" "hmac(sha384)" ffdhe3072
KEEP=1 dh_row dhchap-bi-sha512-null "$HC" c0000000-0000-4000-8000-00000000000c "$KC" "$CC" "hmac(sha512)" null

# re-authentication: rewriting dhchap_secret makes the host re-authenticate every queue
id=dhchap-reauth; L=/out/rows/$id.log
c=$(cat /tmp/last_ctrl 2>/dev/null)
if [ -n "$c" ] && [ -e "/sys/class/nvme/$c/dhchap_secret" ]; then
  m0=$(dmesg | wc -l)
  echo "$KC" >"/sys/class/nvme/$c/dhchap_secret" 2>>"$L"
  sleep 5
  dmesg_since "$m0" >>"$L"
  n=$(dmesg_since "$m0" | grep -c "authenticated with hash")
  if [ "$n" -ge 1 ] && verify_io "$c" >>"$L" 2>&1; then row "$id" pass "re-authenticated (host log: qid 0 authenticated again), fio verify ok"; else row "$id" fail "re-authentications seen: $n"; fi
  nvme disconnect -d "$c" >>"$L" 2>&1
else row "$id" fail "no controller with dhchap_secret"; fi

# wrong key refused
id=dhchap-wrong-key; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
timeout 150 nvme connect -t tcp -a "$T" -s 4420 -n "$SUB" --hostnqn="$HA" --hostid=a0000000-0000-4000-8000-00000000000a --dhchap-secret="$WRONG" >"$L" 2>&1
rc=$?; dmesg_since "$m0" >>"$L"
c=$(ctrl_of "$HA")
if [ -z "$c" ] && [ $rc -ne 0 ]; then row "$id" pass "refused (rc=$rc): $(dmesg_since "$m0" | grep -m1 -i 'auth' | sed 's/^\[[^]]*\] //')"
else row "$id" fail "wrong key accepted"; [ -n "$c" ] && nvme disconnect -d "$c" >/dev/null 2>&1; fi

# TLS: tlshd does the handshake with the key from the .nvme keyring
mkdir -p /etc/tlshd
printf '[debug]\nloglevel=1\ntls=1\nnl=0\n[authenticate]\nkeyrings=.nvme\n' >/etc/tlshd.conf
tlshd >/out/rows/tlshd.log 2>&1 &
sleep 1
tls_row() { # id extra-args
  id=$1; shift; L=/out/rows/$id.log; m0=$(dmesg | wc -l)
  timeout 150 nvme connect -t tcp -a "$T" -s 4421 -n "$SUB" --hostnqn="$HD" --hostid=d0000000-0000-4000-8000-00000000000d --tls --tls-key="$PSK" "$@" >"$L" 2>&1
  rc=$?; dmesg_since "$m0" >>"$L"
  c=$(ctrl_of "$HD")
  if [ $rc -ne 0 ] || [ -z "$c" ]; then row "$id" fail "connect rc=$rc"; return; fi
  if verify_io "$c" >>"$L" 2>&1; then row "$id" pass "TLS connect, fio verify ok $*"; else row "$id" fail "fio verify failed"; fi
  cat "/sys/class/nvme/$c/tls_key" >>"$L" 2>&1
  nvme disconnect -d "$c" >>"$L" 2>&1
}
tls_row tls-fio-verify
tls_row tls-digests --hdr-digest --data-digest

# a plain host refused by a required port
id=tls-required-refuses-plain; L=/out/rows/$id.log
timeout 60 nvme connect -t tcp -a "$T" -s 4421 -n "$SUB" --hostnqn="$HD" --hostid=d0000000-0000-4000-8000-00000000000d >"$L" 2>&1
rc=$?; c=$(ctrl_of "$HD")
if [ -z "$c" ] && [ $rc -ne 0 ]; then row "$id" pass "plain connect refused (rc=$rc)"; else row "$id" fail "plain connect accepted"; [ -n "$c" ] && nvme disconnect -d "$c" >/dev/null 2>&1; fi
# Row files of other areas, one line each (they may use row, dmesg_since, verify_io above).
. /in/recipes-612.sh
dmesg >/out/dmesg.txt
exit 0
