#!/bin/sh
# Guest entry of the multipath rows on the Debian 13 guest: the trixie init makes a
# random host NQN; the rows' subsystems allow the plan's two hosts, so take the first
# as this host's identity, then run the 6.1 suite's checks.sh (rows limited by CHECKS).
. /in/params.sh
echo "$HOSTNQN" >/etc/nvme/hostnqn
echo "$HOSTID" >/etc/nvme/hostid
exec sh /in/checks.sh
