"""Per-resource rules of Contrail's api-server (its resources/*.py), through the real `vnc_api`
client, each refusal with the exception class Contrail's answer maps to."""

import base64

import pytest
from vnc_api.exceptions import BadRequest, PermissionDenied, RefsExistError
from vnc_api.gen.resource_xsd import (ActionAsPathType, ActionListType, ActionUpdateType,
                                      AddressType, AllowedAddressPair, AllowedAddressPairs,
                                      AsListType, BGPaaServiceParametersType,
                                      BgpSessionAttributes, BridgeDomainMembershipType,
                                      PolicyEntriesType, PolicyRuleType, PolicyStatementType,
                                      PolicyTermType, PortType, QosIdForwardingClassPair,
                                      QosIdForwardingClassPairs, SubnetType,
                                      TermActionListType, UserCredentials,
                                      UserDefinedLogStat, UserDefinedLogStatList,
                                      VirtualMachineInterfacePropertiesType as VMIPT)
from vnc_api.vnc_api import (Bgpvpn, LogicalRouter, VirtualNetworkType)
from vnc_api.vnc_api import (BgpAsAService, BridgeDomain, GlobalSystemConfig, NetworkPolicy,
                             PhysicalRouter, QosConfig, RoutingPolicy, SecurityGroup, SubCluster,
                             VirtualMachineInterface, VirtualNetwork)

from test_objects import make_vn


def vmi(vnc, project, vn, name, **kw):
    obj = VirtualMachineInterface(name, parent_obj=project, **kw)
    obj.set_virtual_network(vn)
    return obj


def test_sub_interface_vlan_tags(vnc, project, name):
    vn = make_vn(vnc, project, name)
    for tag, ok in [(-42, False), (4095, False), ("42", True), (42, True), (None, True)]:
        port = vmi(vnc, project, vn, f"{name}-t{tag}", virtual_machine_interface_properties=VMIPT(
            sub_interface_vlan_tag=tag))
        if ok:
            vnc.virtual_machine_interface_create(port)
            vnc.virtual_machine_interface_delete(id=port.uuid)
        else:
            with pytest.raises(BadRequest, match="Invalid sub-interface VLAN tag ID"):
                vnc.virtual_machine_interface_create(port)
    primary = vmi(vnc, project, vn, name + "-p")
    vnc.virtual_machine_interface_create(primary)
    sub42 = vmi(vnc, project, vn, name + "-42", virtual_machine_interface_properties=VMIPT(
        sub_interface_vlan_tag=42))
    sub42.set_virtual_machine_interface(primary)
    vnc.virtual_machine_interface_create(sub42)
    twin = vmi(vnc, project, vn, name + "-twin", virtual_machine_interface_properties=VMIPT(
        sub_interface_vlan_tag=42))
    twin.set_virtual_machine_interface(primary)
    with pytest.raises(BadRequest, match="same primary port can't have same Vlan tag"):
        vnc.virtual_machine_interface_create(twin)
    nested = vmi(vnc, project, vn, name + "-n", virtual_machine_interface_properties=VMIPT(
        sub_interface_vlan_tag=7))
    nested.set_virtual_machine_interface(sub42)
    with pytest.raises(BadRequest, match="can't have another sub interface as it's primary port"):
        vnc.virtual_machine_interface_create(nested)
    # The tag of a sub-interface is fixed; other fields still change.
    sub42.set_display_name("renamed")
    vnc.virtual_machine_interface_update(sub42)
    sub42.set_virtual_machine_interface_properties(VMIPT(sub_interface_vlan_tag=43))
    with pytest.raises(BadRequest, match="Cannot change sub-interface VLAN tag ID"):
        vnc.virtual_machine_interface_update(sub42)
    sub42.set_virtual_machine_interface_properties(VMIPT(sub_interface_vlan_tag=42))
    vnc.virtual_machine_interface_update(sub42)


def test_allowed_address_pairs(vnc, project, name):
    vn = make_vn(vnc, project, name)
    pairs = lambda prefix, plen, mode=None: AllowedAddressPairs(allowed_address_pair=[
        AllowedAddressPair(ip=SubnetType(prefix, plen), mac="02:ce:1b:d7:a6:e7", address_mode=mode)])
    port = vmi(vnc, project, vn, name + "-ps", port_security_enabled=False,
               virtual_machine_interface_allowed_address_pairs=pairs("1.1.1.0", 24))
    with pytest.raises(BadRequest, match="Allowed address pairs are not allowed when port security is disabled"):
        vnc.virtual_machine_interface_create(port)
    port = vmi(vnc, project, vn, name + "-ps", port_security_enabled=False)
    vnc.virtual_machine_interface_create(port)
    port.set_virtual_machine_interface_allowed_address_pairs(pairs("1.1.1.0", 24))
    with pytest.raises(BadRequest, match="port security is disabled"):
        vnc.virtual_machine_interface_update(port)
    for prefix, plen, msg in [("10.0.0.0", 16, "IPv4 Prefix length lesser than 24"),
                              ("fd00::", 64, "IPv6 Prefix length lesser than 120"),
                              (" 10.0.0.1", 32, "is not an IP address")]:
        bad = vmi(vnc, project, vn, name + "-aap", virtual_machine_interface_allowed_address_pairs=pairs(
            prefix, plen, "active-standby"))
        with pytest.raises(BadRequest, match=msg):
            vnc.virtual_machine_interface_create(bad)
    fine = vmi(vnc, project, vn, name + "-ok", virtual_machine_interface_allowed_address_pairs=pairs(
        "10.0.0.0", 16, "active-active"))
    vnc.virtual_machine_interface_create(fine)


def test_physical_router_password_is_stored_encrypted(controller, vnc, name):
    import requests
    pr = PhysicalRouter(name, physical_router_management_ip="192.0.2.1",
                        physical_router_vendor_name="juniper", physical_router_product_name="qfx",
                        physical_router_device_family="junos-qfx",
                        physical_router_user_credentials=UserCredentials("root", "s3cret-pw"))
    vnc.physical_router_create(pr)
    raw = requests.get(f"{controller.url}/physical-router/{pr.uuid}").text
    assert "s3cret-pw" not in raw
    got = vnc.physical_router_read(id=pr.uuid)
    stored = got.get_physical_router_user_credentials().password
    assert got.get_physical_router_encryption_type() == "local"
    assert len(base64.b64decode(stored)) == 16 and stored != "s3cret-pw"
    # Sending the stored ciphertext back does not encrypt it again; a new password is encrypted.
    got.set_display_name("renamed")
    vnc.physical_router_update(got)
    assert vnc.physical_router_read(id=pr.uuid).get_physical_router_user_credentials().password == stored
    got.set_physical_router_user_credentials(UserCredentials("root", "other-pw"))
    vnc.physical_router_update(got)
    again = vnc.physical_router_read(id=pr.uuid).get_physical_router_user_credentials().password
    assert again not in (stored, "other-pw")
    rma = PhysicalRouter(name + "-rma", physical_router_management_ip="192.0.2.2",
                         physical_router_vendor_name="juniper", physical_router_product_name="qfx",
                         physical_router_device_family="junos-qfx",
                         physical_router_managed_state="rma")
    with pytest.raises(BadRequest, match="Managed state cannot be rma"):
        vnc.physical_router_create(rma)


def test_sub_cluster_asn_is_fixed(vnc, name):
    sc = SubCluster(name, sub_cluster_asn=64601)
    vnc.sub_cluster_create(sc)
    sc.set_sub_cluster_asn(64602)
    with pytest.raises(BadRequest, match="Sub cluster ASN can not be modified"):
        vnc.sub_cluster_update(sc)


def test_routing_policy_asn_and_term_type(vnc, project, name):
    def policy(n, asns, term_type=None):
        term = PolicyTermType(term_action_list=TermActionListType(update=ActionUpdateType(
            as_path=ActionAsPathType(expand=AsListType(asn_list=asns)))))
        return RoutingPolicy(n, project, routing_policy_entries=PolicyStatementType(term=[term]),
                             term_type=term_type)
    gsc = vnc.global_system_config_read(fq_name=["default-global-system-config"])
    with pytest.raises(BadRequest, match="ASN can't be same as global system config asn"):
        vnc.routing_policy_create(policy(name, [gsc.get_autonomous_system()]))
    rp = policy(name, [65001], "vrouter")
    vnc.routing_policy_create(rp)
    rp.set_term_type("network-device")
    with pytest.raises(PermissionDenied, match="Cannot change term_type"):
        vnc.routing_policy_update(rp)


def test_routing_policy_community_patterns(vnc, project, name):
    """Contrail's `_validate_communityattribute_type`: number:number, either side a wildcard."""
    from vnc_api.gen.resource_xsd import ActionCommunityType, CommunityListType

    def policy(n, communities):
        term = PolicyTermType(term_action_list=TermActionListType(update=ActionUpdateType(
            community=ActionCommunityType(add=CommunityListType(community=communities)))))
        return RoutingPolicy(n, project, routing_policy_entries=PolicyStatementType(term=[term]))
    good = ["*:*", "*:.*", ".*:*", "123:*", "123:.*", "*:123", ".*:123", ".*:.*", "no-export"]
    vnc.routing_policy_create(policy(name, good))
    got = vnc.routing_policy_read(fq_name=project.get_fq_name() + [name])
    term = got.get_routing_policy_entries().get_term()[0]
    assert term.get_term_action_list().get_update().get_community().get_add().get_community() == good
    for bad in ["a:b", "65536:*", "123"]:
        with pytest.raises(BadRequest, match="community"):
            vnc.routing_policy_create(policy(name + "-bad", [bad]))


def test_qos_config_code_points(vnc, project, name):
    def qos(n, **entries):
        return QosConfig(n, project, qos_config_type="project", default_forwarding_class_id=0, **{
            k: QosIdForwardingClassPairs([QosIdForwardingClassPair(key=v, forwarding_class_id=1)])
            for k, v in entries.items()})
    for field, value, label in [("dscp_entries", 64, "DSCP"), ("vlan_priority_entries", 8, "802.1p"),
                                ("mpls_exp_entries", 8, "MPLS EXP")]:
        with pytest.raises(BadRequest, match=f"Invalid {label} value {value}"):
            vnc.qos_config_create(qos(name + field, **{field: value}))
    vnc.qos_config_create(qos(name, dscp_entries=63, vlan_priority_entries=7, mpls_exp_entries=7))


def test_bridge_domain_one_per_network_and_port_links(vnc, project, name):
    vn = make_vn(vnc, project, name)
    bd = BridgeDomain(name + "-bd", parent_obj=vn, isid=100)
    vnc.bridge_domain_create(bd)
    with pytest.raises(BadRequest, match="can have only one bridge domain"):
        vnc.bridge_domain_create(BridgeDomain(name + "-bd2", parent_obj=vn, isid=101))
    other = make_vn(vnc, project, name + "-o", prefix="10.9.0.0")
    port = vmi(vnc, project, other, name + "-p")
    port.add_bridge_domain(bd, BridgeDomainMembershipType(vlan_tag=0))
    with pytest.raises(BadRequest, match="can only refer to bridge domain belonging to virtual network"):
        vnc.virtual_machine_interface_create(port)
    port = vmi(vnc, project, vn, name + "-p")
    port.add_bridge_domain(bd, BridgeDomainMembershipType(vlan_tag=0))
    vnc.virtual_machine_interface_create(port)


def test_bgpaas_sharing(vnc, project, name):
    def bgpaas(n, **kw):
        return BgpAsAService(n, project, autonomous_system=65010,
                             bgpaas_session_attributes=BgpSessionAttributes(), **kw)
    with pytest.raises(BadRequest, match="BGPaaS IP Address needs to be configured if BGPaaS is shared"):
        vnc.bgp_as_a_service_create(bgpaas(name + "-s", bgpaas_shared=True))
    b = bgpaas(name, bgpaas_ip_address="10.0.0.9")
    vnc.bgp_as_a_service_create(b)
    b.set_bgpaas_shared(True)
    with pytest.raises(BadRequest, match="BGPaaS sharing cannot be modified"):
        vnc.bgp_as_a_service_update(b)


def test_global_config_bgpaas_ports_and_log_patterns(vnc, project, name):
    gsc = vnc.global_system_config_read(fq_name=["default-global-system-config"])
    gsc.set_bgpaas_parameters(BGPaaServiceParametersType(port_start=50600, port_end=50500))
    with pytest.raises(BadRequest, match="Invalid Port range specified"):
        vnc.global_system_config_update(gsc)
    # With a BGPaaS session configured, the range can grow but not shrink.
    vnc.bgp_as_a_service_create(BgpAsAService(name, project, autonomous_system=65010,
                                              bgpaas_ip_address="10.0.0.9",
                                              bgpaas_session_attributes=BgpSessionAttributes()))
    gsc.set_bgpaas_parameters(BGPaaServiceParametersType(port_start=50100, port_end=50512))
    with pytest.raises(BadRequest, match="BGP Port range cannot be shrunk"):
        vnc.global_system_config_update(gsc)
    gsc.set_bgpaas_parameters(BGPaaServiceParametersType(port_start=49000, port_end=50600))
    vnc.global_system_config_update(gsc)
    gsc = vnc.global_system_config_read(fq_name=["default-global-system-config"])
    gsc.set_user_defined_log_statistics(UserDefinedLogStatList([UserDefinedLogStat("bad", "a(b")]))
    with pytest.raises(BadRequest, match="Regex error in user-defined-log-statistics at bad"):
        vnc.global_system_config_update(gsc)
    gsc = vnc.global_system_config_read(fq_name=["default-global-system-config"])
    with pytest.raises(BadRequest, match="Regex error"):
        # The prop-collection path is checked too.
        vnc.prop_map_set_element(gsc.uuid, "user_defined_log_statistics",
                                 {"name": "bad2", "pattern": "[x"})
    gsc.set_user_defined_log_statistics(UserDefinedLogStatList([UserDefinedLogStat("ok", "fail.*login")]))
    vnc.global_system_config_update(gsc)


def test_policy_rules(vnc, project, name):
    def rule(src, dst, proto="tcp", action=None, ethertype="IPv4"):
        return PolicyRuleType(direction=">", protocol=proto, ethertype=ethertype,
                              src_addresses=[src], dst_addresses=[dst],
                              src_ports=[PortType(0, 65535)], dst_ports=[PortType(0, 65535)],
                              action_list=action)
    local, anyg = AddressType(security_group="local"), AddressType(security_group="any")
    sg = lambda n, rules: SecurityGroup(n, project, security_group_entries=PolicyEntriesType(rules))
    with pytest.raises(BadRequest, match="At least one of source or destination addresses must be 'local'"):
        vnc.security_group_create(sg(name + "-1", [rule(anyg, anyg)]))
    with pytest.raises(BadRequest, match="Rule with invalid protocol : bogus"):
        vnc.security_group_create(sg(name + "-2", [rule(local, anyg, proto="bogus")]))
    with pytest.raises(BadRequest, match="doesn't match ethertype IPv6"):
        vnc.security_group_create(sg(name + "-3", [rule(
            local, AddressType(subnet=SubnetType("10.0.0.0", 8)), ethertype="IPv6")]))
    with pytest.raises(RefsExistError, match="Rule already exists"):
        vnc.security_group_create(sg(name + "-4", [rule(local, anyg), rule(local, anyg)]))
    vnc.security_group_create(sg(name, [rule(local, anyg, proto="6")]))
    got = vnc.security_group_read(id=vnc.fq_name_to_id("security-group", project.get_fq_name() + [name]))
    assert got.get_security_group_entries().policy_rule[0].rule_uuid
    vn = AddressType(virtual_network="any")
    np = lambda n, rules: NetworkPolicy(n, project, network_policy_entries=PolicyEntriesType(rules))
    with pytest.raises(BadRequest, match="policy rule refering to security group is not allowed"):
        vnc.network_policy_create(np(name + "-a", [rule(local, vn, action=ActionListType(simple_action="pass"))]))
    with pytest.raises(BadRequest, match="Action is required"):
        vnc.network_policy_create(np(name + "-b", [rule(vn, vn)]))
    vnc.network_policy_create(np(name, [rule(vn, vn, action=ActionListType(simple_action="pass"))]))


def test_bgpvpn_associations(vnc, project, name):
    l2 = Bgpvpn(name + "-l2", project, bgpvpn_type="l2")
    l3 = Bgpvpn(name + "-l3", project, bgpvpn_type="l3")
    vnc.bgpvpn_create(l2)
    vnc.bgpvpn_create(l3)
    vn = make_vn(vnc, project, name)
    vn.set_virtual_network_properties(VirtualNetworkType(forwarding_mode="l3"))
    vn.set_bgpvpn_list([l2])
    with pytest.raises(BadRequest, match="Cannot associate bgpvpn type 'l2' with a virtual network in forwarding mode 'l3'"):
        vnc.virtual_network_update(vn)
    vn.set_bgpvpn_list([l2, l3])
    with pytest.raises(BadRequest, match="Cannot associate different bgpvpn types"):
        vnc.virtual_network_update(vn)
    # A router takes only l3 BGPVPNs.
    port = vmi(vnc, project, vn, name + "-rp")
    vnc.virtual_machine_interface_create(port)
    lr = LogicalRouter(name + "-lr", project)
    lr.add_virtual_machine_interface(port)
    lr.set_bgpvpn_list([l2])
    with pytest.raises(BadRequest, match="Only bgpvpn type 'l3' can be associated to a logical router"):
        vnc.logical_router_create(lr)
    lr.set_bgpvpn_list([l3])
    vnc.logical_router_create(lr)
    # The network of that router cannot take a BGPVPN of its own, nor the router one more when
    # its network has one.
    vn = vnc.virtual_network_read(id=vn.uuid)
    vn.set_bgpvpn_list([l3])
    with pytest.raises(BadRequest, match="is linked to a logical router which is associated to bgpvpn"):
        vnc.virtual_network_update(vn)
    lr.set_bgpvpn_list([])
    vnc.logical_router_update(lr)
    vnc.virtual_network_update(vn)
    lr.set_bgpvpn_list([l3])
    with pytest.raises(BadRequest, match="is linked to virtual network\\(s\\) which is/are associated to bgpvpn"):
        vnc.logical_router_update(lr)


def test_mac_addresses_normalised_or_allocated(vnc, project, name):
    from vnc_api.gen.resource_xsd import MacAddressesType
    vn = make_vn(vnc, project, name)
    for i, macs in enumerate([["02:ce:1b:d7:a6:e7"], ["02-ce-1b-d7-a6-e8"],
                              ["02:ce:1b:d7:a6:e9", "02-ce-1b-d7-a6-f1"], [], None]):
        port = vmi(vnc, project, vn, f"{name}-{i}")
        port.set_virtual_machine_interface_mac_addresses(MacAddressesType(macs))
        vnc.virtual_machine_interface_create(port)
        got = vnc.virtual_machine_interface_read(id=port.uuid) \
            .get_virtual_machine_interface_mac_addresses().get_mac_address()
        if macs:
            assert sorted(got) == sorted(m.replace("-", ":") for m in macs)
        else:
            assert len(got) == 1
        assert "00:00:00:00:00:00" not in got


def bgp_router(vnc, name, **params):
    from vnc_api.gen.resource_xsd import BgpRouterParams
    from vnc_api.vnc_api import BgpRouter
    fabric = vnc.routing_instance_read(
        fq_name=["default-domain", "default-project", "ip-fabric", "__default__"])
    params.setdefault("router_type", "external-control-node")
    params.setdefault("address", "192.0.2.1")
    params.setdefault("identifier", "192.0.2.1")
    return BgpRouter(name, fabric, bgp_router_parameters=BgpRouterParams(**params))


def test_bgp_router_asn_follows_its_sub_cluster(vnc, name):
    first = SubCluster(name + "-1", sub_cluster_asn=64514)
    second = SubCluster(name + "-2", sub_cluster_asn=64515)
    vnc.sub_cluster_create(first)
    vnc.sub_cluster_create(second)
    router = bgp_router(vnc, name, autonomous_system=64515)
    router.add_sub_cluster(first)
    with pytest.raises(BadRequest, match="Subcluster asn and bgp asn should be same"):
        vnc.bgp_router_create(router)
    router.get_bgp_router_parameters().set_autonomous_system(64514)
    vnc.bgp_router_create(router)
    router = vnc.bgp_router_read(id=router.uuid)
    params = router.get_bgp_router_parameters()
    params.set_autonomous_system(64515)
    router.set_bgp_router_parameters(params)
    with pytest.raises(BadRequest, match="Subcluster asn and bgp asn should be same"):
        vnc.bgp_router_update(router)
    # Moving to the sub-cluster of the new ASN is fine, and so is leaving it.
    router.set_sub_cluster(second)
    vnc.bgp_router_update(router)
    router = vnc.bgp_router_read(id=router.uuid)
    router.del_sub_cluster(second)
    vnc.bgp_router_update(router)
    assert not vnc.bgp_router_read(id=router.uuid).get_sub_cluster_refs()
    vnc.bgp_router_delete(id=router.uuid)


@pytest.mark.parametrize("params", [{"hold_time": 2}, {"hold_time": 65536},
                                    {"autonomous_system": 70000},
                                    {"local_autonomous_system": 65536}])
def test_bgp_router_hold_time_and_asn_ranges(vnc, name, params):
    with pytest.raises(BadRequest):
        vnc.bgp_router_create(bgp_router(vnc, name, **params))
    ok = bgp_router(vnc, name, hold_time=0, autonomous_system=65000)
    vnc.bgp_router_create(ok)
    params = ok.get_bgp_router_parameters()
    params.set_hold_time(90)
    ok.set_bgp_router_parameters(params)
    vnc.bgp_router_update(ok)
    params.set_hold_time(1)
    ok.set_bgp_router_parameters(params)
    with pytest.raises(BadRequest, match="Hold Time"):
        vnc.bgp_router_update(ok)
    vnc.bgp_router_delete(id=ok.uuid)


def test_bgp_router_control_node_zones(vnc, name):
    from vnc_api.vnc_api import ControlNodeZone
    zones = [ControlNodeZone(f"{name}-{i}") for i in range(2)]
    for z in zones:
        vnc.control_node_zone_create(z)
    edge = bgp_router(vnc, name)
    edge.add_control_node_zone(zones[0])
    with pytest.raises(BadRequest, match="should be 'control-node'"):
        vnc.bgp_router_create(edge)
    node = bgp_router(vnc, name, router_type="control-node")
    node.set_control_node_zone_list(zones)
    with pytest.raises(BadRequest, match="only one control-node-zone"):
        vnc.bgp_router_create(node)
    node.set_control_node_zone(zones[0])
    vnc.bgp_router_create(node)
    vnc.bgp_router_delete(id=node.uuid)


def test_bgpaas_hold_time_and_asn_ranges(vnc, project, name):
    def bgpaas(n, asn=65010, **session):
        return BgpAsAService(n, project, autonomous_system=asn,
                             bgpaas_session_attributes=BgpSessionAttributes(**session))
    for i, (asn, session) in enumerate([(65010, {"hold_time": 1}), (65010, {"hold_time": 70000}),
                                        (65536, {}),
                                        (65010, {"local_autonomous_system": 65536})]):
        with pytest.raises(BadRequest):
            vnc.bgp_as_a_service_create(bgpaas(f"{name}-{i}", asn, **session))
    b = bgpaas(name, hold_time=0)
    vnc.bgp_as_a_service_create(b)
    session = b.get_bgpaas_session_attributes()
    session.set_hold_time(2)
    b.set_bgpaas_session_attributes(session)
    with pytest.raises(BadRequest, match="Hold Time"):
        vnc.bgp_as_a_service_update(b)
    session.set_hold_time(3)
    b.set_bgpaas_session_attributes(session)
    vnc.bgp_as_a_service_update(b)
    b.set_autonomous_system(70000)
    with pytest.raises(BadRequest, match="ASN out of range"):
        vnc.bgp_as_a_service_update(b)


def test_sub_cluster_ids(vnc, name):
    import random
    auto = SubCluster(name + "-auto", sub_cluster_asn=64700)
    vnc.sub_cluster_create(auto)
    taken = vnc.sub_cluster_read(id=auto.uuid).get_sub_cluster_id()
    assert taken >= 1
    with pytest.raises(BadRequest, match="already used"):
        vnc.sub_cluster_create(SubCluster(name + "-dup", sub_cluster_asn=64701, sub_cluster_id=taken))
    with pytest.raises(BadRequest):
        vnc.sub_cluster_create(SubCluster(name + "-zero", sub_cluster_asn=64701, sub_cluster_id=0))
    first, second = random.sample(range(100_000, 1_000_000_000), 2)
    chosen = SubCluster(name + "-chosen", sub_cluster_asn=64702, sub_cluster_id=first)
    vnc.sub_cluster_create(chosen)
    assert vnc.sub_cluster_read(id=chosen.uuid).get_sub_cluster_id() == first
    # An update that names no id keeps it; one that names a free id moves it and frees the old.
    chosen = vnc.sub_cluster_read(id=chosen.uuid)
    chosen.set_display_name("renamed")
    vnc.sub_cluster_update(chosen)
    assert vnc.sub_cluster_read(id=chosen.uuid).get_sub_cluster_id() == first
    chosen.set_sub_cluster_id(taken)
    with pytest.raises(BadRequest, match="already used"):
        vnc.sub_cluster_update(chosen)
    chosen.set_sub_cluster_id(second)
    vnc.sub_cluster_update(chosen)
    assert vnc.sub_cluster_read(id=chosen.uuid).get_sub_cluster_id() == second
    reuse = SubCluster(name + "-reuse", sub_cluster_asn=64703, sub_cluster_id=first)
    vnc.sub_cluster_create(reuse)
    # A delete frees the id.
    vnc.sub_cluster_delete(id=chosen.uuid)
    again = SubCluster(name + "-again", sub_cluster_asn=64704, sub_cluster_id=second)
    vnc.sub_cluster_create(again)
    for sc in (auto, reuse, again):
        vnc.sub_cluster_delete(id=sc.uuid)


def test_same_vlan_tag_under_primaries_on_different_networks(vnc, project, name):
    vn1 = make_vn(vnc, project, name + "-1")
    vn2 = make_vn(vnc, project, name + "-2", prefix="10.2.0.0")
    subs = []
    for vn in (vn1, vn2):
        primary = vmi(vnc, project, vn, vn.name + "-p")
        vnc.virtual_machine_interface_create(primary)
        sub = vmi(vnc, project, vn, vn.name + "-256", virtual_machine_interface_properties=VMIPT(
            sub_interface_vlan_tag=256))
        sub.set_virtual_machine_interface(primary)
        vnc.virtual_machine_interface_create(sub)
        subs.append(sub)
    got = [vnc.virtual_machine_interface_read(id=s.uuid) for s in subs]
    assert [g.get_virtual_machine_interface_properties().sub_interface_vlan_tag for g in got] == \
        [256, 256]
