#!/usr/bin/env bash
# Idempotent setup: system packages (Debian/Ubuntu, as root), npm dependencies, then the build.
# Takes seconds when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

. /etc/os-release 2>/dev/null || true
distro="${ID:-unknown}"

packages=(nginx-light postgresql postgresql-contrib clang llvm libbpf-dev bpftrace systemtap-sdt-dev
  build-essential pkg-config libelf-dev zlib1g-dev iproute2 binutils
  prometheus iptables libnetfilter-queue-dev)
# prometheus: promtool checks lab/prometheus/ rules, and an e2e test scrapes `lab trace --metrics-port`.
# iptables, libnetfilter-queue-dev: `lab bench inject` delays and drops packets in a namespace of its own.
# chromium (Debian's; Ubuntu ships it only as a snap): an e2e test renders `lab report`'s HTML headless.
if [[ "$distro" == ubuntu ]]; then
  packages+=(linux-tools-common linux-tools-generic)
else
  packages+=(bpftool chromium)
fi

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)"
  for p in "${packages[@]}"; do
    grep -q "^$p install ok installed$" <<<"$installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
      say "missing packages: ${missing[*]}"
      say "run as root: apt-get update && apt-get install -y ${missing[*]}"
      exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
else
  # Not Debian or Ubuntu: say what is needed by what it is for, and stop if something is absent.
  absent=()
  for cmd in nginx clang llvm-strip bpftool bpftrace pkg-config readelf ss make cc; do
    command -v "$cmd" >/dev/null 2>&1 || absent+=("$cmd")
  done
  [[ -x /usr/lib/postgresql/15/bin/postgres ]] || absent+=("postgresql-15 (server in /usr/lib/postgresql/15/bin, with contrib)")
  [[ -f /usr/include/bpf/libbpf.h ]] || absent+=("libbpf headers")
  [[ -f /usr/include/sys/sdt.h ]] || absent+=("systemtap sdt headers (sys/sdt.h)")
  [[ -f /usr/include/gelf.h ]] || absent+=("libelf headers")
  if ((${#absent[@]})); then
    say "this is '$distro', not Debian/Ubuntu; install the equivalents of: ${absent[*]}"
    exit 1
  fi
fi

command -v node >/dev/null 2>&1 || { say "node 20 or newer is needed (apt-get install nodejs)"; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || { say "node $(node -v) is too old: 20 or newer is needed"; exit 1; }

if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund >&2
fi

bash scripts/build.sh
