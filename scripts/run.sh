#!/usr/bin/env bash
# Shows Cirrus working on one machine: installs what it needs on a fresh Debian machine (Rust,
# protoc for etcd-client's build, iproute2, nftables, busybox, ethtool, ping; idempotent), builds
# the release binaries, and runs `cirrusctl sandbox up --demo`: a controller, two compute nodes
# with a vrouter each, two tenants with the same subnet, a policy, a floating IP and six
# workloads that take their addresses from our DHCP. Then it pings from one workload to another
# across the overlay. The sandbox keeps running; `cirrusctl sandbox down` removes all of it.
# Runs as root (network namespaces); re-runs itself with sudo otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=CARGO_TARGET_DIR,CIRRUS_SANDBOX_PREFIX,CIRRUS_SANDBOX_DIR \
    env "PATH=$PATH" "$0" "$@"
fi

# ---- what the build and the sandbox need ----
APT_PACKAGES=(
  ca-certificates curl build-essential pkg-config  # rustup and the linker
  protobuf-compiler libprotobuf-dev                # etcd-client's build script
  iproute2 nftables ethtool busybox iputils-ping   # the sandbox: namespaces, overlay rule, DHCP client
  netbase                                          # /etc/protocols and /etc/services (minimal images lack them)
)
# shellcheck source=lib/apt.sh
. scripts/lib/apt.sh
ensure_packages run.sh "${APT_PACKAGES[@]}"
# Debian's rustc is too old for this workspace (edition 2024): use rustup's stable.
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  echo "run.sh: installing Rust (rustup, stable, minimal profile)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --default-toolchain stable >/dev/null
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# The web console (served by the controller at /ui/): Node and npm (Debian's nodejs 18 is
# enough; a newer one already here is kept), then the pinned tools and the bundle in web/dist,
# which the controller's build embeds.
if ! command -v npm >/dev/null; then
  ensure_packages run.sh nodejs npm
fi
if [ ! web/node_modules/.package-lock.json -nt web/package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd web && npm run --silent build)

# ---- build ----
cargo build --release -p cirrus-controller -p cirrus-cli -p cirrus-vrouter
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
CTL="$BIN/cirrusctl"

# ---- the sandbox ----
if "$CTL" sandbox status 2>/dev/null | grep -q '^sandbox '; then
  echo "run.sh: taking down the sandbox that is up, to start a fresh one"
  "$CTL" sandbox down >/dev/null
fi
echo
echo "\$ cirrusctl sandbox up --demo"
"$CTL" sandbox up --demo

to=$("$CTL" sandbox status | awk '$1 == "red-web2" { split($4, a, "/"); print a[1] }')
echo
echo "\$ cirrusctl sandbox exec red-web1 -- ping -c 3 $to      # red-web1 on c1 -> red-web2 on c2, over the overlay"
"$CTL" sandbox exec red-web1 -- ping -c 3 "$to"
echo
echo "The sandbox keeps running. Its VNC API is http://127.0.0.1:8082 (any Contrail client),"
echo "its web console http://127.0.0.1:8082/ui/;"
echo "see it with: $CTL sandbox status   and remove it with: $CTL sandbox down"
