"""Side by side with real Neutron: one scripted sequence of Neutron v2.0 requests is sent to a
real Neutron (tests/python/neutron_reference.py: ML2 without mechanism drivers, the router
plugin, SQLite) and to cirrus-controller's --neutron-listen, both authenticating with the same
real Keystone (the fixture of test_keystone_auth.py), and every step must give the same status
code and the same body.

Before comparing, each body is normalised by `normalise`; that, and only that, is what we do
not compare:
- ids: every uuid (dashed, or 32 hex digits as Keystone's project ids) becomes the label of the
  step that created it (`<net1>`), or of the Keystone project (`<project:p1>`), or `<uuid>` for
  ids made by the server alone (default security groups and their rules, router ports): so a
  reference to the wrong object still differs;
- `created_at`, `updated_at`, `revision_number`: clocks and counters of each store;
- MAC addresses neither side was given (`<mac>`): both draw them at random;
- addresses neither side was given (`floating_ip_address` of a floating IP created without one):
  Neutron's IPAM picks one at random from the pool, Contrail's allocator the highest free one;
- collections (lists of resources, and a security group's rules) are compared as sorted lists:
  neither API promises an order without `sort_key`;
- `status` of ports and floating IPs: Neutron's comes from its agents (none run beside the
  reference, so always DOWN), Cirrus' is Contrail's (ACTIVE once the port has a device);
- attributes of the Neutron extensions Cirrus does not implement (NOT_IMPLEMENTED below,
  each one an extension Cirrus leaves out of /v2.0/extensions on purpose), and
  `standard_attr_id`, a database key Neutron leaks in the rules inside a security group.
Neutron's quota defaults are set to Cirrus' (unlimited) in its config, not ignored.
A step given a `known` reason (a sixth element) is known to differ: where Cirrus keeps a rule of
Contrail's api-server (one step: shrinking an allocation pool). It is printed, not asserted.
"""

import json
import re
import sys

import pytest
import requests

from neutron_reference import RealNeutron
from test_keystone_auth import Keystone, keystone_controller

# Attributes of extensions Neutron's ML2 and router plugins load and Cirrus does not list in
# /v2.0/extensions (each seen in the reference's answers to STEPS): provider networks
# (`provider`, shown to the admin), VLAN transparency and QinQ, default external networks,
# subnet service types, router flavors, floating IP port details, the external gateway's fixed
# IPs (ext-gw-mode, not built yet), extra DHCP options, the default-SG flag of rules, quotas of
# RBAC policies, extra routes and subnet pools; and `standard_attr_id`, a database key Neutron
# leaks in the rules inside a security group.
NOT_IMPLEMENTED = {
    "provider:network_type", "provider:physical_network", "provider:segmentation_id",
    "vlan_transparent", "qinq", "is_default", "service_types", "flavor_id", "port_details",
    "external_fixed_ips", "extra_dhcp_opts", "belongs_to_default_sg", "rbac_policy",
    "router_route", "subnetpool", "standard_attr_id",
}

UUID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b")
TIMES = {"created_at", "updated_at", "revision_number"}
GIVEN_MACS = {"fa:16:3e:00:00:01", "fa:16:3e:00:00:09", "fa:16:3e:00:00:02"}
COLLECTIONS = {"networks", "subnets", "ports", "security_groups", "security_group_rules",
               "routers", "floatingips", "quotas"}

P1 = "m1"  # member of project p1
ADMIN = "admin"
NOWHERE = "4b1a0c6e-0000-4000-8000-000000000000"
EXT_SUB = {"network_id": "{ext}", "cidr": "172.24.4.0/24", "ip_version": 4, "name": "ext-sub"}

# (label, caller, method, path, body[, known]). A label names the resource a 201 creates;
# `{label}` in a path or body is that resource's id. A body given as a str is sent as it is.
# `known` says why the step is known to differ: such a step is printed, not asserted.
STEPS = [
    # networks
    ("net1", P1, "POST", "networks", {"network": {"name": "net1", "admin_state_up": True}}),
    ("", P1, "GET", "networks/{net1}", None),
    ("", P1, "PUT", "networks/{net1}", {"network": {"name": "net1b", "mtu": 1400}}),
    ("", P1, "POST", "networks", {"network": {"name": "x", "colour": "red"}}),
    ("", P1, "POST", "networks", "{not json"),
    ("", P1, "POST", "networks", {"net": {"name": "x"}}),
    ("", P1, "POST", "networks", {"network": {"mtu": "big"}}),
    ("", P1, "POST", "networks", {"network": {"admin_state_up": "maybe"}}),
    ("", P1, "POST", "networks", {"network": {"name": "x", "shared": True}}),
    ("", P1, "GET", "networks/" + NOWHERE, None),
    ("", P1, "PUT", "networks/{net1}", {"network": {"id": NOWHERE}}),
    ("", P1, "PUT", "networks/" + NOWHERE, {"network": {"name": "y"}}),
    ("net2", P1, "POST", "networks", {"network": {"name": "net2", "port_security_enabled": False}}),
    ("", P1, "GET", "networks?name=net1b", None),
    ("", P1, "GET", "networks?fields=name&fields=mtu", None),
    # subnets
    ("s1", P1, "POST", "subnets", {"subnet": {
        "network_id": "{net1}", "cidr": "10.7.0.0/24", "ip_version": 4, "name": "s1",
        "allocation_pools": [{"start": "10.7.0.10", "end": "10.7.0.100"}],
        "gateway_ip": "10.7.0.1", "dns_nameservers": ["8.8.8.8", "8.8.4.4"],
        "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.7.0.9"}]}}),
    ("", P1, "GET", "subnets/{s1}", None),
    ("", P1, "PUT", "subnets/{s1}", {"subnet": {"name": "s1b", "dns_nameservers": ["1.1.1.1"]}}),
    ("", P1, "PUT", "subnets/{s1}", {"subnet": {"cidr": "10.7.1.0/24"}}),
    ("s2", P1, "POST", "subnets", {"subnet": {
        "network_id": "{net2}", "cidr": "10.8.0.0/24", "ip_version": 4, "gateway_ip": None,
        "enable_dhcp": False}}),
    ("s3", P1, "POST", "subnets", {"subnet": {"network_id": "{net2}", "cidr": "10.6.0.0/28",
                                              "ip_version": 4, "description": "small"}}),
    ("", P1, "POST", "subnets", {"subnet": {"network_id": "{net1}", "ip_version": 4}}),
    ("", P1, "POST", "subnets", {"subnet": {"network_id": "{net1}", "cidr": "10.1.0.0/33",
                                            "ip_version": 4}}),
    ("", P1, "POST", "subnets", {"subnet": {"network_id": "{net1}", "cidr": "10.7.0.0/25",
                                            "ip_version": 4}}),
    ("", P1, "POST", "subnets", {"subnet": {
        "network_id": "{net1}", "cidr": "10.5.0.0/24", "ip_version": 4,
        "allocation_pools": [{"start": "10.4.0.10", "end": "10.4.0.100"}]}}),
    ("", P1, "POST", "subnets", {"subnet": {"network_id": NOWHERE, "cidr": "10.5.0.0/24",
                                            "ip_version": 4}}),
    ("", P1, "POST", "subnets", {"subnet": {"network_id": "{net1}", "cidr": "10.5.0.0/24",
                                            "ip_version": 5}}),
    ("", P1, "GET", "subnets?network_id={net2}", None),
    ("", P1, "PUT", "subnets/{s3}", {"subnet": {"host_routes": [], "enable_dhcp": False}}),
    ("", P1, "PUT", "subnets/{s3}", {"subnet": {
        "allocation_pools": [{"start": "10.6.0.3", "end": "10.6.0.10"}]}},
     "Contrail's api-server refuses to remove an allocation pool (Cirrus keeps its rule)"),
    ("net3", P1, "POST", "networks", {"network": {"name": "net3", "admin_state_up": False}}),
    # with its gateway given: Neutron's default IPv6 gateway is the network's own address, which
    # Contrail's api-server refuses as out of the cidr
    ("s6", P1, "POST", "subnets", {"subnet": {
        "network_id": "{net3}", "cidr": "2001:db8:1::/64", "ip_version": 6,
        "gateway_ip": "2001:db8:1::1", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}),
    ("", P1, "POST", "subnets", {"subnet": {"network_id": "{net3}", "cidr": "10.3.0.0/24",
                                            "ip_version": 4, "ipv6_ra_mode": "slaac"}}),
    ("", P1, "PUT", "networks/{net3}", {"network": {"admin_state_up": True, "mtu": 1450}}),
    ("", P1, "POST", "networks", {"network": {"name": "x" * 256}}),
    ("", P1, "GET", "networks?sort_key=name&sort_dir=desc&limit=1", None),
    ("", P1, "GET", "networks?sort_key=name&sort_dir=asc&limit=2&marker={net2}", None),
    ("", P1, "GET", "networks?sort_key=name&sort_dir=asc&limit=1&marker={net3}&page_reverse=True",
     None),
    ("", P1, "GET", "networks?sort_key=name&limit=1", None),
    ("", P1, "DELETE", "subnets/{s6}", None),
    ("", P1, "DELETE", "networks/{net3}", None),
    # security groups and rules
    ("sg1", P1, "POST", "security-groups", {"security_group": {"name": "web", "description": "d"}}),
    ("rule1", P1, "POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": "{sg1}", "direction": "ingress", "protocol": "tcp",
        "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "10.0.0.0/8",
        "ethertype": "IPv4"}}),
    ("", P1, "POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": "{sg1}", "direction": "ingress", "protocol": "tcp",
        "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "10.0.0.0/8",
        "ethertype": "IPv4"}}),
    ("rule2", P1, "POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": "{sg1}", "direction": "ingress", "protocol": "icmp",
        "ethertype": "IPv6", "remote_group_id": "{sg1}"}}),
    ("", P1, "POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": "{sg1}", "direction": "ingress", "protocol": "bogus"}}),
    ("", P1, "POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": "{sg1}", "direction": "sideways"}}),
    ("", P1, "POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": "{sg1}", "direction": "ingress", "protocol": "tcp",
        "port_range_min": 90, "port_range_max": 80}}),
    ("", P1, "POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": NOWHERE, "direction": "ingress"}}),
    ("", P1, "POST", "security-group-rules", {"security_group_rule": {"direction": "ingress"}}),
    ("", P1, "GET", "security-groups/{sg1}", None),
    ("", P1, "PUT", "security-groups/{sg1}", {"security_group": {"name": "web2"}}),
    ("", P1, "GET", "security-group-rules/{rule1}", None),
    ("", P1, "GET", "security-groups?name=default", None),
    ("", P1, "PUT", "security-group-rules/{rule1}", {"security_group_rule": {"protocol": "udp"}}),
    # ports
    ("port1", P1, "POST", "ports", {"port": {
        "network_id": "{net1}", "name": "port1", "mac_address": "fa:16:3e:00:00:01",
        "fixed_ips": [{"subnet_id": "{s1}", "ip_address": "10.7.0.20"}],
        "allowed_address_pairs": [{"ip_address": "10.7.0.200"}],
        "security_groups": ["{sg1}"], "device_owner": "compute:nova", "device_id": "vm-1"}}),
    ("", P1, "GET", "ports/{port1}", None),
    ("", P1, "PUT", "ports/{port1}", {"port": {
        "name": "port1b", "allowed_address_pairs": [{"ip_address": "10.7.0.201",
                                                     "mac_address": "fa:16:3e:00:00:09"}]}}),
    ("port2", P1, "POST", "ports", {"port": {
        "network_id": "{net1}", "fixed_ips": [{"ip_address": "10.7.0.21"}],
        "port_security_enabled": False, "mac_address": "fa:16:3e:00:00:02"}}),
    ("port3", P1, "POST", "ports", {"port": {
        "network_id": "{net2}", "fixed_ips": [{"subnet_id": "{s3}", "ip_address": "10.6.0.5"}]}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}", "port_security_enabled": False,
                                        "security_groups": ["{sg1}"]}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}", "binding:host_id": "compute-1"}}),
    ("", P1, "PUT", "ports/{port2}", {"port": {"binding:host_id": "compute-1"}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}",
                                        "fixed_ips": [{"ip_address": "10.7.0.20"}]}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}",
                                        "mac_address": "fa:16:3e:00:00:01"}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}",
                                        "fixed_ips": [{"ip_address": "10.9.0.5"}]}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}", "mac_address": "zz"}}),
    ("", P1, "POST", "ports", {"port": {"name": "no-net"}}),
    ("", P1, "POST", "ports", {"port": {"network_id": NOWHERE}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}", "security_groups": [NOWHERE]}}),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}",
                                        "allowed_address_pairs": [{"mac_address": "fa:16:3e:00:00:03"}]}}),
    ("", P1, "PUT", "ports/{port2}", {"port": {"security_groups": ["{sg1}"]}}),
    ("", P1, "GET", "ports?network_id={net1}&fields=name&fields=fixed_ips", None),
    ("", P1, "DELETE", "security-groups/{sg1}", None),
    ("", P1, "DELETE", "networks/{net1}", None),
    ("", P1, "DELETE", "subnets/{s1}", None),
    # routers and floating IPs
    ("ext", ADMIN, "POST", "networks", {"network": {"name": "public", "router:external": True,
                                                    "shared": True}}),
    ("extsub", ADMIN, "POST", "subnets", {"subnet": EXT_SUB}),
    ("r1", P1, "POST", "routers", {"router": {"name": "r1",
                                              "external_gateway_info": {"network_id": "{ext}"}}}),
    ("", P1, "PUT", "routers/{r1}/add_router_interface", {"subnet_id": "{s1}"}),
    ("", P1, "PUT", "routers/{r1}/add_router_interface", {"subnet_id": "{s1}"}),
    ("", P1, "PUT", "routers/{r1}/add_router_interface", {}),
    ("", P1, "GET", "routers/{r1}", None),
    ("", P1, "POST", "routers", {"router": {"name": "x", "flavor": 1}}),
    ("fip1", P1, "POST", "floatingips", {"floatingip": {"floating_network_id": "{ext}",
                                                        "port_id": "{port1}"}}),
    ("", P1, "GET", "floatingips/{fip1}", None),
    ("", P1, "PUT", "floatingips/{fip1}", {"floatingip": {"port_id": None}}),
    ("", P1, "POST", "floatingips", {"floatingip": {"floating_network_id": "{net1}"}}),
    ("", P1, "DELETE", "subnets/{s1}", None),
    ("", P1, "DELETE", "routers/{r1}", None),
    ("", P1, "DELETE", "floatingips/{fip1}", None),
    ("", P1, "PUT", "routers/{r1}/remove_router_interface", {"subnet_id": "{s1}"}),
    ("", P1, "PUT", "routers/{r1}", {"router": {"external_gateway_info": None, "name": "r1b"}}),
    ("", P1, "DELETE", "routers/{r1}", None),
    # quotas
    ("", P1, "GET", "quotas/{project:p1}", None),
    ("", P1, "PUT", "quotas/{project:p1}", {"quota": {"network": 5}}),
    ("", ADMIN, "PUT", "quotas/{project:p1}", {"quota": {"network": 5, "port": 3}}),
    ("", ADMIN, "PUT", "quotas/{project:p1}", {"quota": {"network": "many"}}),
    ("", P1, "GET", "quotas/{project:p1}", None),
    ("", P1, "POST", "ports", {"port": {"network_id": "{net1}"}}),
    ("", ADMIN, "DELETE", "quotas/{project:p1}", None),
    # deletes, and what is gone
    ("", P1, "DELETE", "ports/{port1}", None),
    ("", P1, "DELETE", "ports/{port1}", None),
    ("", P1, "DELETE", "ports/{port2}", None),
    ("", P1, "DELETE", "ports/{port3}", None),
    ("", P1, "DELETE", "security-group-rules/{rule2}", None),
    ("", P1, "DELETE", "security-groups/{sg1}", None),
    ("", P1, "DELETE", "subnets/{s1}", None),
    ("", P1, "DELETE", "networks/{net1}", None),
    ("", P1, "DELETE", "networks/{net2}", None),
    ("", P1, "GET", "networks/{net1}", None),
    ("", ADMIN, "DELETE", "networks/{ext}", None),
    ("", P1, "GET", "ports", None),
]


@pytest.fixture(scope="module")
def keystone():
    k = Keystone()
    yield k
    k.stop()


@pytest.fixture(scope="module")
def neutron(keystone):
    # Cirrus' project quotas are unlimited unless set: Neutron's defaults made the same.
    n = RealNeutron(keystone, quotas={k: -1 for k in (
        "network", "subnet", "port", "router", "floatingip", "security_group",
        "security_group_rule")})
    yield n
    n.stop()


@pytest.fixture(scope="module")
def cirrus(keystone):
    c = keystone_controller(keystone, neutron=True)
    yield c
    c.close()


def fill(x, ids):
    if isinstance(x, str):
        # a label whose create failed stands for no resource (and its steps differ)
        return re.sub(r"\{([a-z0-9:]+)\}", lambda m: ids.get(m.group(1), NOWHERE), x)
    if isinstance(x, list):
        return [fill(v, ids) for v in x]
    if isinstance(x, dict):
        return {k: fill(v, ids) for k, v in x.items()}
    return x


def run(base, keystone):
    """Sends STEPS to the server at `base`; returns [(status, body)] and the labels of ids."""
    tokens = {P1: keystone.token("m1", "m1pw", "p1")[0],
              ADMIN: keystone.token("admin", "adminpw", "admin")[0]}
    ids = {f"project:{p}": i for p, i in keystone.projects.items()}
    out = []
    for label, who, method, path, body, *_ in STEPS:
        url = base + "/v2.0/" + fill(path, ids)
        kw = {"data": body} if isinstance(body, str) else {"json": fill(body, ids)}
        r = requests.request(method, url, timeout=30, **kw,
                             headers={"X-Auth-Token": tokens[who],
                                      "Content-Type": "application/json"})
        try:
            # links name the server: the same for both
            got = json.loads(r.text.replace(base, "<server>")) if r.content else None
        except ValueError:
            got = r.text
        if label and r.status_code == 201:
            ids[label] = next(iter(got.values()))["id"]
        out.append((r.status_code, got))
    return out, ids


def normalise(x, names, key=None):
    """`x` with what the module docstring lists replaced or removed."""
    if isinstance(x, dict):
        out = {k: normalise(v, names, k) for k, v in x.items()
               if k not in TIMES and k not in NOT_IMPLEMENTED}
        if key in ("floatingip", "floatingips", "port", "ports"):
            out.pop("status", None)
            if "floating_ip_address" in out:
                out["floating_ip_address"] = "<allocated>"
        return out
    if isinstance(x, list):
        items = [normalise(v, names, key) for v in x]
        if key in COLLECTIONS or key == "security_group_rules":
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        return items
    if isinstance(x, str):
        x = UUID.sub(lambda m: f"<{names.get(m.group(0).replace('-', ''), 'uuid')}>", x)
        if key == "mac_address" and x not in GIVEN_MACS:
            return "<mac>"
        return x
    return x


def test_cirrus_answers_the_scripted_sequence_as_real_neutron_does(keystone, neutron, cirrus):
    theirs, their_ids = run(neutron.url, keystone)
    ours, our_ids = run(cirrus.neutron, keystone)
    diffs, known = [], []
    for i, (step, t, o) in enumerate(zip(STEPS, theirs, ours)):
        tn = (t[0], normalise(t[1], {v.replace("-", ""): k for k, v in their_ids.items()}))
        on = (o[0], normalise(o[1], {v.replace("-", ""): k for k, v in our_ids.items()}))
        if tn != on:
            text = (f"#{i} {step[1]} {step[2]} {step[3]} {json.dumps(step[4]) if step[4] else ''}"
                    f"\n  neutron: {json.dumps(tn, sort_keys=True)}"
                    f"\n  cirrus:  {json.dumps(on, sort_keys=True)}")
            (known if len(step) > 5 else diffs).append(text + (f"\n  known: {step[5]}"
                                                               if len(step) > 5 else ""))
    print(f"side by side: {len(STEPS) - len(diffs) - len(known)} of {len(STEPS)} steps the same, "
          f"{len(known)} known to differ:\n" + "\n".join(known), file=sys.stderr)
    assert not diffs, f"{len(diffs)} of {len(STEPS)} steps differ:\n" + "\n".join(diffs)
