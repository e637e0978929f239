#!/bin/bash
# How long workload traffic stops when a vrouter is killed (-9) and restarted at once, with
# the real binaries in network namespaces (root; underlay 198.18.0.0/24 inside namespaces
# this script makes and removes, also on failure). A controller runs in the root namespace
# with its channel on a veth into an underlay namespace (a bridge); two compute namespaces
# c1, c2 run cirrus-vrouter on their eth0; workloads w1, w2 are namespaces on veths into
# them. w1 pings w2 every 10 ms for 12 s; c1 is killed and restarted 3 s in; the longest
# silence between replies is printed. CTL and VR name the binaries (default: target/debug),
# IO the vrouter's --io, CTL_ARGS more controller flags (e.g. --channel-graceful-restart 30).
#
#   cargo build -p cirrus-controller -p cirrus-vrouter && sudo crates/vrouter/scripts/restart-gap.sh
set -u
P=rg$$
CTL=${CTL:-target/debug/cirrus-controller}
VR=${VR:-target/debug/cirrus-vrouter}
IO=${IO:-af-packet-gso}
D=/tmp/$P; mkdir -p $D
cleanup() {
  for f in $D/*.pid; do [ -f "$f" ] && kill -9 $(cat $f) 2>/dev/null; done
  for n in c1 c2 w1 w2 u; do ip netns del ${P}$n 2>/dev/null; done
  ip link del ${P}r 2>/dev/null
  rm -rf $D
}
trap cleanup EXIT
ns() { ip netns exec ${P}$1 "${@:2}"; }
ip netns add ${P}u; ns u ip link add br0 type bridge; ns u ip link set br0 up; ns u ip link set lo up
ip link add ${P}r type veth peer name up0 netns ${P}u
ip addr add 198.18.0.1/24 dev ${P}r; ip link set ${P}r mtu 9000 up
ns u ip link set up0 mtu 9000 master br0 up
for i in 1 2; do
  ip netns add ${P}c$i; ns c$i ip link set lo up
  ns u ip link add c${i}p type veth peer name eth0 netns ${P}c$i
  ns u ip link set c${i}p mtu 9000 master br0 up
  ns c$i ip addr add 198.18.0.1$i/24 dev eth0; ns c$i ip link set eth0 mtu 9000 up
  ns c$i nft -f - <<NFT
table inet ${P} { chain input { type filter hook input priority 0; udp dport { 6635, 4789 } drop; ip protocol gre drop; }; }
NFT
done
$CTL --api-listen 127.0.0.1:18082 --data-dir $D/ctl --hostname cn1 --bgp-address 127.0.0.1 --bgp-port 11179 \
  --introspect-listen 127.0.0.1:18083 --channel-listen 198.18.0.1:15269 ${CTL_ARGS:-} --log warn > $D/ctl.log 2>&1 &
echo $! > $D/ctl.pid
for t in $(seq 50); do curl -s 127.0.0.1:18082/ >/dev/null && break; sleep 0.2; done
api() { curl -s -X $1 -H 'Content-Type: application/json' 127.0.0.1:18082$2 ${3:+-d "$3"}; }
api POST /network-ipams '{"network-ipam":{"fq_name":["default-domain","default-project","ipam"],"parent_type":"project"}}' >/dev/null
VN=$(api POST /virtual-networks '{"virtual-network":{"fq_name":["default-domain","default-project","red"],"parent_type":"project","network_ipam_refs":[{"to":["default-domain","default-project","ipam"],"attr":{"ipam_subnets":[{"subnet":{"ip_prefix":"10.1.0.0","ip_prefix_len":24}}]}}],"route_target_list":{"route_target":["target:64512:8100"]}}}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["virtual-network"]["uuid"])')
declare -A VMI MAC
for i in 1 2; do
  VMI[$i]=$(api POST /virtual-machine-interfaces "{\"virtual-machine-interface\":{\"fq_name\":[\"default-domain\",\"default-project\",\"p$i\"],\"parent_type\":\"project\",\"virtual_network_refs\":[{\"to\":[\"default-domain\",\"default-project\",\"red\"]}],\"virtual_machine_interface_bindings\":{\"key_value_pair\":[{\"key\":\"host_id\",\"value\":\"c$i\"}]}}}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["virtual-machine-interface"]["uuid"])')
  api POST /instance-ips "{\"instance-ip\":{\"fq_name\":[\"iip$i\"],\"instance_ip_address\":\"10.1.0.1$i\",\"virtual_network_refs\":[{\"to\":[\"default-domain\",\"default-project\",\"red\"]}],\"virtual_machine_interface_refs\":[{\"to\":[\"default-domain\",\"default-project\",\"p$i\"]}]}}" >/dev/null
  MAC[$i]=$(api GET /virtual-machine-interface/${VMI[$i]} | python3 -c 'import sys,json;print(json.load(sys.stdin)["virtual-machine-interface"]["virtual_machine_interface_mac_addresses"]["mac_address"][0])')
  ip netns add ${P}w$i; ns w$i ip link set lo up
  ns c$i ip link add tapw$i type veth peer name eth0 netns ${P}w$i
  ns c$i ip link set tapw$i up
  ns w$i ip link set eth0 address ${MAC[$i]}; ns w$i ip addr add 10.1.0.1$i/24 dev eth0; ns w$i ip link set eth0 up
  ns w$i ip route add default via 10.1.0.1
done
start_vr() {
  ip netns exec ${P}c$1 $VR --controller 198.18.0.1:15269 --hostname c$1 --fabric-interface eth0 --state-dir $D/c$1 --io $IO >> $D/c$1.log 2>&1 &
  echo $! > $D/c$1.pid
}
for i in 1 2; do start_vr $i; done
sleep 1
for i in 1 2; do
  ns c$i curl -s -X POST -H 'Content-Type: application/json' 127.0.0.1:9091/port -d "{\"id\":\"${VMI[$i]}\",\"instance-id\":\"00000000-0000-0000-0000-00000000000$i\",\"vn-id\":\"$VN\",\"vm-project-id\":\"\",\"display-name\":\"w$i\",\"ip-address\":\"10.1.0.1$i\",\"ip6-address\":\"\",\"type\":0,\"system-name\":\"tapw$i\",\"mac-address\":\"${MAC[$i]}\",\"rx-vlan-id\":-1,\"tx-vlan-id\":-1}" >/dev/null
done
for t in $(seq 100); do ns w1 ping -c1 -W0.2 10.1.0.12 >/dev/null 2>&1 && break; sleep 0.1; done
echo "first ping ok after ~$t tries"
# Established TCP-like stream: a UDP echo isn't needed; ping every 10 ms, 12 s.
ns w1 ping -i 0.01 -w 12 -D 10.1.0.12 > $D/ping.txt 2>&1 &
PING=$!
sleep 3
T0=$(date +%s.%N)
OLD=$(cat $D/c1.pid); kill -9 $OLD
while [ -e /proc/$OLD ]; do sleep 0.005; done
start_vr 1
wait $PING
python3 - "$D/ping.txt" "$T0" <<'PY'
import sys,re
t0=float(sys.argv[2])
ts=[float(m.group(1)) for m in re.finditer(r'^\[(\d+\.\d+)\].*icmp_seq', open(sys.argv[1]).read(), re.M)]
gaps=sorted(((b-a),a) for a,b in zip(ts,ts[1:]))
g,at=gaps[-1]
print(f"replies {len(ts)}; longest silence {g*1000:.0f} ms starting {(at-t0)*1000:+.0f} ms from the kill")
PY
tail -2 $D/ping.txt
grep -i "error\|warn" $D/c1.log | tail -5
