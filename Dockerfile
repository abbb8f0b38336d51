# One image for the app and the tracer (docker-compose.yml). Docker is optional: the lab runs
# directly on a Debian/Ubuntu host with scripts/setup.sh.
FROM node:20-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool bpftrace systemtap-sdt-dev build-essential pkg-config \
      libelf-dev zlib1g-dev iproute2 binutils postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /lab
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The addon builds against the image's node headers. The BPF probes need the running kernel's
# BTF, so the tracer service builds them when it starts.
ENV npm_config_nodedir=/usr/local
RUN if [ -f probes/usdt-addon/binding.gyp ]; then cd probes/usdt-addon && npx node-gyp rebuild; fi

ENV LAB_PORT_BASE=18080 LAB_STATE_DIR=/state
CMD ["node", "--import", "tsx", "lab/app/server.ts"]
