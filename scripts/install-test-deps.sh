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
  iproute2 iputils-ping iperf3 busybox isc-dhcp-client nftables ethtool netbase
  procps psmisc
  prometheus                         # /metrics scraped by a real Prometheus; promtool checks
  nfdump                             # nfcapd receives the vrouter's IPFIX export, nfdump reads it
)

# shellcheck source=lib/apt.sh
. scripts/lib/apt.sh
ensure_packages install-test-deps "${APT_PACKAGES[@]}"

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

# A real Keystone for --auth keystone (tests/python/test_keystone_auth.py sets it up on SQLite).
if [ ! -x "$VENV/bin/keystone-manage" ]; then
  "$VENV/bin/pip" install -q keystone
fi
# The Neutron API's clients and tempest (tests/python/test_neutron.py, tests/tempest/run.py).
if ! "$VENV/bin/python" -c 'import openstack, openstackclient, tempest, neutron_tempest_plugin' 2>/dev/null; then
  "$VENV/bin/pip" install -q openstacksdk python-openstackclient tempest neutron-tempest-plugin
fi
# A real Neutron (ML2, no mechanism drivers, on SQLite) beside Cirrus' Neutron API
# (tests/python/test_neutron_side_by_side.py, scripts/bench-neutron-api.py --neutron).
if ! "$VENV/bin/python" -c 'import neutron.wsgi' 2>/dev/null; then
  "$VENV/bin/pip" install -q neutron
fi
# openssl makes the CA and server certificate of tests/python/test_tls.py.
ensure_packages install-test-deps openssl

# The web console: Node (Debian's nodejs 18 is enough; a newer one already here is kept),
# Debian's chromium for the browser suite, and the pinned front-end and test tools
# (web/package-lock.json, tests/console/package-lock.json).
if ! command -v npm >/dev/null; then
  ensure_packages install-test-deps nodejs npm
fi
ensure_packages install-test-deps chromium
for dir in web tests/console; do
  # npm ci leaves node_modules/.package-lock.json newer than the lockfile it installed.
  if [ ! "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    echo "install-test-deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
echo "install-test-deps: console tools ok (node $(node --version))"

# Contrail's operator tool that reads Sandesh XML introspect pages (crates/cli/tests/topology_sandesh.rs).
if [ ! -x "$VENV/bin/contrail-scrape-ist" ]; then
  "$VENV/bin/pip" install -q contrail-scrape
fi
