"""Virtual network rules of Contrail's api-server beyond subnets, through the real `vnc_api`
client: VXLAN ids a client sets (one network's each, shared with network ids), Neutron's
sharing flags in step with perms2, provider networks, and multi-policy service chains."""

import random

import pytest
from vnc_api.exceptions import BadRequest, RefsExistError
from vnc_api.gen.resource_xsd import PermType2, ProviderDetails, RouteTargetList
from vnc_api.vnc_api import VirtualNetwork, VirtualNetworkType


def vxlan_net(project, name, vni):
    return VirtualNetwork(name, parent_obj=project, virtual_network_properties=VirtualNetworkType(
        forwarding_mode="l2_l3", vxlan_network_identifier=vni))


def vni_of(vnc, vn):
    return vnc.virtual_network_read(id=vn.uuid).get_virtual_network_properties() \
        .get_vxlan_network_identifier()


def test_a_vxlan_id_belongs_to_one_network(vnc, project, name):
    vni = random.randrange(5_000_000, 6_000_000)
    first = vxlan_net(project, name + "-1", vni)
    vnc.virtual_network_create(first)
    assert vni_of(vnc, first) == vni
    with pytest.raises(BadRequest, match=f"Cannot set VXLAN_ID: {vni}"):
        vnc.virtual_network_create(vxlan_net(project, name + "-2", vni))
    second = vxlan_net(project, name + "-2", vni + 1)
    vnc.virtual_network_create(second)
    second.get_virtual_network_properties().set_vxlan_network_identifier(vni)
    second.set_virtual_network_properties(second.get_virtual_network_properties())
    with pytest.raises(BadRequest, match="already been set"):
        vnc.virtual_network_update(second)
    assert vni_of(vnc, second) == vni + 1
    # Moving the first away frees its id for the second; its old one is free again too.
    first.get_virtual_network_properties().set_vxlan_network_identifier(vni + 2)
    first.set_virtual_network_properties(first.get_virtual_network_properties())
    vnc.virtual_network_update(first)
    vnc.virtual_network_update(second)
    assert vni_of(vnc, second) == vni
    vnc.virtual_network_delete(id=first.uuid)
    vnc.virtual_network_create(vxlan_net(project, name + "-3", vni + 2))
    # Network ids keep counting from the lowest, not from the VXLAN ids set.
    plain = VirtualNetwork(name + "-plain", parent_obj=project)
    vnc.virtual_network_create(plain)
    assert vnc.virtual_network_read(id=plain.uuid).get_virtual_network_network_id() < 5_000_000


def test_vxlan_ids_and_network_ids_are_one_pool(vnc, project, name):
    plain = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(plain)
    own = vnc.virtual_network_read(id=plain.uuid).get_virtual_network_network_id()
    with pytest.raises(BadRequest, match="already been set"):
        vnc.virtual_network_create(vxlan_net(project, name + "-other", own))
    # A network may take its own network id as VXLAN id.
    plain = vnc.virtual_network_read(id=plain.uuid)
    plain.set_virtual_network_properties(VirtualNetworkType(vxlan_network_identifier=own))
    vnc.virtual_network_update(plain)
    assert vni_of(vnc, plain) == own


def access_of(vnc, vn):
    got = vnc.virtual_network_read(id=vn.uuid)
    return got.get_is_shared(), got.get_perms2().global_access


def test_shared_and_external_follow_global_access(vnc, project, name):
    plain = VirtualNetwork(name + "-plain", parent_obj=project)
    vnc.virtual_network_create(plain)
    assert access_of(vnc, plain) == (False, 0)
    shared = VirtualNetwork(name + "-shared", parent_obj=project, is_shared=True)
    vnc.virtual_network_create(shared)
    assert access_of(vnc, shared) == (True, 7)
    rwx = VirtualNetwork(name + "-rwx", parent_obj=project,
                         perms2=PermType2(owner="cloud-admin", owner_access=7, global_access=7))
    vnc.virtual_network_create(rwx)
    assert access_of(vnc, rwx) == (True, 7)

    plain = vnc.virtual_network_read(id=plain.uuid)
    plain.set_router_external(True)
    vnc.virtual_network_update(plain)
    assert access_of(vnc, plain) == (False, 5)
    plain = vnc.virtual_network_read(id=plain.uuid)
    plain.set_is_shared(True)
    vnc.virtual_network_update(plain)
    assert access_of(vnc, plain) == (True, 7)

    plain = vnc.virtual_network_read(id=plain.uuid)
    plain.set_is_shared(True)
    plain.set_perms2(PermType2(owner="cloud-admin", owner_access=7, global_access=0))
    with pytest.raises(BadRequest, match="Inconsistent is_shared"):
        vnc.virtual_network_update(plain)


def provider(project, name, **details):
    vn = VirtualNetwork(name, parent_obj=project, is_provider_network=True)
    if details:
        vn.set_provider_properties(ProviderDetails(params_dict=details))
    return vn


def test_provider_networks(vnc, project, name):
    vnc.virtual_network_create(provider(project, name + "-bare"))
    with pytest.raises(BadRequest, match="Physical Network must be configured"):
        vnc.virtual_network_create(provider(project, name + "-half", segmentation_id=100))
    prov = provider(project, name, segmentation_id=100, physical_network="physnet1")
    vnc.virtual_network_create(prov)
    got = vnc.virtual_network_read(id=prov.uuid)
    assert got.get_is_provider_network()
    # Its details are fixed, and it stays a provider.
    got.set_provider_properties(ProviderDetails(
        params_dict={"segmentation_id": 200, "physical_network": "physnet2"}))
    with pytest.raises(RefsExistError):
        vnc.virtual_network_update(got)
    got = vnc.virtual_network_read(id=prov.uuid)
    got.set_is_provider_network(False)
    with pytest.raises(BadRequest, match="from True to False"):
        vnc.virtual_network_update(got)
    props = vnc.virtual_network_read(id=prov.uuid).get_provider_properties()
    assert (props.segmentation_id, props.physical_network) == (100, "physnet1")

    # A network becomes a provider with both details or none.
    plain = VirtualNetwork(name + "-plain", parent_obj=project)
    vnc.virtual_network_create(plain)
    plain = vnc.virtual_network_read(id=plain.uuid)
    plain.set_is_provider_network(True)
    plain.set_provider_properties(ProviderDetails(params_dict={"segmentation_id": 7}))
    with pytest.raises(RefsExistError):
        vnc.virtual_network_update(plain)
    plain.set_provider_properties(ProviderDetails(
        params_dict={"segmentation_id": 7, "physical_network": "physnet3"}))
    vnc.virtual_network_update(plain)


def test_links_to_provider_networks(vnc, project, name):
    prov = provider(project, name + "-p1", segmentation_id=1, physical_network="p")
    vnc.virtual_network_create(prov)
    prov2 = provider(project, name + "-p2")
    vnc.virtual_network_create(prov2)
    other = VirtualNetwork(name + "-other", parent_obj=project)
    vnc.virtual_network_create(other)

    def linked(n, *targets, is_provider=False):
        vn = VirtualNetwork(name + n, parent_obj=project, is_provider_network=is_provider)
        for t in targets:
            vn.add_virtual_network(t)
        return vn

    for bad in (linked("-two", prov, prov2), linked("-plain", other),
                linked("-pp", prov, is_provider=True)):
        with pytest.raises(BadRequest, match="provider VN"):
            vnc.virtual_network_create(bad)
    vnc.virtual_network_create(linked("-ok", prov))


def test_multi_policy_service_chains_without_external_targets(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project, multi_policy_service_chains_enabled=True,
                        route_target_list=RouteTargetList(["target:65001:1"]))
    with pytest.raises(RefsExistError):
        vnc.virtual_network_create(vn)
    vn.set_route_target_list(RouteTargetList([]))
    vn.set_import_route_target_list(RouteTargetList(["target:65001:2"]))
    vn.set_export_route_target_list(RouteTargetList(["target:65001:2"]))
    with pytest.raises(RefsExistError):
        vnc.virtual_network_create(vn)
    vn.set_export_route_target_list(RouteTargetList(["target:65001:3"]))
    vnc.virtual_network_create(vn)
