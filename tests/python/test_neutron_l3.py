"""The Neutron API's router gateway (ext-gw-mode), extra routes (extraroute), bulk create and
floating IPs on port delete, with a real Keystone, and vnc_api reading back the same objects:
the gateway port is a virtual-machine-interface on the external network whose device is the
router, `enable_snat` the router's annotation, extra routes a route-table the logical-router
refers to.
"""

import os

import pytest

from test_keystone_auth import vnc
from test_neutron import call, cirrus, keystone, token  # noqa: F401 (fixtures)

if os.environ.get("CI") != "true":
    pytest.importorskip("openstack")


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def public(cirrus, keystone):  # noqa: F811
    admin = token(keystone, "admin", "admin")
    net = ok(call(cirrus, admin, "POST", "/v2.0/networks", {"network": {
        "name": "l3-public", "router:external": True, "shared": True}}), 201)["network"]
    sub = ok(call(cirrus, admin, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "198.51.100.0/24", "ip_version": 4}}), 201)["subnet"]
    yield net, sub
    call(cirrus, admin, "DELETE", f"/v2.0/subnets/{sub['id']}")
    call(cirrus, admin, "DELETE", f"/v2.0/networks/{net['id']}")


def gateway_ports(cirrus, keystone, net, router):
    admin = token(keystone, "admin", "admin")
    return ok(call(cirrus, admin, "GET", f"/v2.0/ports?network_id={net}&device_id={router}"
                   "&device_owner=network:router_gateway"))["ports"]


def test_a_router_gateway_has_a_port_on_the_external_network_and_keeps_enable_snat(
        cirrus, keystone, public):  # noqa: F811
    net, sub = public
    tok = token(keystone, "m1", "p1")
    m1 = vnc(cirrus, keystone, "m1", "p1")
    r = ok(call(cirrus, tok, "POST", "/v2.0/routers", {"router": {"name": "gw1"}}), 201)["router"]
    assert r["external_gateway_info"] is None
    assert gateway_ports(cirrus, keystone, net["id"], r["id"]) == []

    r = ok(call(cirrus, tok, "PUT", f"/v2.0/routers/{r['id']}", {"router": {
        "external_gateway_info": {"network_id": net["id"], "enable_snat": False}}}))["router"]
    gw = r["external_gateway_info"]
    assert gw["network_id"] == net["id"] and gw["enable_snat"] is False
    [ip] = gw["external_fixed_ips"]
    assert ip["subnet_id"] == sub["id"] and ip["ip_address"].startswith("198.51.100.")
    [port] = gateway_ports(cirrus, keystone, net["id"], r["id"])
    assert port["fixed_ips"] == [ip] and port["device_id"] == r["id"]
    # the router's own port goes with its gateway, not through the port API
    admin = token(keystone, "admin", "admin")
    busy = call(cirrus, admin, "DELETE", f"/v2.0/ports/{port['id']}")
    assert busy.status_code == 409 and busy.json()["NeutronError"]["type"] == "ServicePortInUse"
    # vnc_api: the router refers to the network, the port is a VMI on it, not an interface
    lr = m1.logical_router_read(id=r["id"])
    assert [x["uuid"] for x in lr.get_virtual_network_refs()] == [net["id"]]
    assert not lr.get_virtual_machine_interface_refs()
    kv = {p.key: p.value for p in lr.get_annotations().key_value_pair}
    assert kv == {"neutron:enable_snat": "false"}
    vmi = m1.virtual_machine_interface_read(id=port["id"])
    assert [x["uuid"] for x in vmi.get_virtual_network_refs()] == [net["id"]]
    assert vmi.get_virtual_machine_interface_device_owner() == "network:router_gateway"

    # the same network with SNAT on again keeps the port; clearing the gateway removes it
    r = ok(call(cirrus, tok, "PUT", f"/v2.0/routers/{r['id']}", {"router": {
        "external_gateway_info": {"network_id": net["id"], "enable_snat": True}}}))["router"]
    assert r["external_gateway_info"]["enable_snat"] is True
    assert r["external_gateway_info"]["external_fixed_ips"] == [ip]
    r = ok(call(cirrus, tok, "PUT", f"/v2.0/routers/{r['id']}", {"router": {
        "external_gateway_info": {}}}))["router"]
    assert r["external_gateway_info"] is None
    assert gateway_ports(cirrus, keystone, net["id"], r["id"]) == []
    assert not m1.logical_router_read(id=r["id"]).get_virtual_network_refs()

    # a chosen gateway address, and a router deleted with its gateway takes the port along
    want = [{"subnet_id": sub["id"], "ip_address": "198.51.100.77"}]
    admin = token(keystone, "admin", "admin")
    r2 = ok(call(cirrus, admin, "POST", "/v2.0/routers", {"router": {
        "name": "gw2", "external_gateway_info": {"network_id": net["id"],
                                                 "external_fixed_ips": want}}}), 201)["router"]
    assert r2["external_gateway_info"]["external_fixed_ips"] == want
    bad = call(cirrus, admin, "POST", "/v2.0/routers", {"router": {
        "external_gateway_info": {"network_id": net["id"], "enable_snat": "maybe"}}})
    assert bad.status_code == 400 and "external_gateway_info" in bad.text, bad.text
    assert call(cirrus, admin, "DELETE", f"/v2.0/routers/{r2['id']}").status_code == 204
    assert gateway_ports(cirrus, keystone, net["id"], r2["id"]) == []
    assert call(cirrus, tok, "DELETE", f"/v2.0/routers/{r['id']}").status_code == 204


def test_extra_routes_are_the_routers_route_table_and_need_a_connected_next_hop(
        cirrus, keystone):  # noqa: F811
    tok = token(keystone, "m1", "p1")
    m1 = vnc(cirrus, keystone, "m1", "p1")
    net = ok(call(cirrus, tok, "POST", "/v2.0/networks", {"network": {"name": "xr"}}), 201)
    net = net["network"]
    sub = ok(call(cirrus, tok, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4}}), 201)["subnet"]
    r = ok(call(cirrus, tok, "POST", "/v2.0/routers", {"router": {"name": "xr"}}), 201)["router"]
    assert r["routes"] == []
    path = f"/v2.0/routers/{r['id']}"
    routes = [{"destination": "172.16.0.0/16", "nexthop": "10.9.0.5"}]
    # no interface yet: the next hop is not connected
    bad = call(cirrus, tok, "PUT", path, {"router": {"routes": routes}})
    assert bad.status_code == 400 and "routes" in bad.text and "not connected" in bad.text
    iface = ok(call(cirrus, tok, "PUT", path + "/add_router_interface", {"subnet_id": sub["id"]}))
    busy = call(cirrus, tok, "DELETE", f"/v2.0/ports/{iface['port_id']}")
    assert busy.status_code == 409 and busy.json()["NeutronError"]["type"] == "ServicePortInUse"
    bad = call(cirrus, tok, "PUT", path + "/add_router_interface", {"port_id": "not-a-uuid"})
    # l3_db's _validate_interface_info: BadRequest for the router, with the validator's message
    assert bad.status_code == 400 and bad.json()["NeutronError"]["message"] == (
        "Bad router request: 'not-a-uuid' is not a valid UUID."), bad.text
    for wrong, why in [([{"destination": "172.16.0.0/16", "nexthop": "10.9.0.1"}], "used by"),
                       ([{"destination": "172.16.0.1/16", "nexthop": "10.9.0.5"}], "cidr"),
                       ([{"destination": "x", "nexthop": "10.9.0.5"}], "valid IP subnet"),
                       ([{"destination": "172.16.0.0/16"}], "keys")]:
        bad = call(cirrus, tok, "PUT", path, {"router": {"routes": wrong}})
        assert bad.status_code == 400 and why in bad.text, (wrong, bad.text)
    assert ok(call(cirrus, tok, "GET", path))["router"]["routes"] == []

    got = ok(call(cirrus, tok, "PUT", path, {"router": {"routes": routes}}))["router"]
    assert got["routes"] == routes
    [rt] = m1.logical_router_read(id=r["id"]).get_route_table_refs()
    table = m1.route_table_read(id=rt["uuid"])
    assert [(x.prefix, x.next_hop, x.next_hop_type) for x in table.get_routes().route] == [
        ("172.16.0.0/16", "10.9.0.5", "ip-address")]
    # the interface a route's next hop needs stays
    busy = call(cirrus, tok, "PUT", path + "/remove_router_interface", {"subnet_id": sub["id"]})
    assert busy.status_code == 409, busy.text
    assert busy.json()["NeutronError"]["type"] == "RouterInterfaceInUseByRoute"

    got = ok(call(cirrus, tok, "PUT", path, {"router": {"routes": None}}))["router"]
    assert got["routes"] == []
    assert not m1.logical_router_read(id=r["id"]).get_route_table_refs()
    with pytest.raises(Exception):
        m1.route_table_read(id=rt["uuid"])
    ok(call(cirrus, tok, "PUT", path + "/remove_router_interface", {"subnet_id": sub["id"]}))
    assert call(cirrus, tok, "DELETE", path).status_code == 204
    call(cirrus, tok, "DELETE", f"/v2.0/subnets/{sub['id']}")
    call(cirrus, tok, "DELETE", f"/v2.0/networks/{net['id']}")


def test_bulk_create_makes_all_or_nothing(cirrus, keystone):  # noqa: F811
    tok = token(keystone, "m1", "p1")
    m1 = vnc(cirrus, keystone, "m1", "p1")
    got = ok(call(cirrus, tok, "POST", "/v2.0/networks", {"networks": [
        {"name": "bulk-a"}, {"name": "bulk-b"}]}), 201)["networks"]
    assert [n["name"] for n in got] == ["bulk-a", "bulk-b"]
    assert {m1.virtual_network_read(id=n["id"]).display_name for n in got} == {"bulk-a", "bulk-b"}
    subs = ok(call(cirrus, tok, "POST", "/v2.0/subnets", {"subnets": [
        {"network_id": got[0]["id"], "cidr": "10.11.0.0/24", "ip_version": 4},
        {"network_id": got[1]["id"], "cidr": "10.12.0.0/24", "ip_version": 4}]}), 201)["subnets"]
    assert [s["cidr"] for s in subs] == ["10.11.0.0/24", "10.12.0.0/24"]
    ports = ok(call(cirrus, tok, "POST", "/v2.0/ports", {"ports": [
        {"network_id": got[0]["id"]}, {"network_id": got[1]["id"]}]}), 201)["ports"]
    assert [p["fixed_ips"][0]["subnet_id"] for p in ports] == [s["id"] for s in subs]

    # the second item is bad: the first one is not left behind
    before = {n["id"] for n in ok(call(cirrus, tok, "GET", "/v2.0/networks"))["networks"]}
    bad = call(cirrus, tok, "POST", "/v2.0/networks", {"networks": [
        {"name": "bulk-c"}, {"name": "bulk-d", "colour": "red"}]})
    assert bad.status_code == 400 and "colour" in bad.text, bad.text
    after = {n["id"] for n in ok(call(cirrus, tok, "GET", "/v2.0/networks"))["networks"]}
    assert after == before
    assert call(cirrus, tok, "POST", "/v2.0/networks", {"networks": []}).status_code == 400

    for p in ports:
        call(cirrus, tok, "DELETE", f"/v2.0/ports/{p['id']}")
    for s in subs:
        call(cirrus, tok, "DELETE", f"/v2.0/subnets/{s['id']}")
    for n in got:
        call(cirrus, tok, "DELETE", f"/v2.0/networks/{n['id']}")


def test_a_deleted_port_leaves_its_floating_ip_unassociated(cirrus, keystone, public):  # noqa: F811
    ext, _ = public
    tok = token(keystone, "m1", "p1")
    m1 = vnc(cirrus, keystone, "m1", "p1")
    net = ok(call(cirrus, tok, "POST", "/v2.0/networks", {"network": {"name": "fipnet"}}), 201)
    net = net["network"]
    sub = ok(call(cirrus, tok, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.13.0.0/24", "ip_version": 4}}), 201)["subnet"]
    port = ok(call(cirrus, tok, "POST", "/v2.0/ports", {"port": {"network_id": net["id"]}}), 201)
    port = port["port"]
    # no router joins the port's network to the external one: Neutron's 404
    bad = call(cirrus, tok, "POST", "/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "port_id": port["id"]}})
    assert bad.status_code == 404, bad.text
    assert bad.json()["NeutronError"]["type"] == "ExternalGatewayForFloatingIPNotFound"
    r = ok(call(cirrus, tok, "POST", "/v2.0/routers", {"router": {
        "name": "fiprouter", "external_gateway_info": {"network_id": ext["id"]}}}), 201)["router"]
    ok(call(cirrus, tok, "PUT", f"/v2.0/routers/{r['id']}/add_router_interface",
            {"subnet_id": sub["id"]}))
    fip = ok(call(cirrus, tok, "POST", "/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "port_id": port["id"]}}), 201)["floatingip"]
    assert fip["port_id"] == port["id"] and fip["router_id"] == r["id"]
    # one floating IP per fixed address; an empty update clears the association
    fip2 = ok(call(cirrus, tok, "POST", "/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"]}}), 201)["floatingip"]
    busy = call(cirrus, tok, "PUT", f"/v2.0/floatingips/{fip2['id']}",
                {"floatingip": {"port_id": port["id"]}})
    assert busy.status_code == 409, busy.text
    assert busy.json()["NeutronError"]["type"] == "FloatingIPPortAlreadyAssociated"
    cleared = ok(call(cirrus, tok, "PUT", f"/v2.0/floatingips/{fip['id']}", {"floatingip": {}}))
    assert cleared["floatingip"]["port_id"] is None
    ok(call(cirrus, tok, "PUT", f"/v2.0/floatingips/{fip2['id']}",
            {"floatingip": {"port_id": port["id"]}}))
    call(cirrus, tok, "DELETE", f"/v2.0/floatingips/{fip['id']}")
    fip = fip2
    assert call(cirrus, tok, "DELETE", f"/v2.0/ports/{port['id']}").status_code == 204
    fip = ok(call(cirrus, tok, "GET", f"/v2.0/floatingips/{fip['id']}"))["floatingip"]
    assert (fip["port_id"], fip["fixed_ip_address"], fip["router_id"]) == (None, None, None)
    assert fip["status"] == "DOWN"
    vfip = m1.floating_ip_read(id=fip["id"])
    assert not vfip.get_virtual_machine_interface_refs()
    assert vfip.floating_ip_fixed_ip_address is None

    call(cirrus, tok, "DELETE", f"/v2.0/floatingips/{fip['id']}")
    ok(call(cirrus, tok, "PUT", f"/v2.0/routers/{r['id']}/remove_router_interface",
            {"subnet_id": sub["id"]}))
    call(cirrus, tok, "DELETE", f"/v2.0/routers/{r['id']}")
    call(cirrus, tok, "DELETE", f"/v2.0/subnets/{sub['id']}")
    call(cirrus, tok, "DELETE", f"/v2.0/networks/{net['id']}")
