"""What Contrail's api-server makes itself and keeps from clients, through the real `vnc_api`
client: default routing instances (`routing_instance.py`), each project's default application
policy set (`project.py`, `application_policy_set.py`), and the checks on a routed network's
properties (`virtual_network.py`)."""

import pytest
from vnc_api.exceptions import BadRequest, NoIdError, RefsExistError
from vnc_api.gen.resource_xsd import (BgpParameters, FirewallSequence, OspfParameters,
                                      PimParameters, RoutedProperties,
                                      VirtualNetworkRoutedPropertiesType)
from vnc_api.gen.resource_xsd import IpamSubnetType, SubnetType, VnSubnetsType
from vnc_api.vnc_api import (ApplicationPolicySet, FirewallPolicy, InstanceIp, Project,
                             RoutingInstance, VirtualMachineInterface, VirtualNetwork)

CANNOT_MODIFY = "Cannot modify system resource Routing Instance"


def primary_instance(vnc, vn):
    return vnc.routing_instance_read(fq_name=vn.get_fq_name() + [vn.name])


def test_primary_instance_is_default_from_creation(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    assert primary_instance(vnc, vn).get_routing_instance_is_default() is True


def test_cannot_create_default_routing_instance(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    plain = RoutingInstance(name + "-plain", parent_obj=vn)
    plain.set_routing_instance_is_default(False)
    vnc.routing_instance_create(plain)
    marked = RoutingInstance(name + "-marked", parent_obj=vn)
    marked.set_routing_instance_is_default(True)
    with pytest.raises(RefsExistError, match=CANNOT_MODIFY + " " + ":".join(marked.fq_name)):
        vnc.routing_instance_create(marked)
    # Marking an existing instance default is the same refusal.
    plain.set_routing_instance_is_default(True)
    with pytest.raises(RefsExistError, match=r"%s %s\(%s\)" % (
            CANNOT_MODIFY, ":".join(plain.fq_name), plain.uuid)):
        vnc.routing_instance_update(plain)
    vnc.routing_instance_delete(id=plain.uuid)
    vnc.virtual_network_delete(id=vn.uuid)


def test_default_routing_instance_cannot_change_or_go(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    ri = primary_instance(vnc, vn)
    ri.set_routing_instance_is_default(False)
    with pytest.raises(RefsExistError, match=CANNOT_MODIFY):
        vnc.routing_instance_update(ri)
    with pytest.raises(RefsExistError, match=r"%s %s\(%s\)" % (
            CANNOT_MODIFY, ":".join(ri.fq_name), ri.uuid)):
        vnc.routing_instance_delete(id=ri.uuid)
    # Other fields of it still change; the fabric's __default__ is protected too.
    ri = primary_instance(vnc, vn)
    ri.set_display_name("renamed")
    vnc.routing_instance_update(ri)
    assert primary_instance(vnc, vn).display_name == "renamed"
    fabric = vnc.routing_instance_read(
        fq_name=["default-domain", "default-project", "ip-fabric", "__default__"])
    with pytest.raises(RefsExistError, match=CANNOT_MODIFY):
        vnc.routing_instance_delete(id=fabric.uuid)
    # The network's delete takes its instance along.
    vnc.virtual_network_delete(id=vn.uuid)
    with pytest.raises(NoIdError):
        vnc.routing_instance_read(id=ri.uuid)


def test_non_default_routing_instance_updates_and_deletes(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    ri = RoutingInstance(name + "-ri", parent_obj=vn)
    vnc.routing_instance_create(ri)
    ri.set_display_name("new-" + name)
    vnc.routing_instance_update(ri)
    vnc.routing_instance_delete(id=ri.uuid)
    vnc.virtual_network_delete(id=vn.uuid)


def default_aps_fq(project):
    return project.get_fq_name() + ["default-application-policy-set"]


def test_project_gets_its_default_application_policy_set(vnc, project, name):
    got = vnc.project_read(id=project.uuid)
    aps = vnc.application_policy_set_read(fq_name=default_aps_fq(project))
    assert aps.get_all_applications() is True
    assert aps.parent_uuid == project.uuid
    # A child of the project and a ref of it, the same set.
    assert [c["uuid"] for c in got.get_application_policy_sets()] == [aps.uuid]
    assert [r["uuid"] for r in got.get_application_policy_set_refs()] == [aps.uuid]


def test_all_applications_is_read_only(vnc, project, name):
    flagged = ApplicationPolicySet(name + "-all", parent_obj=project, all_applications=True)
    with pytest.raises(BadRequest, match="'all-applications' flag is read-only"):
        vnc.application_policy_set_create(flagged)
    aps = ApplicationPolicySet(name, parent_obj=project)
    vnc.application_policy_set_create(aps)
    aps.set_all_applications(True)
    with pytest.raises(BadRequest, match="'all-applications' flag is read-only"):
        vnc.application_policy_set_update(aps)
    vnc.application_policy_set_delete(id=aps.uuid)


def test_default_application_policy_set_goes_with_its_project(vnc, name):
    project = Project(name + "-p")
    vnc.project_create(project)
    project = vnc.project_read(id=project.uuid)
    aps = vnc.application_policy_set_read(fq_name=default_aps_fq(project))
    # Not deletable by a client, even with the project's ref removed first.
    project.del_application_policy_set(aps)
    vnc.project_update(project)
    with pytest.raises(BadRequest, match="defined on all applications cannot be deleted"):
        vnc.application_policy_set_delete(id=aps.uuid)
    project.add_application_policy_set(aps)
    vnc.project_update(project)
    vnc.project_delete(id=project.uuid)
    with pytest.raises(NoIdError):
        vnc.application_policy_set_read(id=aps.uuid)


def test_project_in_use_by_its_default_set_is_not_deleted(vnc, name):
    project = Project(name + "-p")
    vnc.project_create(project)
    aps = vnc.application_policy_set_read(fq_name=default_aps_fq(project))
    fp = FirewallPolicy(name, parent_obj=project)
    vnc.firewall_policy_create(fp)
    aps.add_firewall_policy(fp, FirewallSequence(sequence="1.0"))
    vnc.application_policy_set_update(aps)
    with pytest.raises(RefsExistError):
        vnc.project_delete(id=project.uuid)
    aps.set_firewall_policy_list([])
    vnc.application_policy_set_update(aps)
    vnc.firewall_policy_delete(id=fp.uuid)
    vnc.project_delete(id=project.uuid)


def make_vn(vnc, project, name, prefix="10.1.0.0", category=None):
    ipam = vnc.network_ipam_read(
        fq_name=["default-domain", "default-project", "default-network-ipam"])
    vn = VirtualNetwork(name, parent_obj=project, virtual_network_category=category)
    vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType(prefix, 24))]))
    vnc.virtual_network_create(vn)
    return vnc.virtual_network_read(id=vn.uuid)


def routed(ip="10.1.0.10", **kw):
    entry = dict(physical_router_uuid="pr-uuid", logical_router_uuid="lr-uuid",
                 routed_interface_ip_address=ip)
    entry.update(kw)
    return VirtualNetworkRoutedPropertiesType(routed_properties=[RoutedProperties(**entry)])


@pytest.mark.parametrize("props,message", [
    (routed(physical_router_uuid=None), "Physical router Id not present for routed VN"),
    (routed(logical_router_uuid=None), "Logical Router Id not present for routed VN"),
    (routed(ip=None), "routed-interface-ip-address is required"),
    (routed(ip="10.9.9.9"), "IP 10.9.9.9 does not belong to any subnet"),
    (routed(routing_protocol="bgp", bgp_params=BgpParameters(peer_ip_address="fe80::1")),
     "fe80::1"),
    (routed(routing_protocol="bgp", bgp_params=BgpParameters(
        peer_ip_address_list=["10.1.0.1", "fd00::2"])), "fd00::2"),
    (routed(routing_protocol="pim", pim_params=PimParameters(rp_ip_address=["10.1.0.1"],
                                                             mode="sparse")),
     "PIM mode only sparse-dense supported"),
    (routed(routing_protocol="pim", pim_params=PimParameters(rp_ip_address=["fd00::3"])),
     "fd00::3"),
    (routed(routing_protocol="ospf", ospf_params=OspfParameters(area_id="0.0.0.0",
                                                                area_type="nssa")),
     "Area id zero should have area type as backbone"),
])
def test_routed_network_properties_refused(vnc, project, name, props, message):
    """Each refusal is 409, as Contrail answers. (An address that is no IP at all is refused
    earlier, with 400, by the schema's `ip` type.)"""
    vn = make_vn(vnc, project, name, category="routed")
    vn.set_virtual_network_routed_properties(props)
    with pytest.raises(RefsExistError, match=message):
        vnc.virtual_network_update(vn)


def test_routed_network_properties_accepted(vnc, project, name):
    vn = make_vn(vnc, project, name, category="routed")
    for props in [
        routed(),
        routed(routing_protocol="bgp", bgp_params=BgpParameters(peer_ip_address="10.1.0.1")),
        routed(routing_protocol="pim", pim_params=PimParameters(rp_ip_address=["10.1.0.1"],
                                                                mode="sparse-dense")),
        routed(routing_protocol="ospf", ospf_params=OspfParameters(area_id="0.0.0.0",
                                                                   area_type="backbone")),
    ]:
        vn.set_virtual_network_routed_properties(props)
        vnc.virtual_network_update(vn)
    got = vnc.virtual_network_read(id=vn.uuid).get_virtual_network_routed_properties()
    assert got.routed_properties[0].ospf_params.area_type == "backbone"
    # Not routed: the properties are stored unchecked (Contrail checks routed networks only).
    plain = make_vn(vnc, project, name + "-t", prefix="10.2.0.0")
    plain.set_virtual_network_routed_properties(routed(ip="192.0.2.1"))
    vnc.virtual_network_update(plain)


def test_routed_network_reserves_no_gateway_or_service_address(vnc, project, name):
    ipam = vnc.network_ipam_read(
        fq_name=["default-domain", "default-project", "default-network-ipam"])
    vn = VirtualNetwork(name, parent_obj=project, virtual_network_category="routed")
    vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType("22.2.2.0", 30))]))
    vnc.virtual_network_create(vn)
    sn = vnc.virtual_network_read(id=vn.uuid).get_network_ipam_refs()[0]["attr"].ipam_subnets[0]
    assert (sn.default_gateway, sn.dns_server_address) == ("None", "None")
    # A /30 has two addresses, both for instances, from the top.
    port = VirtualMachineInterface(name, parent_obj=project)
    port.set_virtual_network(vn)
    vnc.virtual_machine_interface_create(port)
    got = []
    for i in range(2):
        iip = InstanceIp(f"{name}-{i}", instance_ip_family="v4")
        iip.set_virtual_machine_interface(port)
        iip.set_virtual_network(vn)
        vnc.instance_ip_create(iip)
        got.append(vnc.instance_ip_read(id=iip.uuid).get_instance_ip_address())
    assert got == ["22.2.2.2", "22.2.2.1"]
