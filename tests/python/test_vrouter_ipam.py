"""A vrouter's links to IPAMs, as Contrail's api-server checks them, through the real `vnc_api`
client: only flat-subnet IPAMs; the link's allocation pools are pools the IPAM keeps for
vrouters (`vrouter_specific_pool`), one vrouter's each; pools holding the vrouter's instance IPs
stay; and addresses not asked through a vrouter skip the pools kept for vrouters."""

import uuid

import pytest
from vnc_api.exceptions import BadRequest
from vnc_api.gen.resource_xsd import VirtualRouterNetworkIpamType
from vnc_api.vnc_api import (AllocationPoolType, InstanceIp, IpamSubnets, IpamSubnetType,
                             IpamType, NetworkIpam, SubnetType, VirtualNetwork,
                             VirtualNetworkType, VirtualRouter, VnSubnetsType)


def pool(start, end, for_vrouters=None):
    return AllocationPoolType(start=start, end=end, vrouter_specific_pool=for_vrouters)


def flat_ipam(vnc, project, name, subnets=()):
    ipam = NetworkIpam(name, project, IpamType("dhcp"), ipam_subnet_method="flat-subnet",
                       ipam_subnets=IpamSubnets(list(subnets)))
    vnc.network_ipam_create(ipam)
    return vnc.network_ipam_read(id=ipam.uuid)


def subnet(prefix, *pools):
    return IpamSubnetType(subnet=SubnetType(prefix, 24), allocation_pools=list(pools),
                          alloc_unit=1)


def router(name, ipam, *pools):
    vr = VirtualRouter(name + "-" + uuid.uuid4().hex[:6])
    vr.add_network_ipam(ipam, VirtualRouterNetworkIpamType(allocation_pools=list(pools)))
    return vr


def address_via(vnc, vr):
    iip = InstanceIp(str(uuid.uuid4()))
    iip.add_virtual_router(vr)
    vnc.instance_ip_create(iip)
    return vnc.instance_ip_read(id=iip.uuid).instance_ip_address


def test_a_vrouter_links_only_to_flat_ipams(vnc, project, name):
    ipam = NetworkIpam(name, project, IpamType("dhcp"), ipam_subnet_method="user-defined-subnet")
    vnc.network_ipam_create(ipam)
    with pytest.raises(BadRequest, match="Only flat-subnet ipam can be attached to vrouter"):
        vnc.virtual_router_create(router(name, ipam, pool("11.1.1.16", "11.1.1.18")))


def test_link_pools_must_be_the_ipams_vrouter_pools(vnc, project, name):
    ipam = flat_ipam(vnc, project, name, [
        subnet("11.1.1.0", pool("11.1.1.16", "11.1.1.18", True)),
        subnet("12.1.1.0", pool("12.1.1.32", "12.1.1.63"))])
    # A pool the IPAM does not have, and one it has but not for vrouters.
    for bad in (pool("13.1.1.8", "13.1.1.9"), pool("12.1.1.32", "12.1.1.63")):
        with pytest.raises(BadRequest, match=f"start:{bad.start}, end:{bad.end} not in ipam"):
            vnc.virtual_router_create(router(name, ipam, bad))
    # No pools at all.
    with pytest.raises(BadRequest, match="No allocation-pools for this vrouter"):
        vnc.virtual_router_create(router(name, ipam))
    vnc.virtual_router_create(router(name, ipam, pool("11.1.1.16", "11.1.1.18")))


def test_a_vrouter_pool_belongs_to_one_vrouter(vnc, project, name):
    ipam = flat_ipam(vnc, project, name, [
        subnet("11.2.1.0", pool("11.2.1.16", "11.2.1.18", True), pool("11.2.1.24", "11.2.1.25", True))])
    first = router(name, ipam, pool("11.2.1.16", "11.2.1.18"))
    vnc.virtual_router_create(first)
    with pytest.raises(BadRequest, match=f"is used in other vrouter:{first.uuid}"):
        vnc.virtual_router_create(router(name, ipam, pool("11.2.1.16", "11.2.1.18")))
    vnc.virtual_router_create(router(name, ipam, pool("11.2.1.24", "11.2.1.25")))


def test_pools_in_use_stay_on_the_link(vnc, project, name):
    ipam = flat_ipam(vnc, project, name, [
        subnet("11.3.1.0", pool("11.3.1.8", "11.3.1.9", True), pool("11.3.1.16", "11.3.1.17", True))])
    vr = router(name, ipam, pool("11.3.1.8", "11.3.1.9"), pool("11.3.1.16", "11.3.1.17"))
    vnc.virtual_router_create(vr)
    assert address_via(vnc, vr) == "11.3.1.17"
    # Dropping the unused pool is fine; dropping the used one, or the whole link, is not.
    vr.set_network_ipam(ipam, VirtualRouterNetworkIpamType(
        allocation_pools=[pool("11.3.1.16", "11.3.1.17")]))
    vnc.virtual_router_update(vr)
    vr.set_network_ipam(ipam, VirtualRouterNetworkIpamType(
        allocation_pools=[pool("11.3.1.8", "11.3.1.9")]))
    with pytest.raises(BadRequest, match="Cannot Delete allocation pool, 11.3.1.17 in use"):
        vnc.virtual_router_update(vr)
    vr.set_network_ipam_list([])
    with pytest.raises(BadRequest, match="Cannot Delete allocation pool, IP address in use"):
        vnc.virtual_router_update(vr)


def test_vrouter_pools_are_kept_apart(vnc, project, name):
    """A network's addresses come from the pools not kept for vrouters; a vrouter's from its
    link's pools only, whatever else the IPAM has."""
    ipam = flat_ipam(vnc, project, name, [
        subnet("13.4.1.0", pool("13.4.1.16", "13.4.1.17", False), pool("13.4.1.24", "13.4.1.25", True)),
        IpamSubnetType(subnet=SubnetType("11.4.1.0", 24))])
    vn = VirtualNetwork(name, project,
                        virtual_network_properties=VirtualNetworkType(forwarding_mode="l3"))
    vn.add_network_ipam(ipam, VnSubnetsType([]))
    vnc.virtual_network_create(vn)
    got = []
    for _ in range(2):
        iip = InstanceIp(str(uuid.uuid4()))
        iip.add_virtual_network(vn)
        vnc.instance_ip_create(iip)
        got.append(vnc.instance_ip_read(id=iip.uuid).instance_ip_address)
    assert got == ["13.4.1.17", "13.4.1.16"]
    vr = router(name, ipam, pool("13.4.1.24", "13.4.1.25"))
    vnc.virtual_router_create(vr)
    assert [address_via(vnc, vr) for _ in range(2)] == ["13.4.1.25", "13.4.1.24"]
    with pytest.raises(BadRequest, match="exhausted"):
        address_via(vnc, vr)
