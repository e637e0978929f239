"""Floating IP pools and floating IPs as Contrail's api-server keeps them, through the real
`vnc_api` client: the subnets a pool names belong to its network and are where its addresses
come from, in order; a floating IP with no project ref gets its network's project's, and
counts against that project's quota."""

import uuid

import pytest
from vnc_api.exceptions import BadRequest, OverQuota
from vnc_api.gen.resource_xsd import (FloatingIpPoolSubnetType, IpamSubnetType, QuotaType,
                                      SubnetType, VnSubnetsType)
from vnc_api.vnc_api import FloatingIp, FloatingIpPool, NetworkIpam, VirtualNetwork


def external_network(vnc, project, name):
    ipam = NetworkIpam(name, parent_obj=project)
    vnc.network_ipam_create(ipam)
    vn = VirtualNetwork(name, parent_obj=project, router_external=True)
    vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType("10.20.0.0", 29)),
                                             IpamSubnetType(subnet=SubnetType("10.30.0.0", 24))]))
    vnc.virtual_network_create(vn)
    vn = vnc.virtual_network_read(id=vn.uuid)
    small, big = [s.subnet_uuid for s in vn.get_network_ipam_refs()[0]["attr"].ipam_subnets]
    return vn, small, big


def fip(vnc, pool):
    obj = FloatingIp(str(uuid.uuid4()), parent_obj=pool)
    vnc.floating_ip_create(obj)
    return vnc.floating_ip_read(id=obj.uuid)


def test_pool_subnets_are_the_networks(vnc, project, name):
    vn, _, _ = external_network(vnc, project, name)
    pool = FloatingIpPool(name, parent_obj=vn,
                          floating_ip_pool_subnets=FloatingIpPoolSubnetType([str(uuid.uuid4())]))
    with pytest.raises(BadRequest, match="was not found in virtual-network"):
        vnc.floating_ip_pool_create(pool)


def test_addresses_come_from_the_pools_subnets_in_order(vnc, project, name):
    vn, small, big = external_network(vnc, project, name)
    only_big = FloatingIpPool(name + "-big", parent_obj=vn,
                              floating_ip_pool_subnets=FloatingIpPoolSubnetType([big]))
    vnc.floating_ip_pool_create(only_big)
    assert fip(vnc, only_big).floating_ip_address.startswith("10.30.0.")
    both = FloatingIpPool(name + "-both", parent_obj=vn,
                          floating_ip_pool_subnets=FloatingIpPoolSubnetType([small, big]))
    vnc.floating_ip_pool_create(both)
    got = [fip(vnc, both).floating_ip_address for _ in range(5)]
    assert got[:4] == ["10.20.0.4", "10.20.0.3", "10.20.0.2", "10.20.0.1"]
    assert got[4].startswith("10.30.0.")


def test_a_floating_ip_belongs_to_its_networks_project(vnc, project, name):
    vn, _, _ = external_network(vnc, project, name)
    pool = FloatingIpPool(name, parent_obj=vn)
    vnc.floating_ip_pool_create(pool)
    first = fip(vnc, pool)
    assert [r["uuid"] for r in first.get_project_refs()] == [project.uuid]
    project = vnc.project_read(id=project.uuid)
    project.set_quota(QuotaType(floating_ip=1))
    vnc.project_update(project)
    with pytest.raises(OverQuota):
        fip(vnc, pool)
