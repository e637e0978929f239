"""CRUD, defaults and listing through the real vnc_api client."""

import threading

import pytest
import requests
from vnc_api.exceptions import BadRequest, NoIdError, PermissionDenied, RefsExistError
from vnc_api.gen.resource_xsd import (IpamSubnetType, PolicyEntriesType, PolicyRuleType,
                                      AddressType, PortType, ActionListType, SubnetType,
                                      VirtualNetworkType, VnSubnetsType, RouteTargetList,
                                      BgpRouterParams, FirewallRuleEndpointType,
                                      FirewallSequence, FirewallServiceType)
from vnc_api.vnc_api import (ApplicationPolicySet, FirewallPolicy, FirewallRule, InstanceIp,
                             NetworkIpam, NetworkPolicy, SecurityGroup, Tag, VirtualMachine,
                             VirtualMachineInterface, VirtualNetwork, BgpRouter, RouteTarget)


def test_defaults_exist(vnc):
    assert vnc.domain_read(fq_name=["default-domain"]).uuid
    assert vnc.project_read(fq_name=["default-domain", "default-project"]).uuid
    gsc = vnc.global_system_config_read(fq_name=["default-global-system-config"])
    assert gsc.get_autonomous_system() == 64512
    vnc.global_vrouter_config_read(
        fq_name=["default-global-system-config", "default-global-vrouter-config"])
    vnc.network_ipam_read(fq_name=["default-domain", "default-project", "default-network-ipam"])
    vnc.virtual_network_read(fq_name=["default-domain", "default-project", "default-virtual-network"])
    vnc.virtual_network_read(fq_name=["default-domain", "default-project", "__link_local__"])
    ri = vnc.routing_instance_read(
        fq_name=["default-domain", "default-project", "ip-fabric", "__default__"])
    assert ri.get_routing_instance_is_default() is True
    aps = vnc.application_policy_set_read(
        fq_name=["default-policy-management", "default-application-policy-set"])
    assert aps.parent_type == "policy-management"
    vnc.security_group_read(fq_name=["default-domain", "default-project", "__no_rule__"])
    types = {t["fq_name"][0] for t in vnc.tag_types_list()["tag-types"]}
    assert {"label", "application", "tier", "deployment", "site"} <= types


def make_vn(vnc, project, name, prefix="10.1.0.0", plen=24, **kw):
    ipam = vnc.network_ipam_read(fq_name=["default-domain", "default-project", "default-network-ipam"])
    vn = VirtualNetwork(name, parent_obj=project)
    vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType(prefix, plen), **kw)]))
    vnc.virtual_network_create(vn)
    return vnc.virtual_network_read(id=vn.uuid)


def test_virtual_network_lifecycle(vnc, project, name):
    vn = make_vn(vnc, project, name)
    assert vn.get_fq_name() == project.get_fq_name() + [name]
    assert vn.parent_type == "project" and vn.parent_uuid == project.uuid
    net_id = vn.get_virtual_network_network_id()
    assert isinstance(net_id, int) and net_id >= 1
    subnet = vn.get_network_ipam_refs()[0]["attr"].ipam_subnets[0]
    assert subnet.default_gateway == "10.1.0.254" and subnet.dns_server_address == "10.1.0.253"
    assert subnet.subnet_uuid
    # The primary routing instance is created with the network.
    ri = vnc.routing_instance_read(fq_name=vn.get_fq_name() + [name])
    assert ri.parent_uuid == vn.uuid
    # Update a property and read it back.
    vn.set_virtual_network_properties(VirtualNetworkType(forwarding_mode="l3", vxlan_network_identifier=5000))
    vn.set_route_target_list(RouteTargetList(["target:64512:7000"]))
    vnc.virtual_network_update(vn)
    again = vnc.virtual_network_read(id=vn.uuid)
    assert again.get_virtual_network_properties().forwarding_mode == "l3"
    assert again.get_route_target_list().route_target == ["target:64512:7000"]
    assert again.get_virtual_network_network_id() == net_id
    # Children and back refs are served on request.
    full = vnc.virtual_network_read(id=vn.uuid, fields=["routing_instances"])
    assert [r["uuid"] for r in full.get_routing_instances()] == [ri.uuid]
    vnc.virtual_network_delete(id=vn.uuid)
    with pytest.raises(NoIdError):
        vnc.virtual_network_read(id=vn.uuid)
    with pytest.raises(NoIdError):
        vnc.routing_instance_read(id=ri.uuid)


def test_network_id_is_server_allocated(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vn.set_virtual_network_network_id(42)
    with pytest.raises(PermissionDenied):
        vnc.virtual_network_create(vn)
    a = make_vn(vnc, project, name + "a")
    b = make_vn(vnc, project, name + "b", prefix="10.2.0.0")
    assert a.get_virtual_network_network_id() != b.get_virtual_network_network_id()
    b.set_virtual_network_network_id(a.get_virtual_network_network_id())
    with pytest.raises(PermissionDenied):
        vnc.virtual_network_update(b)


def test_security_group_id_and_vmi_mac(vnc, project, name):
    sg = SecurityGroup(name, parent_obj=project)
    vnc.security_group_create(sg)
    sg = vnc.security_group_read(id=sg.uuid)
    assert sg.get_security_group_id() >= 8000000
    vn = make_vn(vnc, project, name)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    vmi.add_security_group(sg)
    vnc.virtual_machine_interface_create(vmi)
    vmi = vnc.virtual_machine_interface_read(id=vmi.uuid)
    macs = vmi.get_virtual_machine_interface_mac_addresses().mac_address
    assert len(macs) == 1 and macs[0].startswith("02:")
    # The VMI's refs show up as back refs on the network.
    vn = vnc.virtual_network_read(id=vn.uuid, fields=["virtual_machine_interface_back_refs"])
    assert [r["uuid"] for r in vn.get_virtual_machine_interface_back_refs()] == [vmi.uuid]


def test_duplicate_fq_name_is_409(vnc, project, name):
    make_vn(vnc, project, name)
    with pytest.raises(RefsExistError):
        make_vn(vnc, project, name, prefix="10.9.0.0")


def test_concurrent_creates_of_one_name_one_wins(controller, project, name):
    results = []
    body = {"virtual-network": {"fq_name": project.get_fq_name() + [name], "parent_type": "project"}}

    def create():
        r = requests.post(controller.url + "/virtual-networks", json=body, timeout=30)
        results.append(r.status_code)

    threads = [threading.Thread(target=create) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 11


def test_delete_refused_while_children_or_refs_exist(vnc, project, name):
    vn = make_vn(vnc, project, name)
    with pytest.raises(RefsExistError) as e:
        vnc.project_delete(id=project.uuid)
    assert name in str(e.value)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    with pytest.raises(RefsExistError) as e:
        vnc.virtual_network_delete(id=vn.uuid)
    assert "virtual-machine-interface" in str(e.value)
    # A relaxed ref no longer blocks the delete.
    vnc.ref_relax_for_delete(vmi.uuid, vn.uuid)
    vnc.virtual_network_delete(id=vn.uuid)


def test_listing(vnc, project, name):
    vns = [make_vn(vnc, project, f"{name}-{i}", prefix=f"10.{i}.0.0") for i in range(3)]
    listed = vnc.virtual_networks_list(parent_id=project.uuid)["virtual-networks"]
    assert sorted(v["uuid"] for v in listed) == sorted(v.uuid for v in vns)
    assert all(v["href"].endswith(v["uuid"]) for v in listed)
    by_name = vnc.virtual_networks_list(parent_fq_name=project.get_fq_name())["virtual-networks"]
    assert len(by_name) == 3
    detail = vnc.virtual_networks_list(parent_id=project.uuid, detail=True)
    assert sorted(v.name for v in detail) == sorted(v.name for v in vns)
    count = vnc.virtual_networks_list(parent_id=project.uuid, count=True)
    assert count["virtual-networks"]["count"] == 3
    some = vnc.virtual_networks_list(obj_uuids=[vns[0].uuid, vns[2].uuid])["virtual-networks"]
    assert sorted(v["uuid"] for v in some) == sorted([vns[0].uuid, vns[2].uuid])
    fq = vnc.virtual_networks_list(fq_names=[vns[1].get_fq_name()])["virtual-networks"]
    assert [v["uuid"] for v in fq] == [vns[1].uuid]
    filtered = vnc.virtual_networks_list(
        parent_id=project.uuid, filters={"display_name": f"{name}-1"})["virtual-networks"]
    assert [v["uuid"] for v in filtered] == [vns[1].uuid]
    with_fields = vnc.virtual_networks_list(parent_id=project.uuid, fields=["virtual_network_network_id"])
    assert all("virtual_network_network_id" in v for v in with_fields["virtual-networks"])
    ipam_uuid = vnc.network_ipam_read(
        fq_name=["default-domain", "default-project", "default-network-ipam"]).uuid
    refs = vnc.virtual_networks_list(back_ref_id=[ipam_uuid], parent_id=None)["virtual-networks"]
    assert {v.uuid for v in vns} <= {r["uuid"] for r in refs}


def test_paging(controller, vnc, project, name):
    for i in range(5):
        make_vn(vnc, project, f"{name}-{i}", prefix=f"10.{i}.0.0")
    seen, marker = [], None
    for _ in range(10):
        params = {"parent_id": project.uuid, "page_limit": 2}
        if marker:
            params["page_marker"] = marker
        r = requests.get(controller.url + "/virtual-networks", params=params).json()
        seen += [v["uuid"] for v in r["virtual-networks"]]
        marker = r["marker"]
        if not marker:
            break
    all_uuids = [v["uuid"] for v in vnc.virtual_networks_list(parent_id=project.uuid)["virtual-networks"]]
    # parent_id narrows the candidates; paging walks them without loss or repetition.
    assert sorted(seen) == sorted(all_uuids) and len(seen) == 5


def test_many_types_round_trip(vnc, project, name):
    """One object of each of the eight kinds the issue names, created with props and refs, and
    each read back by id: its name and parent, the props and the refs (with their attributes) sent."""
    pol = NetworkPolicy(name, parent_obj=project, network_policy_entries=PolicyEntriesType([
        PolicyRuleType(direction="<>", protocol="tcp",
                       src_addresses=[AddressType(virtual_network="any")],
                       dst_addresses=[AddressType(virtual_network="any")],
                       src_ports=[PortType(-1, -1)], dst_ports=[PortType(80, 80)],
                       action_list=ActionListType(simple_action="pass"))]))
    vnc.network_policy_create(pol)
    got = vnc.network_policy_read(id=pol.uuid)
    assert (got.get_fq_name(), got.parent_uuid) == (project.get_fq_name() + [name], project.uuid)
    rule = got.get_network_policy_entries().policy_rule[0]
    assert (rule.direction, rule.protocol, rule.src_addresses[0].virtual_network,
            rule.dst_addresses[0].virtual_network, rule.src_ports[0].start_port,
            rule.dst_ports[0].start_port, rule.dst_ports[0].end_port,
            rule.action_list.simple_action) == ("<>", "tcp", "any", "any", -1, 80, 80, "pass")

    vm = VirtualMachine(name, server_type="container", display_name=name + " vm")
    vnc.virtual_machine_create(vm)
    got = vnc.virtual_machine_read(id=vm.uuid)
    assert (got.get_fq_name(), got.get_server_type(), got.get_display_name()) == \
        ([name], "container", name + " vm")

    tag = Tag(tag_type_name="application", tag_value=name, parent_obj=project)
    vnc.tag_create(tag)
    got = vnc.tag_read(id=tag.uuid)
    app = vnc.tag_type_read(fq_name=["application"])
    assert (got.get_tag_type_name(), got.get_tag_value(), got.parent_uuid) == \
        ("application", name, project.uuid)
    # tag_id: the tag type's id in the high 16 bits, the value's in the low 16.
    assert int(got.get_tag_id(), 16) >> 16 == int(app.get_tag_type_id(), 16)
    assert [r["uuid"] for r in got.get_tag_type_refs()] == [app.uuid]

    fr = FirewallRule(name, parent_obj=project, direction="<>",
                      action_list=ActionListType(simple_action="deny"),
                      service=FirewallServiceType(protocol="tcp", dst_ports=PortType(443, 443)),
                      endpoint_1=FirewallRuleEndpointType(any=True),
                      endpoint_2=FirewallRuleEndpointType(any=True))
    vnc.firewall_rule_create(fr)
    got = vnc.firewall_rule_read(id=fr.uuid)
    assert (got.parent_uuid, got.get_direction(), got.get_action_list().simple_action,
            got.get_service().protocol, got.get_service().dst_ports.start_port,
            got.get_service().dst_ports.end_port, got.get_endpoint_1().any,
            got.get_endpoint_2().any) == (project.uuid, "<>", "deny", "tcp", 443, 443, True, True)

    fp = FirewallPolicy(name, parent_obj=project)
    fp.add_firewall_rule(fr, FirewallSequence(sequence="1.0"))
    vnc.firewall_policy_create(fp)
    got = vnc.firewall_policy_read(id=fp.uuid)
    assert [(r["uuid"], r["attr"].sequence) for r in got.get_firewall_rule_refs()] == [(fr.uuid, "1.0")]

    aps = ApplicationPolicySet(name, parent_obj=project)
    aps.add_firewall_policy(fp, FirewallSequence(sequence="2.0"))
    vnc.application_policy_set_create(aps)
    got = vnc.application_policy_set_read(id=aps.uuid)
    assert got.parent_uuid == project.uuid
    assert [(r["uuid"], r["attr"].sequence) for r in got.get_firewall_policy_refs()] == [(fp.uuid, "2.0")]

    target = "target:64512:%d" % (abs(hash(name)) % 60000 + 1)
    rt = RouteTarget(target)
    vnc.route_target_create(rt)
    assert vnc.route_target_read(id=rt.uuid).get_fq_name() == [target]

    fab = vnc.routing_instance_read(fq_name=["default-domain", "default-project", "ip-fabric", "__default__"])
    br = BgpRouter(name, parent_obj=fab, bgp_router_parameters=BgpRouterParams(
        vendor="gobgp", router_type="router", address="198.18.0.99", identifier="198.18.0.99",
        autonomous_system=65099, port=1179))
    vnc.bgp_router_create(br)
    got = vnc.bgp_router_read(id=br.uuid)
    params = got.get_bgp_router_parameters()
    assert got.parent_uuid == fab.uuid
    assert (params.vendor, params.router_type, params.address, params.identifier,
            params.autonomous_system, params.port) == \
        ("gobgp", "router", "198.18.0.99", "198.18.0.99", 65099, 1179)

    for delete, uuid in [(vnc.bgp_router_delete, br.uuid), (vnc.route_target_delete, rt.uuid),
                         (vnc.application_policy_set_delete, aps.uuid),
                         (vnc.firewall_policy_delete, fp.uuid), (vnc.firewall_rule_delete, fr.uuid),
                         (vnc.tag_delete, tag.uuid), (vnc.virtual_machine_delete, vm.uuid),
                         (vnc.network_policy_delete, pol.uuid)]:
        delete(id=uuid)


def test_instance_ip_and_floating_ip(vnc, project, name):
    from vnc_api.vnc_api import FloatingIp, FloatingIpPool
    vn = make_vn(vnc, project, name, prefix="192.0.2.0", plen=28)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    iip = InstanceIp(name)
    iip.add_virtual_network(vn)
    iip.add_virtual_machine_interface(vmi)
    vnc.instance_ip_create(iip)
    iip = vnc.instance_ip_read(id=iip.uuid)
    # Contrail allocates from the top of the subnet by default, below the gateway (.14) and the
    # service address (.13).
    assert iip.get_instance_ip_address() == "192.0.2.12"
    fixed = InstanceIp(name + "-fixed", instance_ip_address="192.0.2.5")
    fixed.add_virtual_network(vn)
    vnc.instance_ip_create(fixed)
    dup = InstanceIp(name + "-dup", instance_ip_address="192.0.2.5")
    dup.add_virtual_network(vn)
    with pytest.raises(RefsExistError):
        vnc.instance_ip_create(dup)
    outside = InstanceIp(name + "-out", instance_ip_address="198.51.100.1")
    outside.add_virtual_network(vn)
    with pytest.raises(BadRequest):
        vnc.instance_ip_create(outside)
    vnc.instance_ip_delete(id=fixed.uuid)
    again = InstanceIp(name + "-again", instance_ip_address="192.0.2.5")
    again.add_virtual_network(vn)
    vnc.instance_ip_create(again)
    pool = FloatingIpPool(name, parent_obj=vn)
    vnc.floating_ip_pool_create(pool)
    fip = FloatingIp(name, parent_obj=pool)
    fip.add_project(project)
    vnc.floating_ip_create(fip)
    fip = vnc.floating_ip_read(id=fip.uuid)
    assert fip.get_floating_ip_address() == "192.0.2.11"


def test_quota_is_412(vnc, project, name):
    from vnc_api.exceptions import OverQuota
    from vnc_api.gen.resource_xsd import QuotaType
    project.set_quota(QuotaType(virtual_network=1))
    vnc.project_update(project)
    make_vn(vnc, project, name)
    with pytest.raises(OverQuota):
        make_vn(vnc, project, name + "-2", prefix="10.3.0.0")


def test_quota_holds_under_concurrent_creates(controller, vnc, project, name):
    """16 concurrent creates against a quota of 3: exactly 3 land, the rest get 412, and the
    project holds 3 networks (a count taken before the others committed is not trusted)."""
    from vnc_api.gen.resource_xsd import QuotaType
    project.set_quota(QuotaType(virtual_network=3))
    vnc.project_update(project)
    results, lock = [], threading.Lock()

    def create(i):
        body = {"virtual-network": {"fq_name": project.get_fq_name() + [f"{name}-{i}"], "parent_type": "project"}}
        r = requests.post(controller.url + "/virtual-networks", json=body, timeout=30)
        with lock:
            results.append((r.status_code, r.text))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(c for c, _ in results)
    assert codes == [200] * 3 + [412] * 13, results
    assert all("quota exceeded" in m for c, m in results if c == 412)
    vns = vnc.virtual_networks_list(parent_id=project.uuid)["virtual-networks"]
    assert len(vns) == 3


def test_concurrent_address_allocation_is_race_free(controller, vnc, project, name):
    """32 concurrent instance-ips into a /27 (28 usable addresses once network, broadcast,
    gateway and DNS are taken out): every success gets a distinct address, the rest are refused."""
    vn = make_vn(vnc, project, name, prefix="192.0.2.32", plen=27)
    results, lock = [], threading.Lock()

    def create(i):
        body = {"instance-ip": {"fq_name": [f"{name}-{i}"], "virtual_network_refs": [{"uuid": vn.uuid}]}}
        r = requests.post(controller.url + "/instance-ips", json=body, timeout=30)
        with lock:
            results.append((r.status_code, r.json()["instance-ip"]["instance_ip_address"] if r.status_code == 200 else r.text))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [a for s, a in results if s == 200]
    full = [a for s, a in results if s != 200]
    assert len(ok) == 28 and len(set(ok)) == 28
    assert not {"192.0.2.32", "192.0.2.62", "192.0.2.61", "192.0.2.63"} & set(ok)
    assert len(full) == 4 and all("has exhausted subnet" in m for m in full)
