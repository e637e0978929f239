#!/usr/bin/env python3
"""Figures of the Neutron API: port create and port show latency, and creates/s, over HTTP
with Keystone auth (the token cache warm), beside vnc_api's for the same objects (a
virtual-machine-interface and its instance IP), against one cirrus-controller.

    CIRRUS_CONTROLLER_BIN=target/release/cirrus-controller \\
        target/test-venv/bin/python scripts/bench-neutron-api.py [--ports 300] [--neutron]

A real Keystone (tests/python/test_keystone_auth.py's fixture) issues the tokens; member `m1`
of project `p1` makes the Neutron requests, the admin the vnc_api ones (in project `p1`). With `--neutron` the same Neutron requests also go to a
real Neutron (tests/python/neutron_reference.py) for comparison. Only prints figures; every
process started here is stopped by its PID at the end, also on failure.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))

import requests  # noqa: E402

from conftest import Controller, free_port  # noqa: E402
from test_keystone_auth import Keystone, dashed, vnc  # noqa: E402


def figures(name, creates, shows, wall):
    def ms(xs, q):
        return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000
    print(f"{name:<34} create p50 {ms(creates, 0.5):6.2f} ms  p99 {ms(creates, 0.99):6.2f} ms  "
          f"mean {statistics.mean(creates) * 1000:6.2f} ms | show p50 {ms(shows, 0.5):6.2f} ms  "
          f"p99 {ms(shows, 0.99):6.2f} ms | {len(creates) / wall:7.1f} creates/s")


def neutron_ports(name, base, token, n):
    s = requests.Session()
    s.headers.update({"X-Auth-Token": token, "Content-Type": "application/json"})

    def call(method, path, body=None, want=200):
        r = s.request(method, base + "/v2.0/" + path, json=body, timeout=30)
        assert r.status_code == want, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    net = call("POST", "networks", {"network": {"name": "bench"}}, 201)["network"]["id"]
    call("POST", "subnets", {"subnet": {"network_id": net, "cidr": "10.60.0.0/16",
                                        "ip_version": 4}}, 201)
    for _ in range(10):  # warm: token cache, connections
        call("GET", f"networks/{net}")
    ids = [call("POST", "ports", {"port": {"network_id": net}}, 201)["port"]["id"]
           for _ in range(5)]  # warm: the tenant's default security group, first writes
    for i in ids:
        call("DELETE", f"ports/{i}", want=204)
    creates, shows, ids = [], [], []
    wall = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        ids.append(call("POST", "ports", {"port": {"network_id": net, "name": f"b{i}"}},
                        201)["port"]["id"])
        creates.append(time.perf_counter() - t)
    wall = time.perf_counter() - wall
    for i in ids:
        t = time.perf_counter()
        port = call("GET", f"ports/{i}")["port"]
        shows.append(time.perf_counter() - t)
        assert port["fixed_ips"], port
    figures(name, creates, shows, wall)
    for i in ids:
        call("DELETE", f"ports/{i}", want=204)
    call("DELETE", f"networks/{net}", want=204)


def vnc_ports(cirrus, keystone, n):
    from vnc_api.vnc_api import (InstanceIp, IpamSubnetType, NetworkIpam, SubnetType,
                                 VirtualMachineInterface, VirtualNetwork, VnSubnetsType)
    # instance IPs are global objects only the admin creates (vnc_openstack writes them with
    # the service's admin credentials): vnc_api here is Keystone's admin, in project p1
    api = vnc(cirrus, keystone, "admin", "admin")
    project = api.project_read(id=dashed(keystone.projects["p1"]))
    ipam = NetworkIpam("bench-ipam", parent_obj=project)
    api.network_ipam_create(ipam)
    vn = VirtualNetwork("bench-vnc", parent_obj=project)
    vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType("10.61.0.0", 16))]))
    api.virtual_network_create(vn)
    for _ in range(10):
        api.virtual_network_read(id=vn.uuid)
    creates, shows, made = [], [], []
    wall = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        vmi = VirtualMachineInterface(f"b{i}", parent_obj=project)
        vmi.add_virtual_network(vn)
        api.virtual_machine_interface_create(vmi)
        iip = InstanceIp(f"b{i}-ip")
        iip.add_virtual_network(vn)
        iip.add_virtual_machine_interface(vmi)
        api.instance_ip_create(iip)
        creates.append(time.perf_counter() - t)
        made.append((vmi.uuid, iip.uuid))
    wall = time.perf_counter() - wall
    for vmi_id, _ in made:
        t = time.perf_counter()
        vmi = api.virtual_machine_interface_read(id=vmi_id)
        ip = api.instance_ip_read(id=vmi.get_instance_ip_back_refs()[0]["uuid"])
        shows.append(time.perf_counter() - t)
        assert ip.instance_ip_address
    figures("vnc_api VMI + instance IP (Cirrus)", creates, shows, wall)
    for vmi_id, iip_id in made:
        api.instance_ip_delete(id=iip_id)
        api.virtual_machine_interface_delete(id=vmi_id)
    api.virtual_network_delete(id=vn.uuid)
    api.network_ipam_delete(id=ipam.uuid)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ports", type=int, default=300)
    ap.add_argument("--neutron", action="store_true", help="also time a real Neutron")
    args = ap.parse_args()
    keystone = Keystone()
    cirrus = neutron = None
    try:
        creds = os.path.join(keystone.dir, "cirrus-service.conf")
        with open(creds, "w") as f:
            f.write("[keystone_authtoken]\nusername = cirrus\npassword = cirruspw\n"
                    "project_name = service\n")
        port = free_port()
        cirrus = Controller(auth=f"keystone={keystone.url}/v3,credentials={creds}",
                            args=["--neutron-listen", f"127.0.0.1:{port}"])
        token = keystone.token("m1", "m1pw", "p1")[0]
        print(f"{args.ports} ports each, one client, sequential; member m1 of p1, Keystone auth")
        neutron_ports("Neutron API port (Cirrus)", f"http://127.0.0.1:{port}", token, args.ports)
        vnc_ports(cirrus, keystone, args.ports)
        if args.neutron:
            from neutron_reference import RealNeutron
            neutron = RealNeutron(keystone)
            neutron_ports("Neutron API port (real Neutron)", neutron.url, token, args.ports)
    finally:
        if neutron:
            neutron.stop()
        if cirrus:
            cirrus.close()
        keystone.stop()


if __name__ == "__main__":
    main()
