#!/usr/bin/env bash
# The overlay benchmarks of the vRouter issue, measured in one run on this machine (root) and
# printed beside their targets:
#   1. `cirrusctl sandbox up` (2 compute nodes) to the first successful ping between workloads
#      on different nodes, build excluded;
#   2. iperf3 TCP (one stream, median of three runs) between workloads on two nodes over the
#      Cirrus overlay, as a ratio of the same transfer over a plain veth pair in the same run
#      (target >= 0.5);
#   3. the same two-node VXLAN overlay built with Open vSwitch's userspace datapath
#      (datapath_type=netdev): iperf3 TCP, and for both overlays UDP packets/s (64-byte
#      datagrams) and packets/s per core of the forwarding processes (cirrus-vrouter,
#      ovs-vswitchd; CPU from /proc), with Cirrus ahead.
# Installs what it needs (openvswitch-switch, iperf3, ...), builds the release binaries, and
# removes every namespace, link and process it made when it ends, also on failure.
#
#   scripts/bench-overlay.sh [SECONDS]     # each transfer's length, default 5
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
SECS=${1:-5}

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-overlay: needs root (network namespaces)" >&2
  exit 1
fi
APT_PACKAGES=(openvswitch-switch iperf3 iproute2 nftables ethtool busybox iputils-ping
  protobuf-compiler python3)
# shellcheck source=lib/apt.sh
. scripts/lib/apt.sh
ensure_packages bench-overlay "${APT_PACKAGES[@]}"

cargo build --release -q -p cirrus-controller -p cirrus-cli -p cirrus-vrouter
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
CTL="$BIN/cirrusctl"

PFX=bench$$
SB_DIR=$(mktemp -d /tmp/cirrus-bench.XXXXXX)
OVS_DIR=$SB_DIR/ovs
# Namespaces of the plain-veth and OVS parts (the sandbox's own are its to remove).
OWN_NS=("$PFX-pa" "$PFX-pb" "$PFX-on1" "$PFX-on2" "$PFX-ow1" "$PFX-ow2")
OVS_PIDS=()
SANDBOX=("$CTL" sandbox --prefix "$PFX" --state-dir "$SB_DIR/sandbox")

cleanup() {
  set +e
  for pid in "${OVS_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  "${SANDBOX[@]}" down >/dev/null 2>&1
  for ns in "${OWN_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$SB_DIR"
}
trap cleanup EXIT

# Sum of utime+stime (clock ticks) of the given pids.
cpu_ticks() {
  local t=0 pid
  for pid in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$t"
}
TICKS=$(getconf CLK_TCK)

# iperf3 TCP from namespace $1 to address $3 served in namespace $2: Mbit/s received, one run.
tcp_once() {
  ip netns exec "$2" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  local out
  out=$(ip netns exec "$1" iperf3 -c "$3" -p 5201 -t "$SECS" --connect-timeout 3000 -J) ||
    { kill "$srv" 2>/dev/null; echo "iperf3 to $3 failed: $out" >&2; return 1; }
  wait "$srv" 2>/dev/null || true
  echo "$out" |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))'
}

# The median of three runs: one run on 2 shared cores (both iperf3 ends and both forwarders)
# swings by a third from the next.
tcp_mbps() {
  local a b c
  a=$(tcp_once "$@")
  b=$(tcp_once "$@")
  c=$(tcp_once "$@")
  echo "runs $a $b $c Mbit/s" >&2
  printf '%s\n' "$a" "$b" "$c" | sort -n | sed -n 2p
}

# iperf3 UDP, 64-byte datagrams as fast as the sender goes, from $1 to $3 in $2; the forwarding
# processes' pids follow. Prints "received-pps cpu-seconds".
udp_pps() {
  local from=$1 to=$2 addr=$3
  shift 3
  ip netns exec "$to" iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  local before out after
  before=$(cpu_ticks "$@")
  out=$(ip netns exec "$from" iperf3 -c "$addr" -p 5202 -u -l 64 -b 0 -t "$SECS" \
    --connect-timeout 3000 -J) ||
    { kill "$srv" 2>/dev/null; echo "iperf3 to $addr failed: $out" >&2; return 1; }
  after=$(cpu_ticks "$@")
  wait "$srv" 2>/dev/null || true
  echo "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)["end"]["sum"]
secs, ticks = float(sys.argv[1]), float(sys.argv[2])
print(round((s["packets"] - s["lost_packets"]) / secs), round(ticks / float(sys.argv[3]), 2))' \
    "$SECS" "$((after - before))" "$TICKS"
}

echo "== 1. Cirrus: sandbox up, two workloads on two nodes, first ping"
start=$(date +%s.%N)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
"${SANDBOX[@]}" up --computes 2 --api-listen "127.0.0.1:$(free_port)" \
  --introspect-listen "127.0.0.1:$(free_port)" >"$SB_DIR/up.log" 2>&1 ||
  { cat "$SB_DIR/up.log"; exit 1; }
API=$(awk '/VNC API/ {print $3}' "$SB_DIR/up.log")
"$CTL" --api "$API" apply -f - >/dev/null <<'EOF'
kind: project
fq_name: [default-domain, bench]
---
kind: network-ipam
fq_name: [default-domain, bench, bench-ipam]
---
kind: virtual-network
fq_name: [default-domain, bench, net]
network_ipam_refs:
  - to: [default-domain, bench, bench-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.77.0.0, ip_prefix_len: 24}
EOF
"${SANDBOX[@]}" workload add w1 --compute c1 --network default-domain:bench:net >/dev/null
"${SANDBOX[@]}" workload add w2 --compute c2 --network default-domain:bench:net >/dev/null
W2=$("${SANDBOX[@]}" status | awk '$1 == "w2" { split($4, a, "/"); print a[1] }')
for _ in $(seq 1 200); do
  if ip netns exec "$PFX-w1" ping -c 1 -W 1 "$W2" >/dev/null 2>&1; then break; fi
  sleep 0.05
done
ip netns exec "$PFX-w1" ping -c 1 -W 1 "$W2" >/dev/null
FIRST_PING=$(python3 -c "import time; print(round(time.time() - $start, 2))")
MTU=$(ip netns exec "$PFX-w1" cat /sys/class/net/eth0/mtu)
VROUTERS=($(ip netns pids "$PFX-c1") $(ip netns pids "$PFX-c2"))
echo "first ping after $FIRST_PING s; workload MTU $MTU; vrouter pids ${VROUTERS[*]}"

echo "== 2. Cirrus overlay and a plain veth pair: iperf3 TCP, ${SECS} s each"
CIRRUS_TCP=$(tcp_mbps "$PFX-w1" "$PFX-w2" "$W2")
ip netns add "$PFX-pa"
ip netns add "$PFX-pb"
ip link add eth0 netns "$PFX-pa" mtu "$MTU" type veth peer name eth0 netns "$PFX-pb" mtu "$MTU"
ip -n "$PFX-pa" addr add 10.78.0.1/24 dev eth0
ip -n "$PFX-pb" addr add 10.78.0.2/24 dev eth0
ip -n "$PFX-pa" link set eth0 up
ip -n "$PFX-pb" link set eth0 up
VETH_TCP=$(tcp_mbps "$PFX-pa" "$PFX-pb" 10.78.0.2)
read -r CIRRUS_PPS CIRRUS_CPU < <(udp_pps "$PFX-w1" "$PFX-w2" "$W2" "${VROUTERS[@]}")
echo "cirrus $CIRRUS_TCP Mbit/s, plain veth $VETH_TCP Mbit/s; cirrus UDP $CIRRUS_PPS pps on $CIRRUS_CPU CPU s"

echo "== 3. Open vSwitch userspace datapath (netdev), VXLAN between two nodes"
# Two nodes joined by one underlay veth (MTU 65535 as in the sandbox), a workload on each.
for n in on1 on2 ow1 ow2; do ip netns add "$PFX-$n"; done
ip link add eth0 netns "$PFX-on1" mtu 65535 type veth peer name eth0 netns "$PFX-on2" mtu 65535
for i in 1 2; do
  ip link add eth0 netns "$PFX-ow$i" mtu "$MTU" type veth peer name vw$i netns "$PFX-on$i" mtu "$MTU"
  ip -n "$PFX-ow$i" addr add 10.79.0.$i/24 dev eth0
  ip -n "$PFX-ow$i" link set eth0 up
  ip -n "$PFX-on$i" link set vw$i up
  # OVS's netdev datapath takes 1500-byte frames from a veth: no TSO/GSO super-frames, and
  # checksums complete (userspace TSO does not cover VXLAN in this OVS).
  ip netns exec "$PFX-ow$i" ethtool -K eth0 tso off gso off tx off >/dev/null
  ip netns exec "$PFX-on$i" ethtool -K vw$i tso off gso off tx off >/dev/null
  ip -n "$PFX-on$i" link set eth0 up
  ip -n "$PFX-on$i" link set lo up
done
for i in 1 2; do
  d=$OVS_DIR/n$i
  mkdir -p "$d"
  ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ip netns exec "$PFX-on$i" ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" \
    --unixctl="$d/ovsdb.ctl" --pidfile="$d/ovsdb.pid" --log-file="$d/ovsdb.log" --detach
  OVS_PIDS+=("$(cat "$d/ovsdb.pid")")
  vsctl=(ovs-vsctl --db="unix:$d/db.sock")
  "${vsctl[@]}" --no-wait init
  ip netns exec "$PFX-on$i" ovs-vswitchd "unix:$d/db.sock" --unixctl="$d/vswitchd.ctl" \
    --pidfile="$d/vswitchd.pid" --log-file="$d/vswitchd.log" --detach
  OVS_PIDS+=("$(cat "$d/vswitchd.pid")")
  other=$((3 - i))
  mac=$(ip netns exec "$PFX-on$i" cat /sys/class/net/eth0/address)
  "${vsctl[@]}" add-br br-phy -- set bridge br-phy datapath_type=netdev other_config:hwaddr="$mac" \
    -- add-port br-phy eth0 \
    -- add-br br-int -- set bridge br-int datapath_type=netdev \
    -- add-port br-int vw$i \
    -- add-port br-int vx0 -- set interface vx0 type=vxlan options:remote_ip=198.19.250.$other options:key=100
  ip -n "$PFX-on$i" addr add 198.19.250.$i/24 dev br-phy
  ip -n "$PFX-on$i" link set br-phy up   # a tap: the kernel side only; OVS sends on eth0
  ip -n "$PFX-on$i" link set br-int up
  ovs-appctl -t "$d/vswitchd.ctl" ovs/route/add 198.19.250.0/24 br-phy >/dev/null
done
for _ in $(seq 1 100); do
  if ip netns exec "$PFX-ow1" ping -c 1 -W 1 10.79.0.2 >/dev/null 2>&1; then break; fi
  sleep 0.1
done
ip netns exec "$PFX-ow1" ping -c 1 -W 1 10.79.0.2 >/dev/null ||
  { echo "OVS overlay does not pass a ping"; cat "$OVS_DIR"/n*/vswitchd.log | tail -30; exit 1; }
VSWITCHD=($(cat "$OVS_DIR/n1/vswitchd.pid") $(cat "$OVS_DIR/n2/vswitchd.pid"))
OVS_TCP=$(tcp_mbps "$PFX-ow1" "$PFX-ow2" 10.79.0.2)
read -r OVS_PPS OVS_CPU < <(udp_pps "$PFX-ow1" "$PFX-ow2" 10.79.0.2 "${VSWITCHD[@]}")
echo "ovs $OVS_TCP Mbit/s; ovs UDP $OVS_PPS pps on $OVS_CPU CPU s"

python3 - "$FIRST_PING" "$CIRRUS_TCP" "$VETH_TCP" "$OVS_TCP" "$CIRRUS_PPS" "$CIRRUS_CPU" \
  "$OVS_PPS" "$OVS_CPU" "$SECS" "$MTU" <<'EOF'
import sys
first, ctcp, vtcp, otcp, cpps, ccpu, opps, ocpu, secs, mtu = (float(a) for a in sys.argv[1:])
per_core = lambda pps, cpu: pps * secs / cpu if cpu > 0 else float("nan")
print()
print(f"overlay benchmarks ({secs:.0f} s per transfer, TCP the median of 3, workload MTU {mtu:.0f}, underlay MTU 65535)")
print(f"{'figure':<48}{'Cirrus':>12}{'OVS netdev':>12}   target")
print(f"{'sandbox up to first ping across nodes (s)':<48}{first:>12.2f}{'':>12}   (shown)")
print(f"{'iperf3 TCP, 1 stream (Mbit/s)':<48}{ctcp:>12.0f}{otcp:>12.0f}   Cirrus ahead")
print(f"{'  as a ratio of a plain veth pair (' + format(vtcp, '.0f') + ' Mbit/s)':<48}{ctcp/vtcp:>12.2f}{otcp/vtcp:>12.2f}   >= 0.5")
print(f"{'UDP 64-byte datagrams received (packets/s)':<48}{cpps:>12.0f}{opps:>12.0f}   Cirrus ahead")
print(f"{'  per core of the forwarding processes':<48}{per_core(cpps, ccpu):>12.0f}{per_core(opps, ocpu):>12.0f}   Cirrus ahead")
EOF
