# Host tools of the interop runners: which Debian package brings each one, and the one
# non-interactive way they are installed when missing (root, no stdin, CI=true). One place
# for the shell runners (sourced) and the TypeScript runner (lib/host.ts runs it as a script).
#
# Sourced (bash):  . test/interop/lib/host-tools.sh
#                  host_tools_ensure LOGFILE TOOL...   install what is missing; 1 (message on stderr) if that fails
#                  host_tools_missing TOOL...          print the missing ones, one a line
#                  HOST_TOOLS_ONLY=1 in the environment: a runner stops (exit 0 or 2) right after its
#                  host_tools_ensure, to try the install step alone
# As a script:     bash test/interop/lib/host-tools.sh [--no-install] [--log FILE] TOOL...
#                  exit 0 when every TOOL is there (after installing), 1 otherwise.
# A TOOL is a command name, an absolute path for a file that is not a command, or @SET:
#   @guest  build (Debian packages, private apt state for trixie) and boot a guest under QEMU
#   @wire   capture and dissect the exchange (the wire checks)
#   @build  compile (blktests' helpers)

# TOOL -> the Debian 12 package that provides it ("" if none is known)
host_tool_pkg() {
  case "$1" in
    qemu-system-x86_64) echo qemu-system-x86 ;;
    # dumpcap is wireshark-common's, which tshark depends on
    tshark | dumpcap) echo tshark ;;
    tcpdump) echo tcpdump ;;
    ip | ss) echo iproute2 ;;
    cpio) echo cpio ;;
    zstd) echo zstd ;;
    xz) echo xz-utils ;;
    gzip) echo gzip ;;
    apt-get | apt-cache) echo apt ;;
    dpkg-deb) echo dpkg ;;
    make) echo make ;;
    gcc) echo gcc ;;
    g++) echo g++ ;;
    # the trixie guest's private apt state verifies Debian's signatures with it
    /usr/share/keyrings/debian-archive-keyring.gpg) echo debian-archive-keyring ;;
    *) echo "" ;;
  esac
}

host_tools_expand() {
  local t
  for t in "$@"; do
    case "$t" in
      @guest) echo qemu-system-x86_64 ip ss cpio gzip xz zstd apt-get apt-cache dpkg-deb /usr/share/keyrings/debian-archive-keyring.gpg ;;
      @wire) echo tshark dumpcap ;;
      @build) echo make gcc g++ ;;
      @*) echo "unknown tool set $t" >&2; return 1 ;;
      *) echo "$t" ;;
    esac
  done
}

host_tools_missing() {
  local t
  for t in $(host_tools_expand "$@"); do
    case "$t" in
      /*) [ -e "$t" ] || echo "$t" ;;
      *) command -v "$t" >/dev/null 2>&1 || echo "$t" ;;
    esac
  done
}

# LOGFILE TOOL...
host_tools_ensure() {
  local log="$1" t p
  shift
  local missing=() pkgs=()
  host_tools_expand "$@" >/dev/null || { host_tools_only 2; return 1; }
  mapfile -t missing < <(host_tools_missing "$@")
  [ "${#missing[@]}" -eq 0 ] && { host_tools_only 0; return 0; }
  for t in "${missing[@]}"; do
    p="$(host_tool_pkg "$t")"
    [ -n "$p" ] || { echo "host tool '$t' is missing and no Debian package is known for it" >&2; host_tools_only 2; return 1; }
    case " ${pkgs[*]} " in *" $p "*) ;; *) pkgs+=("$p") ;; esac
  done
  if [ "${HOST_TOOLS_INSTALL:-1}" != 1 ]; then
    echo "missing host tools: ${missing[*]} (apt-get install ${pkgs[*]})" >&2
    host_tools_only 2; return 1
  fi
  [ "$(id -u)" = 0 ] || { echo "missing host tools: ${missing[*]}; installing ${pkgs[*]} needs root" >&2; host_tools_only 2; return 1; }
  echo "installing ${pkgs[*]} (for ${missing[*]}) ..."
  # No question may wait for an answer (no stdin in CI): tshark's "may non-superusers
  # capture?" gets no (no setuid dumpcap), everything else its default.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections >>"$log" 2>&1
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold)
  # Try the lists the machine has first; update them only when that fails (stale or none).
  "${apt[@]}" install --no-install-recommends "${pkgs[@]}" </dev/null >>"$log" 2>&1 \
    || { "${apt[@]}" -qq update </dev/null >>"$log" 2>&1 && "${apt[@]}" install --no-install-recommends "${pkgs[@]}" </dev/null >>"$log" 2>&1; } \
    || { echo "could not install ${pkgs[*]}: $log" >&2; host_tools_only 2; return 1; }
  mapfile -t missing < <(host_tools_missing "$@")
  [ "${#missing[@]}" -eq 0 ] || { echo "still missing after installing ${pkgs[*]}: ${missing[*]} ($log)" >&2; host_tools_only 2; return 1; }
  echo "installed ${pkgs[*]}"
  host_tools_only 0
}

# HOST_TOOLS_ONLY=1: end the sourcing runner here with STATUS
host_tools_only() {
  [ "${HOST_TOOLS_ONLY:-0}" = 1 ] || return 0
  [ "$1" = 0 ] && echo "host tools: all there (HOST_TOOLS_ONLY=1: stopping here)"
  exit "$1"
}

# run as a script (the TypeScript runner)
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  HT_LOG=/dev/null
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-install) HOST_TOOLS_INSTALL=0; shift ;;
      --log) HT_LOG="${2:?--log FILE}"; shift 2 ;;
      --) shift; break ;;
      -*) echo "usage: host-tools.sh [--no-install] [--log FILE] TOOL..." >&2; exit 2 ;;
      *) break ;;
    esac
  done
  host_tools_ensure "$HT_LOG" "$@"
  exit $?
fi
