#!/usr/bin/env bash
# Builds what exists: the BPF probes and loader (probes/Makefile), the fault helpers of
# lab bench inject (lab/faults/), and the USDT addon.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'build: %s\n' "$*" >&2; }

if [[ -f probes/Makefile ]]; then
  make -s -C probes >&2
fi

# nfq-fault: network delay and loss for `lab bench inject` (NFQUEUE); without libnetfilter_queue
# those experiments are skipped, and the bench says why.
if pkg-config --exists libnetfilter_queue 2>/dev/null; then
  make -s -C lab/faults/nfq-fault >&2
else
  say "libnetfilter_queue not found: lab/faults/nfq-fault not built (lab bench inject skips network delay and loss)"
fi

# fsync-delay.so: the slow disk of `lab bench inject` where no cgroup can throttle PostgreSQL.
make -s -C lab/faults/fsync-delay >&2

addon=probes/usdt-addon
if [[ -f $addon/binding.gyp ]]; then
  built="$(ls "$addon"/build/Release/*.node 2>/dev/null | head -n1 || true)"
  stale=1
  if [[ -n $built ]]; then
    stale=0
    while IFS= read -r -d '' f; do
      [[ $f -nt $built ]] && stale=1 && break
    done < <(find "$addon" -path "$addon/build" -prune -o -type f -print0; printf '%s\0' probes/events.h)
  fi
  if ((stale)); then
    # The devDependency first; else the copy npm ships (npx would fetch one from the registry).
    gyp=""
    [[ -f node_modules/node-gyp/bin/node-gyp.js ]] && gyp="$PWD/node_modules/node-gyp/bin/node-gyp.js"
    if [[ -z $gyp ]]; then
      npm_root="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
      [[ -f $npm_root/node_modules/node-gyp/bin/node-gyp.js ]] && gyp="$npm_root/node_modules/node-gyp/bin/node-gyp.js"
    fi
    [[ -n $gyp ]] || { say "node-gyp not found (it comes with npm); cannot build $addon"; exit 1; }
    args=(rebuild)
    # Distribution node packages put the headers under /usr/include/node; use them, not a download.
    [[ -f /usr/include/node/node_api.h ]] && args+=(--nodedir=/usr)
    say "node-gyp ${args[*]} in $addon"
    (cd "$addon" && node "$gyp" "${args[@]}" >&2)
  fi
fi
