"""The console suite's view through the real vnc_api client: reads a network as the client
sees it, or creates one the way an orchestrator would. Prints JSON.

usage: vnc_probe.py PORT read-network FQ_NAME
       vnc_probe.py PORT create-network FQ_NAME CIDR
"""
import json
import sys

from vnc_api.vnc_api import (IpamSubnetType, NetworkIpam, SubnetType, VirtualNetwork,
                             VncApi, VnSubnetsType)


def main():
    port, cmd, fq = sys.argv[1], sys.argv[2], sys.argv[3].split(":")
    vnc = VncApi(api_server_host="127.0.0.1", api_server_port=port, auth_type="noauth")
    if cmd == "read-network":
        vn = vnc.virtual_network_read(fq_name=fq)
        subnets = []
        for ref in vn.get_network_ipam_refs() or []:
            for s in ref["attr"].get_ipam_subnets():
                subnets.append({
                    "ipam": ":".join(ref["to"]),
                    "cidr": "%s/%d" % (s.subnet.ip_prefix, s.subnet.ip_prefix_len),
                    "gateway": s.default_gateway,
                })
        rts = vn.get_route_target_list()
        print(json.dumps({
            "uuid": vn.uuid,
            "fq_name": vn.fq_name,
            "subnets": subnets,
            "route_targets": rts.get_route_target() if rts else [],
            "policies": [":".join(r["to"]) for r in vn.get_network_policy_refs() or []],
            "router_external": vn.get_router_external(),
            "pools": [":".join(p["to"]) for p in vn.get_floating_ip_pools() or []],
        }))
    elif cmd == "create-network":
        prefix, length = sys.argv[4].split("/")
        ipam = vnc.network_ipam_read(fq_name=["default-domain", "default-project", "default-network-ipam"])
        vn = VirtualNetwork(fq[-1], parent_type="project", fq_name=fq)
        vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType(prefix, int(length)))]))
        uuid = vnc.virtual_network_create(vn)
        print(json.dumps({"uuid": uuid}))
    else:
        sys.exit("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
