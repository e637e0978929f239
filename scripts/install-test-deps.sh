#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (root): the real peers
# (etcd, GoBGP, FRR, BIRD), tshark, DHCP clients, and a Python venv with the real vnc_api client.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  etcd-server etcd-client            # store conformance suite against a real etcd
  protobuf-compiler libprotobuf-dev  # etcd-client's build script
  python3-venv python3-pip           # venv for the vnc_api client
  tshark tcpdump                     # dissect what the pipeline emits
  gobgpd frr bird2                   # real BGP peers
  iproute2 iputils-ping iperf3 busybox isc-dhcp-client nftables ethtool
  procps psmisc
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV=${CIRRUS_TEST_VENV:-$PWD/target/test-venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "install-test-deps: creating venv $VENV"
  python3 -m venv "$VENV"
fi
# contrail-api-client imports on Python 3.11 only with future, six and requests beside it.
if ! "$VENV/bin/python" -c 'import vnc_api.vnc_api, pytest, yaml' 2>/dev/null; then
  "$VENV/bin/pip" install -q contrail-api-client future six requests pytest pyyaml
fi
echo "install-test-deps: ok (venv $VENV)"
