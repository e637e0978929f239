"""Address management as Contrail's api-server does it (vnc_addr_mgmt.py), through the real
`vnc_api` client: the defaults it stores, the order it hands addresses out, pools, allocation
units, flat-subnet IPAMs, the ip-alloc/ip-free/subnet-ip-count actions, and the exception class
of every conflict (BadRequest 400, RefsExistError 409, NoIdError 404)."""

import json
import uuid

import pytest
from vnc_api.exceptions import BadRequest, NoIdError, RefsExistError
from vnc_api.vnc_api import (AliasIp, AliasIpPool, AllocationPoolType, FloatingIp,
                             FloatingIpPool, InstanceIp, IpamSubnets, IpamSubnetType, IpamType,
                             NetworkIpam, SubnetType, VirtualMachine, VirtualMachineInterface,
                             VirtualNetwork, VirtualNetworkType, VnSubnetsType)


def ipam_of(vnc, project, name, **kw):
    ipam = NetworkIpam(name, project, IpamType("dhcp"), **kw)
    vnc.network_ipam_create(ipam)
    return vnc.network_ipam_read(id=ipam.uuid)


def network(vnc, project, name, subnets, ipam=None, **kw):
    ipam = ipam or ipam_of(vnc, project, name + "-ipam")
    vn = VirtualNetwork(name, project, **kw)
    vn.add_network_ipam(ipam, VnSubnetsType(subnets))
    vnc.virtual_network_create(vn)
    return vnc.virtual_network_read(id=vn.uuid)


def sn(prefix, plen, **kw):
    return IpamSubnetType(subnet=SubnetType(prefix, plen), **kw)


def subnets_of(vn):
    return [s for r in vn.get_network_ipam_refs() for s in r["attr"].ipam_subnets]


def iip(vnc, vn, **kw):
    obj = InstanceIp(str(uuid.uuid4()), **kw)
    obj.add_virtual_network(vn)
    vnc.instance_ip_create(obj)
    return vnc.instance_ip_read(id=obj.uuid)


def post(vnc, path, body):
    return json.loads(vnc._request_server(1, path, json.dumps(body)))  # 1 = rest.OP_POST


def test_defaults_gateway_and_service_address_at_the_top(vnc, project, name):
    vn = network(vnc, project, name, [sn("11.1.1.0", 24), sn("fd14::", 120)])
    v4, v6 = subnets_of(vn)
    assert (v4.default_gateway, v4.dns_server_address) == ("11.1.1.254", "11.1.1.253")
    assert (v6.default_gateway, v6.dns_server_address) == ("fd14::fe", "fd14::fd")
    assert v4.subnet_uuid and v6.subnet_uuid and v4.enable_dhcp
    assert iip(vnc, vn, instance_ip_family="v4").instance_ip_address == "11.1.1.252"
    assert iip(vnc, vn, instance_ip_family="v4").instance_ip_address == "11.1.1.251"
    got = iip(vnc, vn, instance_ip_family="v6")
    assert got.instance_ip_address == "fd14::fc" and got.subnet_uuid == v6.subnet_uuid
    # addr_from_start: gateway and service address are the first two hosts, allocation ascends.
    vn2 = network(vnc, project, name + "-s", [sn("12.1.1.0", 24, addr_from_start=True)])
    s = subnets_of(vn2)[0]
    assert (s.default_gateway, s.dns_server_address) == ("12.1.1.1", "12.1.1.2")
    assert iip(vnc, vn2).instance_ip_address == "12.1.1.3"
    # A prefix with host bits is stored as its network.
    vn3 = network(vnc, project, name + "-h", [sn("13.1.3.248", 23)])
    assert subnets_of(vn3)[0].subnet.ip_prefix == "13.1.2.0"


def test_bulk_ip_alloc_free_and_count(vnc, project, name):
    vn = network(vnc, project, name, [sn("11.1.1.0", 24)])
    sub = subnets_of(vn)[0].subnet_uuid
    url = f"/virtual-network/{vn.uuid}"
    got = post(vnc, url + "/ip-alloc", {"subnet": sub, "count": 10})["ip_addr"]
    assert got == [f"11.1.1.{i}" for i in range(252, 242, -1)]
    count = lambda: post(vnc, url + "/subnet-ip-count", {"subnet_list": [sub]})["ip_count_list"][0]
    # Contrail's count includes the three addresses the subnet keeps (network, gateway, DNS).
    assert count() == 13
    post(vnc, url + "/ip-free", {"ip_addr": got[:5]})
    assert count() == 8
    # An instance IP now gets the highest free address, one of those just freed.
    assert iip(vnc, vn).instance_ip_address == "11.1.1.252"
    post(vnc, url + "/ip-free", {"ip_addr": got[5:] + ["11.1.1.252"]})
    assert count() == 4, "ip-free leaves an instance IP's address with it"
    # The client's own helpers speak the same contract.
    assert json.loads(vnc.virtual_network_subnet_ip_count(vn, [sub]))["ip_count_list"] == [4]
    assert json.loads(vnc.virtual_network_subnet_ip_count(vn, ["11.1.1.0/24"]))["ip_count_list"] == [0]
    assert vnc.virtual_network_ip_alloc(vn, count=1, subnet=sub) == ["11.1.1.251"]
    with pytest.raises(NoIdError):
        post(vnc, "/virtual-network/%s/ip-alloc" % uuid.uuid4(), {"count": 1})


def test_ip_alloc_exhaustion_is_409_and_iip_exhaustion_is_400(vnc, project, name):
    vn = network(vnc, project, name, [sn("192.0.2.0", 29)])
    url = f"/virtual-network/{vn.uuid}/ip-alloc"
    # A /29 has 8 addresses: network .0, broadcast .7, gateway .6, DNS .5 leave four.
    assert post(vnc, url, {"count": 4})["ip_addr"] == ["192.0.2.4", "192.0.2.3", "192.0.2.2", "192.0.2.1"]
    with pytest.raises(RefsExistError, match="has exhausted subnet"):
        post(vnc, url, {"count": 1})
    with pytest.raises(BadRequest, match=r"has exhausted subnet\(\[\]\)"):
        iip(vnc, vn)


@pytest.mark.parametrize("from_start", [True, False])
def test_allocation_pools_in_order_until_exhausted(vnc, project, name, from_start):
    pools = [AllocationPoolType(start="11.1.1.21", end="11.1.1.24"),
             AllocationPoolType(start="11.1.1.31", end="11.1.1.34")]
    vn = network(vnc, project, name, [sn("11.1.1.0", 24, allocation_pools=pools,
                                         addr_from_start=from_start)])
    want = [f"11.1.1.{i}" for i in [21, 22, 23, 24, 31, 32, 33, 34]]
    if not from_start:
        want.reverse()
    iips = [iip(vnc, vn) for _ in want]
    assert [i.instance_ip_address for i in iips] == want
    sub = subnets_of(vn)[0].subnet_uuid
    assert json.loads(vnc.virtual_network_subnet_ip_count(vn, [sub]))["ip_count_list"] == [8]
    with pytest.raises(BadRequest, match=r"has exhausted subnet\(\[\]\)"):
        iip(vnc, vn)
    # Freed addresses come back first.
    for i in (iips[0], iips[-1]):
        vnc.instance_ip_delete(id=i.uuid)
    assert sorted([iip(vnc, vn).instance_ip_address for _ in range(2)]) == sorted([want[0], want[-1]])
    # Pools are checked: outside the prefix 409, reversed or overlapping 400.
    bad = lambda pools: network(vnc, project, name + "-" + uuid.uuid4().hex[:6],
                                [sn("11.2.0.0", 24, allocation_pools=pools)])
    with pytest.raises(RefsExistError, match="out of cidr"):
        bad([AllocationPoolType(start="11.3.0.1", end="11.3.0.9")])
    with pytest.raises(BadRequest, match="end ip is less than start ip"):
        bad([AllocationPoolType(start="11.2.0.9", end="11.2.0.1")])
    with pytest.raises(BadRequest, match="overlapping alloc-pools"):
        bad([AllocationPoolType(start="11.2.0.1", end="11.2.0.9"),
             AllocationPoolType(start="11.2.0.5", end="11.2.0.19")])


def test_alloc_unit(vnc, project, name):
    with pytest.raises(BadRequest, match=r"invalid alloc_unit\(3\)"):
        network(vnc, project, name + "-3", [sn("11.1.1.0", 24, alloc_unit=3)])
    vn = network(vnc, project, name, [sn("11.1.1.0", 24, alloc_unit=4), sn("fd14::", 120, alloc_unit=4)])
    with pytest.raises(BadRequest, match=r"invalid alloc_unit\(4\) in subnet\(11.1.1.0/24\)"):
        iip(vnc, vn, instance_ip_address="11.1.1.249")
    assert [iip(vnc, vn, instance_ip_family="v4").instance_ip_address for _ in range(2)] == \
        ["11.1.1.248", "11.1.1.244"]
    assert [iip(vnc, vn, instance_ip_family="v6").instance_ip_address for _ in range(2)] == \
        ["fd14::f8", "fd14::f4"]
    assert iip(vnc, vn, instance_ip_address="11.1.1.8").instance_ip_address == "11.1.1.8"


def test_ip_alloc_clash(vnc, project, name):
    vn = network(vnc, project, name, [sn("11.1.1.0", 24)])
    fip_pool = FloatingIpPool(name + "-fp", parent_obj=vn)
    vnc.floating_ip_pool_create(fip_pool)
    aip_pool = AliasIpPool(name + "-ap", parent_obj=vn)
    vnc.alias_ip_pool_create(aip_pool)
    taken = iip(vnc, vn).instance_ip_address
    fip = FloatingIp(name + "-f", fip_pool)
    fip.add_project(project)
    vnc.floating_ip_create(fip)
    fip_addr = vnc.floating_ip_read(id=fip.uuid).floating_ip_address
    aip = AliasIp(name + "-a", aip_pool)
    aip.add_project(project)
    vnc.alias_ip_create(aip)
    aip_addr = vnc.alias_ip_read(id=aip.uuid).alias_ip_address
    assert len({taken, fip_addr, aip_addr}) == 3, "one allocator for the three kinds"
    for a in (taken, fip_addr, aip_addr, "11.1.1.253", "11.1.1.0"):
        with pytest.raises(RefsExistError, match="IP address already in use"):
            iip(vnc, vn, instance_ip_address=a)
    for ty, pool, field in [(FloatingIp, fip_pool, "floating_ip_address"),
                            (AliasIp, aip_pool, "alias_ip_address")]:
        for a in (taken, "11.1.1.254"):
            obj = ty(name + "-x" + uuid.uuid4().hex[:4], pool, **{field: a})
            obj.add_project(project)
            with pytest.raises(RefsExistError, match="IP address already in use"):
                getattr(vnc, ty.resource_type.replace("-", "_") + "_create")(obj)
    # Instance IPs may share the gateway address, on ports that are not a VM's.
    gw1 = iip(vnc, vn, instance_ip_address="11.1.1.254")
    iip(vnc, vn, instance_ip_address="11.1.1.254")
    vm = VirtualMachine(name + "-vm")
    vnc.virtual_machine_create(vm)
    vmi = VirtualMachineInterface(name + "-vmi", project)
    vmi.add_virtual_network(vn)
    vmi.add_virtual_machine(vm)
    vnc.virtual_machine_interface_create(vmi)
    gw1.add_virtual_machine_interface(vmi)
    with pytest.raises(BadRequest, match="Gateway IP cannot be used by VM port"):
        vnc.instance_ip_update(gw1)
    with pytest.raises(BadRequest, match="Gateway IP cannot be used by VM port"):
        gw3 = InstanceIp(name + "-gw3", instance_ip_address="11.1.1.254")
        gw3.add_virtual_network(vn)
        gw3.add_virtual_machine_interface(vmi)
        vnc.instance_ip_create(gw3)
    # Nor can a router port holding the gateway become a VM's port.
    rtr = VirtualMachineInterface(name + "-rtr", project)
    rtr.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(rtr)
    gw4 = InstanceIp(name + "-gw4", instance_ip_address="11.1.1.254")
    gw4.add_virtual_network(vn)
    gw4.add_virtual_machine_interface(rtr)
    vnc.instance_ip_create(gw4)
    rtr.add_virtual_machine(vm)
    with pytest.raises(BadRequest, match="Gateway IP cannot be used by VM port"):
        vnc.virtual_machine_interface_update(rtr)
    # An address outside every subnet, or a changed address, is a bad request.
    with pytest.raises(BadRequest, match="in none of its subnets"):
        iip(vnc, vn, instance_ip_address="10.9.9.9")
    mine = iip(vnc, vn)
    mine.set_instance_ip_address("11.1.1.100")
    with pytest.raises(BadRequest, match="can not be changed"):
        vnc.instance_ip_update(mine)


def test_subnet_uuid_picks_the_subnet(vnc, project, name):
    vn = network(vnc, project, name, [sn("11.1.1.0", 24), sn("12.1.1.0", 24)])
    second = subnets_of(vn)[1].subnet_uuid
    got = iip(vnc, vn, subnet_uuid=second)
    assert got.instance_ip_address == "12.1.1.252" and got.subnet_uuid == second
    with pytest.raises(BadRequest, match="has invalid subnet"):
        iip(vnc, vn, subnet_uuid=str(uuid.uuid4()))
    with pytest.raises(RefsExistError, match="Invalid subnet-uuid"):
        network(vnc, project, name + "-u", [sn("13.1.1.0", 24, subnet_uuid="not-a-uuid")])


def test_subnet_changes(vnc, project, name):
    s1, s2 = sn("11.1.1.0", 24, default_gateway="11.1.1.100"), sn("13.1.1.0", 24)
    ipam = ipam_of(vnc, project, name + "-ipam")
    vn = VirtualNetwork(name, project)
    vn.add_network_ipam(ipam, VnSubnetsType([s1, s2]))
    vnc.virtual_network_create(vn)
    assert [s.default_gateway for s in subnets_of(vnc.virtual_network_read(id=vn.uuid))] == \
        ["11.1.1.100", "13.1.1.254"]
    s2.set_default_gateway("13.1.1.50")
    vn._pending_field_updates.add("network_ipam_refs")
    with pytest.raises(BadRequest, match="default gateway change is not allowed orig:13.1.1.254, new: 13.1.1.50"):
        vnc.virtual_network_update(vn)
    s2.set_default_gateway(None)
    s2.set_dns_server_address("13.1.1.200")
    vn._pending_field_updates.add("network_ipam_refs")
    vnc.virtual_network_update(vn)
    got = subnets_of(vnc.virtual_network_read(id=vn.uuid))
    assert (got[1].default_gateway, got[1].dns_server_address) == ("13.1.1.254", "13.1.1.200")
    assert got[0].subnet_uuid == subnets_of(vnc.virtual_network_read(id=vn.uuid))[0].subnet_uuid
    with pytest.raises(RefsExistError, match="gateway Ip 14.1.1.99 out of cidr"):
        network(vnc, project, name + "-g", [sn("15.1.1.0", 24, default_gateway="14.1.1.99")])
    # A subnet holding addresses cannot be removed.
    iip(vnc, vn, subnet_uuid=got[1].subnet_uuid)
    vn.set_network_ipam(ipam, VnSubnetsType([s1]))
    with pytest.raises(RefsExistError, match="Cannot Delete IP Block"):
        vnc.virtual_network_update(vn)


def test_overlaps_and_flat_subnet_ipams(vnc, project, name):
    plain = ipam_of(vnc, project, name + "-0")
    plain.set_ipam_subnets(IpamSubnets([sn("10.1.2.0", 23)]))
    with pytest.raises(BadRequest, match="ipam-subnets are allowed only with flat-subnet"):
        vnc.network_ipam_update(plain)
    flat = ipam_of(vnc, project, name + "-f", ipam_subnet_method="flat-subnet")
    flat.set_ipam_subnets(IpamSubnets([sn("12.1.2.0", 23), sn("12.1.3.248", 28)]))
    with pytest.raises(BadRequest, match=r"Overlapping addresses: \[IPNetwork\('12.1.2.0/23'\), "
                                         r"IPNetwork\('12.1.3.240/28'\)\]"):
        vnc.network_ipam_update(flat)
    flat.set_ipam_subnets(IpamSubnets([sn("12.1.2.0", 23)]))
    vnc.network_ipam_update(flat)
    assert vnc.network_ipam_read(id=flat.uuid).ipam_subnets.subnets[0].default_gateway == "12.1.3.254"
    with pytest.raises(BadRequest, match="Overlapping addresses"):
        network(vnc, project, name + "-o", [sn("10.1.2.0", 23), sn("10.1.3.248", 28)], ipam=plain)
    # A flat-subnet IPAM serves only l3 networks, which carry no prefixes of their own.
    vn = VirtualNetwork(name, project)
    vn.add_network_ipam(flat, VnSubnetsType([]))
    with pytest.raises(BadRequest, match="flat-subnet is allowed only with l3 network"):
        vnc.virtual_network_create(vn)
    vn.set_virtual_network_properties(VirtualNetworkType(forwarding_mode="l3"))
    vnc.virtual_network_create(vn)
    vn = vnc.virtual_network_read(id=vn.uuid)
    assert [s.subnet_uuid for s in subnets_of(vn)] and subnets_of(vn)[0].subnet is None
    # Networks on one flat IPAM share its allocator.
    vn2 = VirtualNetwork(name + "-2", project,
                         virtual_network_properties=VirtualNetworkType(forwarding_mode="l3"))
    vn2.add_network_ipam(flat, VnSubnetsType([]))
    vnc.virtual_network_create(vn2)
    assert iip(vnc, vn).instance_ip_address == "12.1.3.252"
    assert iip(vnc, vn2).instance_ip_address == "12.1.3.251"
    bad = VirtualNetwork(name + "-b", project,
                         virtual_network_properties=VirtualNetworkType(forwarding_mode="l3"))
    bad.add_network_ipam(flat, VnSubnetsType([sn("30.0.0.0", 24)]))
    with pytest.raises(BadRequest, match="network can not have user-defined subnet"):
        vnc.virtual_network_create(bad)
    # Growing the IPAM into a prefix that overlaps a network's own subnet is refused.
    vn.add_network_ipam(plain, VnSubnetsType([sn("20.1.0.0", 24)]))
    vnc.virtual_network_update(vn)
    flat.set_ipam_subnets(IpamSubnets([sn("12.1.2.0", 23), sn("20.1.0.128", 25)]))
    with pytest.raises(BadRequest, match="Overlapping addresses"):
        vnc.network_ipam_update(flat)
    # ... and a flat subnet in use cannot go away.
    flat.set_ipam_subnets(IpamSubnets([sn("40.0.0.0", 24)]))
    with pytest.raises(RefsExistError, match="Cannot Delete IP Block"):
        vnc.network_ipam_update(flat)


def test_subnet_quota(vnc, project, name):
    from vnc_api.exceptions import OverQuota
    from vnc_api.gen.resource_xsd import QuotaType
    ipam = ipam_of(vnc, project, name + "-ipam")
    project.set_quota(QuotaType(subnet=1))
    vnc.project_update(project)
    vn = VirtualNetwork(name, project)
    vn.add_network_ipam(ipam, VnSubnetsType([sn("11.1.1.0", 28), sn("12.1.1.0", 28)]))
    with pytest.raises(OverQuota):
        vnc.virtual_network_create(vn)
    project.set_quota(QuotaType(subnet=2))
    vnc.project_update(project)
    vnc.virtual_network_create(vn)
    vn.set_network_ipam(ipam, VnSubnetsType([sn("11.1.1.0", 28), sn("12.1.1.0", 28), sn("13.1.1.0", 28)]))
    with pytest.raises(OverQuota):
        vnc.virtual_network_update(vn)
    # Other networks of the project count too.
    with pytest.raises(OverQuota):
        network(vnc, project, name + "-2", [sn("14.1.1.0", 28)], ipam=ipam)


def test_allocation_pools_can_grow_not_shrink(vnc, project, name):
    pools = [AllocationPoolType(start="11.1.1.20", end="11.1.1.25")]
    s = sn("11.1.1.0", 24, allocation_pools=pools, addr_from_start=True)
    ipam = ipam_of(vnc, project, name + "-ipam")
    vn = VirtualNetwork(name, project)
    vn.add_network_ipam(ipam, VnSubnetsType([s]))
    vnc.virtual_network_create(vn)
    assert iip(vnc, vn).instance_ip_address == "11.1.1.20"
    s.set_allocation_pools(pools + [AllocationPoolType(start="11.1.1.100", end="11.1.1.110")])
    vn._pending_field_updates.add("network_ipam_refs")
    vnc.virtual_network_update(vn)
    s.set_allocation_pools([AllocationPoolType(start="11.1.1.100", end="11.1.1.110")])
    vn._pending_field_updates.add("network_ipam_refs")
    with pytest.raises(BadRequest, match="Allocation pool delete is not allowed"):
        vnc.virtual_network_update(vn)


def test_instance_ip_from_an_ipam_directly(vnc, project, name):
    """An instance IP with no network but a flat-subnet IPAM takes an address from the IPAM's
    own space, shared with the networks on that IPAM; it cannot ask for one."""
    flat = ipam_of(vnc, project, name, ipam_subnet_method="flat-subnet")
    flat.set_ipam_subnets(IpamSubnets([sn("13.1.2.0", 24)]))
    vnc.network_ipam_update(flat)

    def from_ipam(n, **kw):
        obj = InstanceIp(n, **kw)
        obj.add_network_ipam(flat)
        vnc.instance_ip_create(obj)
        return vnc.instance_ip_read(id=obj.uuid)

    first = from_ipam(name + "-1")
    assert first.instance_ip_address == "13.1.2.252"
    stored = vnc.network_ipam_read(id=flat.uuid).ipam_subnets.subnets[0]
    assert first.get_subnet_uuid() == stored.subnet_uuid
    vn = VirtualNetwork(name, project,
                        virtual_network_properties=VirtualNetworkType(forwarding_mode="l3"))
    vn.add_network_ipam(flat, VnSubnetsType([]))
    vnc.virtual_network_create(vn)
    assert iip(vnc, vn).instance_ip_address == "13.1.2.251"
    with pytest.raises(BadRequest, match="requested IP from a network_ipam is not supported"):
        from_ipam(name + "-asked", instance_ip_address="13.1.2.100")
    with pytest.raises(BadRequest, match="needs a virtual network"):
        vnc.instance_ip_create(InstanceIp(name + "-nowhere"))
    # Its delete gives the address back to the IPAM.
    vnc.instance_ip_delete(id=first.uuid)
    assert from_ipam(name + "-2").instance_ip_address == "13.1.2.252"


def test_instance_ip_through_a_vrouter(vnc, project, name):
    """An instance IP that refers to a vrouter takes its address from the pools of the
    vrouter's IPAM links; it names no network, IPAM or subnet besides, and one vrouter only."""
    from vnc_api.gen.resource_xsd import VirtualRouterNetworkIpamType
    from vnc_api.vnc_api import VirtualRouter
    flat = ipam_of(vnc, project, name, ipam_subnet_method="flat-subnet")
    flat.set_ipam_subnets(IpamSubnets([sn("14.1.2.0", 24, allocation_pools=[
        AllocationPoolType("14.1.2.16", "14.1.2.31", vrouter_specific_pool=True),
        AllocationPoolType("14.1.2.32", "14.1.2.47", vrouter_specific_pool=True)])]))
    vnc.network_ipam_update(flat)
    routers = []
    for i in range(2):
        vr = VirtualRouter(f"{name}-{i}", virtual_router_ip_address=f"192.0.2.{10 + i}")
        vr.add_network_ipam(flat, VirtualRouterNetworkIpamType(
            allocation_pools=[AllocationPoolType(f"14.1.2.{16 + 16 * i}", f"14.1.2.{31 + 16 * i}")]))
        vnc.virtual_router_create(vr)
        routers.append(vr)

    def via(n, *vrs, **kw):
        obj = InstanceIp(n, **kw)
        for vr in vrs:
            obj.add_virtual_router(vr)
        return obj

    first = via(name + "-1", routers[0])
    vnc.instance_ip_create(first)
    assert vnc.instance_ip_read(id=first.uuid).instance_ip_address == "14.1.2.31"
    second = via(name + "-2", routers[0])
    vnc.instance_ip_create(second)
    assert vnc.instance_ip_read(id=second.uuid).instance_ip_address == "14.1.2.30"
    other = via(name + "-3", routers[1])
    vnc.instance_ip_create(other)
    assert vnc.instance_ip_read(id=other.uuid).instance_ip_address == "14.1.2.47"
    both = via(name + "-b", routers[0])
    both.add_network_ipam(flat)
    vn = VirtualNetwork(name, project,
                        virtual_network_properties=VirtualNetworkType(forwarding_mode="l3"))
    vn.add_network_ipam(flat, VnSubnetsType([]))
    vnc.virtual_network_create(vn)
    with_vn = via(name + "-n", routers[0])
    with_vn.add_virtual_network(vn)
    for bad in (both, with_vn, via(name + "-2r", *routers),
                via(name + "-s", routers[0], subnet_uuid=str(uuid.uuid4()))):
        with pytest.raises(BadRequest):
            vnc.instance_ip_create(bad)
    vnc.instance_ip_delete(id=first.uuid)
    again = via(name + "-4", routers[0])
    vnc.instance_ip_create(again)
    assert vnc.instance_ip_read(id=again.uuid).instance_ip_address == "14.1.2.31"


def test_changed_dns_address_frees_the_old_one(vnc, project, name):
    ipam = ipam_of(vnc, project, name + "-ipam", ipam_subnet_method="user-defined-subnet")
    s = sn("11.1.1.0", 24, addr_from_start=True)
    vn = VirtualNetwork(name, project)
    vn.add_network_ipam(ipam, VnSubnetsType([s]))
    vnc.virtual_network_create(vn)
    assert iip(vnc, vn).instance_ip_address == "11.1.1.3", "gateway .1 and DNS .2 reserved"
    s.set_dns_server_address("11.1.1.100")
    vn._pending_field_updates.add("network_ipam_refs")
    vnc.virtual_network_update(vn)
    assert subnets_of(vnc.virtual_network_read(id=vn.uuid))[0].dns_server_address == "11.1.1.100"
    assert iip(vnc, vn).instance_ip_address == "11.1.1.2", "the old DNS address is free again"
    with pytest.raises(RefsExistError, match="IP address already in use"):
        iip(vnc, vn, instance_ip_address="11.1.1.100")


def test_ipv6_subnets_in_upper_case(vnc, project, name):
    upper = sn("FD00:1:1:1::0", 64, default_gateway="FD00:1:1:1::1")
    lower = sn("fd00:1:2:3::0", 64, default_gateway="fd00:1:2:3::1")
    ipam = ipam_of(vnc, project, name + "-ipam")
    vn = network(vnc, project, name, [upper, lower], ipam=ipam)
    vnc.virtual_network_delete(id=vn.uuid)
    vn = network(vnc, project, name, [upper], ipam=ipam)
    vn.set_virtual_network_properties(VirtualNetworkType(forwarding_mode="l3"))
    vnc.virtual_network_update(vn)
    got = vnc.virtual_network_read(id=vn.uuid)
    assert got.get_virtual_network_properties().forwarding_mode == "l3"
    assert iip(vnc, got, instance_ip_family="v6").instance_ip_address.startswith("fd00:1:1:1:")


def test_subscriber_tags_pick_their_subnet(vnc, project, name):
    """An instance IP with a subscriber tag takes its address from the subnetted IPAM's subnet
    serving that tag, else from the first subnet serving none, which then serves the tag."""
    ipam = ipam_of(vnc, project, name, ipam_subnet_method="flat-subnet", ipam_subnetting=True)
    ipam.set_ipam_subnets(IpamSubnets([sn("13.2.1.0", 29), sn("13.2.2.0", 29),
                                       sn("13.2.3.0", 29)]))
    vnc.network_ipam_update(ipam)

    def tagged(n, tag=None):
        obj = InstanceIp(n, instance_ip_subscriber_tag=tag)
        obj.add_network_ipam(ipam)
        vnc.instance_ip_create(obj)
        return vnc.instance_ip_read(id=obj.uuid).instance_ip_address

    assert tagged(name + "-a1", "a").startswith("13.2.1.")
    assert tagged(name + "-b1", "b").startswith("13.2.2.")
    assert tagged(name + "-a2", "a").startswith("13.2.1.")
    tags = [s.subscriber_tag for s in vnc.network_ipam_read(id=ipam.uuid).ipam_subnets.subnets]
    assert tags == ["a", "b", None]
    # A subnetted subnet reserves no gateway or service address: a /29 holds .1 to .6.
    got = [tagged(f"{name}-c{i}", "c") for i in range(6)]
    assert sorted(got) == [f"13.2.3.{i}" for i in range(1, 7)]
    with pytest.raises(BadRequest, match="has exhausted subnet"):
        tagged(name + "-d", "d")
