"""The Neutron v2.0 API on --neutron-listen, with a real Keystone (the fixture of
test_keystone_auth.py) issuing tokens: openstacksdk creates, lists, shows, updates and deletes
networks, subnets, ports, security groups and rules, routers and floating IPs, and vnc_api sees
the same objects (logical-router, floating-ip); bad input gets Neutron's 400 naming the
attribute and changes nothing.
"""

import os
import sys

import pytest
import requests

from conftest import allow_role
from test_keystone_auth import DOMAIN, Keystone, dashed, keystone_controller, vnc

openstack = pytest.importorskip("openstack") if os.environ.get("CI") != "true" else __import__("openstack")


@pytest.fixture(scope="module")
def keystone():
    k = Keystone()
    yield k
    k.stop()


@pytest.fixture(scope="module")
def cirrus(keystone):
    c = keystone_controller(keystone, neutron=True)
    # members need an api-access-list rule to read through vnc_api (the Neutron API makes
    # its own tenant checks), as on Contrail under aaa_mode rbac
    allow_role(vnc(c, keystone, "admin", "admin"), "member")
    yield c
    c.close()


def sdk(cirrus, keystone, user, project):
    return openstack.connect(auth_url=keystone.url + "/v3", username=user, password=user + "pw",
                             project_name=project, user_domain_name=DOMAIN,
                             project_domain_name=DOMAIN,
                             network_endpoint_override=cirrus.neutron + "/v2.0/")


def test_openstacksdk_crud_and_vnc_api_sees_the_same_objects(cirrus, keystone):
    conn = sdk(cirrus, keystone, "m1", "p1")
    m1 = vnc(cirrus, keystone, "m1", "p1")
    net = conn.network.create_network(name="n1", mtu=1400)
    assert net.mtu == 1400 and net.project_id == keystone.projects["p1"]
    vn = m1.virtual_network_read(id=net.id)
    assert vn.get_fq_name() == ["default-domain", "p1", "n1"]
    assert vn.display_name == "n1"

    sub = conn.network.create_subnet(network_id=net.id, cidr="10.7.0.0/24", ip_version=4,
                                     name="s1", dns_nameservers=["8.8.8.8"],
                                     host_routes=[{"destination": "10.9.0.0/16",
                                                   "nexthop": "10.7.0.9"}])
    assert sub.gateway_ip == "10.7.0.1"
    assert sub.allocation_pools == [{"start": "10.7.0.2", "end": "10.7.0.254"}]
    assert sub.dns_nameservers == ["8.8.8.8"]
    ipam = m1.virtual_network_read(id=net.id).get_network_ipam_refs()[0]["attr"]
    assert ipam.ipam_subnets[0].subnet_uuid == sub.id

    # binding a port to a host is the admin's and services' (Nova's), by Neutron's policy
    with pytest.raises(openstack.exceptions.ForbiddenException) as e:
        conn.network.create_port(network_id=net.id, name="p0", binding_host_id="compute-1")
    assert "create_port:binding:host_id" in str(e.value)
    port = conn.network.create_port(network_id=net.id, name="p1",
                                    allowed_address_pairs=[{"ip_address": "10.7.0.200"}])
    ip = port.fixed_ips[0]["ip_address"]
    assert port.fixed_ips[0]["subnet_id"] == sub.id
    with pytest.raises(openstack.exceptions.ForbiddenException):
        conn.network.update_port(port.id, binding_host_id="compute-1")
    admin = sdk(cirrus, keystone, "admin", "admin")
    admin.network.update_port(port.id, binding_host_id="compute-1")
    # binding details are shown to the admin and services only (Neutron's policy)
    assert conn.network.get_port(port.id).binding_vif_type is None
    assert admin.network.get_port(port.id).binding_vif_type == "vrouter"
    assert [p.name for p in conn.network.ports(network_id=net.id)] == ["p1"]
    vmi = m1.virtual_machine_interface_read(id=port.id)
    assert vmi.get_virtual_network_refs()[0]["uuid"] == net.id
    iips = [m1.instance_ip_read(id=r["uuid"]) for r in vmi.get_instance_ip_back_refs()]
    assert [i.instance_ip_address for i in iips] == [ip]
    kv = {p.key: p.value for p in vmi.get_virtual_machine_interface_bindings().key_value_pair}
    assert kv["host_id"] == "compute-1"
    # the tenant's default security group was attached
    sg_ids = port.security_group_ids
    assert [conn.network.get_security_group(i).name for i in sg_ids] == ["default"]

    fixed = conn.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.7.0.50"}])
    assert fixed.fixed_ips[0]["ip_address"] == "10.7.0.50"
    assert sorted(p.id for p in conn.network.ports(network_id=net.id)) == sorted([port.id, fixed.id])

    sg = conn.network.create_security_group(name="web")
    rule = conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress",
                                                   protocol="tcp", port_range_min=80,
                                                   port_range_max=80,
                                                   remote_ip_prefix="10.0.0.0/8")
    vsg = m1.security_group_read(id=sg.id)
    assert rule.id in [r.rule_uuid for r in vsg.get_security_group_entries().policy_rule]
    port = conn.network.update_port(port, security_group_ids=[sg.id], name="p1b")
    assert port.security_group_ids == [sg.id] and port.name == "p1b"
    assert [r["uuid"] for r in m1.virtual_machine_interface_read(id=port.id).get_security_group_refs()] == [sg.id]

    net = conn.network.update_network(net, name="n1b")
    assert conn.network.get_network(net.id).name == "n1b"
    assert m1.virtual_network_read(id=net.id).display_name == "n1b"

    # a network with ports is in use
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.network.delete_network(net)
    conn.network.delete_security_group_rule(rule)
    for p in (port, fixed):
        conn.network.delete_port(p)
    conn.network.delete_security_group(sg)
    conn.network.delete_subnet(sub)
    conn.network.delete_network(net)
    assert conn.network.find_network(net.id) is None
    assert net.id not in [v["uuid"] for v in m1.virtual_networks_list()["virtual-networks"]]


def test_members_see_only_their_tenant_and_shared_networks(cirrus, keystone):
    m1 = sdk(cirrus, keystone, "m1", "p1")
    m2 = sdk(cirrus, keystone, "m2", "p2")
    admin = sdk(cirrus, keystone, "admin", "admin")
    own = m1.network.create_network(name="private")
    shared = admin.network.create_network(name="pub", shared=True)
    seen = {n.id for n in m2.network.networks()}
    assert shared.id in seen and own.id not in seen
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        m2.network.get_network(own.id)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        m2.network.create_network(name="x", shared=True)
    m1.network.delete_network(own)
    admin.network.delete_network(shared)


def token(keystone, user, project):
    return keystone.token(user, user + "pw", project)[0]


def call(cirrus, tok, method, path, body=None, raw=None):
    return requests.request(method, cirrus.neutron + path, json=body, data=raw, timeout=10,
                            headers={"X-Auth-Token": tok, "Content-Type": "application/json"})


def test_bad_input_is_neutrons_400_naming_the_attribute_and_changes_nothing(cirrus, keystone):
    tok = token(keystone, "m1", "p1")
    before = call(cirrus, tok, "GET", "/v2.0/networks").json()["networks"]
    r = call(cirrus, tok, "POST", "/v2.0/networks", {"network": {"name": "a", "colour": "red"}})
    assert r.status_code == 400, r.text
    err = r.json()["NeutronError"]
    assert err["type"] == "HTTPBadRequest" and "colour" in err["message"]
    # a value Neutron cannot convert is its InvalidInput, which does not name the attribute
    r = call(cirrus, tok, "POST", "/v2.0/networks", {"network": {"mtu": "big"}})
    assert r.status_code == 400 and r.json()["NeutronError"] == {
        "type": "InvalidInput", "message": "Invalid input for operation: 'big' is not an integer.",
        "detail": ""}
    r = call(cirrus, tok, "POST", "/v2.0/networks", raw="{not json")
    assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "HTTPBadRequest"
    r = call(cirrus, tok, "POST", "/v2.0/networks", {"net": {}})
    assert r.status_code == 400
    net = call(cirrus, tok, "POST", "/v2.0/networks", {"network": {"name": "ok"}}).json()["network"]
    r = call(cirrus, tok, "POST", "/v2.0/subnets",
             {"subnet": {"network_id": net["id"], "cidr": "10.1.0.0/33", "ip_version": 4}})
    assert r.status_code == 400 and "CIDR" in r.json()["NeutronError"]["message"]
    r = call(cirrus, tok, "POST", "/v2.0/ports",
             {"port": {"network_id": net["id"], "mac_address": "zz"}})
    assert r.status_code == 400 and "mac_address" in r.json()["NeutronError"]["message"]
    r = call(cirrus, tok, "PUT", f"/v2.0/networks/{net['id']}", {"network": {"id": "x"}})
    assert r.status_code == 400
    assert r.json()["NeutronError"]["message"] == "Cannot update read-only attribute id"
    r = call(cirrus, tok, "GET", "/v2.0/networks/4b1a0c6e-0000-4000-8000-000000000000")
    assert r.status_code == 404
    assert r.json()["NeutronError"]["type"] == "NetworkNotFound"
    assert call(cirrus, tok, "GET", "/v2.0/ports").json()["ports"] == []
    assert call(cirrus, tok, "DELETE", f"/v2.0/networks/{net['id']}").status_code == 204
    assert call(cirrus, tok, "GET", "/v2.0/networks").json()["networks"] == before


def test_filters_fields_sorting_pagination_and_extensions(cirrus, keystone):
    tok = token(keystone, "m1", "p1")
    ids = []
    for n in ("pa", "pb", "pc"):
        ids.append(call(cirrus, tok, "POST", "/v2.0/networks",
                        {"network": {"name": n}}).json()["network"]["id"])
    r = call(cirrus, tok, "GET", "/v2.0/networks?name=pb&fields=id&fields=name").json()
    assert r["networks"] == [{"id": ids[1], "name": "pb"}]
    r = call(cirrus, tok, "GET", "/v2.0/networks?sort_key=name&sort_dir=desc&limit=2").json()
    assert [n["name"] for n in r["networks"]] == ["pc", "pb"]
    nxt = [l for l in r["networks_links"] if l["rel"] == "next"][0]["href"]
    r2 = requests.get(nxt, headers={"X-Auth-Token": tok}, timeout=10).json()
    assert [n["name"] for n in r2["networks"]] == ["pa"]
    ext = {e["alias"] for e in call(cirrus, tok, "GET", "/v2.0/extensions").json()["extensions"]}
    assert {"security-group", "binding", "port-security", "external-net", "net-mtu"} <= ext
    assert {"router", "ext-gw-mode", "extraroute"} <= ext
    for i in ids:
        assert call(cirrus, tok, "DELETE", f"/v2.0/networks/{i}").status_code == 204
    assert call(cirrus, "bad-token", "GET", "/v2.0/networks").status_code == 401


def test_quotas_are_the_projects_and_the_api_enforces_them(cirrus, keystone):
    admin = token(keystone, "admin", "admin")
    m2 = token(keystone, "m2", "p2")
    p2 = keystone.projects["p2"]
    # m2's first call creates its project; the quota is unlimited by default
    assert call(cirrus, m2, "GET", f"/v2.0/quotas/{p2}").json()["quota"]["network"] == -1
    r = call(cirrus, m2, "PUT", f"/v2.0/quotas/{p2}", {"quota": {"network": 1}})
    assert r.status_code == 403
    r = call(cirrus, admin, "PUT", f"/v2.0/quotas/{p2}", {"quota": {"network": 1}})
    assert r.status_code == 200 and r.json()["quota"]["network"] == 1, r.text
    first = call(cirrus, m2, "POST", "/v2.0/networks", {"network": {"name": "q1"}})
    assert first.status_code == 201
    r = call(cirrus, m2, "POST", "/v2.0/networks", {"network": {"name": "q2"}})
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "OverQuota", r.text
    assert call(cirrus, admin, "DELETE", f"/v2.0/quotas/{p2}").status_code == 204
    assert call(cirrus, m2, "GET", f"/v2.0/quotas/{p2}").json()["quota"]["network"] == -1
    call(cirrus, m2, "DELETE", f"/v2.0/networks/{first.json()['network']['id']}")


def test_routers_interfaces_gateway_and_floating_ips_are_vnc_objects(cirrus, keystone):
    admin = sdk(cirrus, keystone, "admin", "admin")
    conn = sdk(cirrus, keystone, "m1", "p1")
    m1 = vnc(cirrus, keystone, "m1", "p1")
    ext = admin.network.create_network(name="public", is_router_external=True, shared=True)
    ext_sub = admin.network.create_subnet(network_id=ext.id, cidr="192.0.2.0/24", ip_version=4)
    net = conn.network.create_network(name="inside")
    sub = conn.network.create_subnet(network_id=net.id, cidr="10.8.0.0/24", ip_version=4)

    router = conn.network.create_router(name="r1", external_gateway_info={"network_id": ext.id})
    assert router.status == "ACTIVE" and router.is_admin_state_up
    assert router.external_gateway_info["network_id"] == ext.id
    assert router.external_gateway_info["enable_snat"] is True
    lr = m1.logical_router_read(id=router.id)
    assert lr.get_fq_name() == ["default-domain", "p1", "r1"]
    assert [r["uuid"] for r in lr.get_virtual_network_refs()] == [ext.id]

    info = conn.network.add_interface_to_router(router, subnet_id=sub.id)
    assert info["subnet_id"] == sub.id and info["id"] == router.id
    rport = conn.network.get_port(info["port_id"])
    assert rport.device_owner == "network:router_interface" and rport.device_id == router.id
    assert rport.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.8.0.1"}]
    lr = m1.logical_router_read(id=router.id)
    assert [r["uuid"] for r in lr.get_virtual_machine_interface_refs()] == [rport.id]
    # a second interface on the same subnet is refused, as Neutron refuses it
    r = call(cirrus, token(keystone, "m1", "p1"), "PUT",
             f"/v2.0/routers/{router.id}/add_router_interface", {"subnet_id": sub.id})
    assert r.status_code == 400, r.text
    assert r.json()["NeutronError"]["type"] == "BadRequest", r.text
    assert r.json()["NeutronError"]["message"] == (
        f"Bad router request: Router already has a port on subnet {sub.id}."), r.text
    # a router with an interface is in use
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.network.delete_router(router)

    vm_port = conn.network.create_port(network_id=net.id)
    fip = conn.network.create_ip(floating_network_id=ext.id)
    assert fip.status == "DOWN" and fip.port_id is None and fip.router_id is None
    assert fip.floating_ip_address.startswith("192.0.2.")
    vfip = m1.floating_ip_read(id=fip.id)
    assert vfip.floating_ip_address == fip.floating_ip_address
    assert vfip.get_fq_name()[:-1] == ["default-domain", "admin", "public", "floating-ip-pool"]
    fip = conn.network.update_ip(fip, port_id=vm_port.id)
    assert fip.status == "ACTIVE" and fip.port_id == vm_port.id
    assert fip.fixed_ip_address == vm_port.fixed_ips[0]["ip_address"]
    assert fip.router_id == router.id
    vfip = m1.floating_ip_read(id=fip.id)
    assert [r["uuid"] for r in vfip.get_virtual_machine_interface_refs()] == [vm_port.id]
    assert vfip.floating_ip_fixed_ip_address == fip.fixed_ip_address
    assert [f.id for f in conn.network.ips(port_id=vm_port.id)] == [fip.id]
    fip = conn.network.update_ip(fip, port_id=None)
    assert fip.status == "DOWN" and fip.port_id is None and fip.fixed_ip_address is None

    tok = token(keystone, "m1", "p1")
    r = call(cirrus, tok, "POST", "/v2.0/floatingips",
             {"floatingip": {"floating_network_id": ext.id, "fixed_ip_address": "10.8.0.5"}})
    assert r.status_code == 400 and "fixed_ip_address" in r.json()["NeutronError"]["message"]
    r = call(cirrus, tok, "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": net.id}})
    assert r.status_code == 400 and r.json()["NeutronError"]["message"] == (
        f"Bad floatingip request: Network {net.id} is not a valid external network."), r.text
    r = call(cirrus, tok, "POST", "/v2.0/routers", {"router": {"name": "x", "flavor": 1}})
    assert r.status_code == 400 and "flavor" in r.json()["NeutronError"]["message"]
    r = call(cirrus, tok, "POST", "/v2.0/routers",
             {"router": {"external_gateway_info": {"network_id": net.id}}})
    assert r.status_code == 400 and "external_gateway_info" in r.json()["NeutronError"]["message"]
    r = call(cirrus, tok, "PUT", f"/v2.0/routers/{router.id}/add_router_interface", {})
    assert r.status_code == 400
    assert [x.id for x in conn.network.routers()] == [router.id]

    conn.network.delete_ip(fip)
    with pytest.raises(Exception):
        m1.floating_ip_read(id=fip.id)
    conn.network.remove_interface_from_router(router, subnet_id=sub.id)
    assert conn.network.find_port(rport.id) is None
    router = conn.network.update_router(router, external_gateway_info=None, name="r1b")
    assert router.external_gateway_info is None and router.name == "r1b"
    assert not m1.logical_router_read(id=router.id).get_virtual_network_refs()
    conn.network.delete_router(router)
    conn.network.delete_port(vm_port)
    conn.network.delete_subnet(sub)
    conn.network.delete_network(net)
    admin.network.delete_subnet(ext_sub)
    admin.network.delete_network(ext)
