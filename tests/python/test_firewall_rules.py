"""Firewall rules as Contrail's api-server completes and checks them, through the real
`vnc_api` client: service or service groups, protocols and their ids, match tags, one kind of
endpoint, the tag and address-group refs derived from endpoints, and global resources that
refer only to global ones."""

import uuid

import pytest
from vnc_api.exceptions import BadRequest, NoIdError
from vnc_api.gen.resource_xsd import (ActionListType, FirewallRuleEndpointType,
                                      FirewallRuleMatchTagsType, FirewallServiceGroupType,
                                      FirewallServiceType, SubnetListType, SubnetType)
from vnc_api.vnc_api import (AddressGroup, FirewallPolicy, FirewallRule, PolicyManagement,
                             ServiceGroup, Tag)


def rule(parent, name=None, **kw):
    kw.setdefault("action_list", ActionListType(simple_action="pass"))
    kw.setdefault("direction", "<>")
    kw.setdefault("endpoint_1", FirewallRuleEndpointType(any=True))
    kw.setdefault("endpoint_2", FirewallRuleEndpointType(any=True))
    return FirewallRule(name or str(uuid.uuid4()), parent_obj=parent, **kw)


def tcp():
    return FirewallServiceType(protocol="tcp")


def service_group(vnc, parent):
    sg = ServiceGroup(str(uuid.uuid4()), parent_obj=parent,
                      service_group_firewall_service_list=FirewallServiceGroupType(
                          firewall_service=[FirewallServiceType(protocol="udp")]))
    vnc.service_group_create(sg)
    return sg


def test_a_service_or_service_groups(vnc, project):
    with pytest.raises(BadRequest, match="requires at least 'service'"):
        vnc.firewall_rule_create(rule(project))
    both = rule(project, service=tcp())
    both.add_service_group(service_group(vnc, project))
    with pytest.raises(BadRequest, match="cannot have both"):
        vnc.firewall_rule_create(both)
    grouped = rule(project)
    grouped.add_service_group(service_group(vnc, project))
    vnc.firewall_rule_create(grouped)
    grouped = vnc.firewall_rule_read(id=grouped.uuid)
    grouped.set_service(tcp())
    with pytest.raises(BadRequest, match="cannot have both"):
        vnc.firewall_rule_update(grouped)


@pytest.mark.parametrize("protocol,number", [("tcp", 6), ("UDP", 17), ("any", 0),
                                             ("icmp6", 58), ("47", 47)])
def test_protocol_ids(vnc, project, protocol, number):
    fr = rule(project, service=FirewallServiceType(protocol=protocol))
    vnc.firewall_rule_create(fr)
    assert vnc.firewall_rule_read(id=fr.uuid).get_service().protocol_id == number


@pytest.mark.parametrize("protocol", ["bogus", "256"])
def test_bad_protocols(vnc, project, protocol):
    with pytest.raises(BadRequest, match="Invalid protocol"):
        vnc.firewall_rule_create(rule(project, service=FirewallServiceType(protocol=protocol)))


def test_match_tag_types(vnc, project):
    named = rule(project, service=tcp(), match_tags=FirewallRuleMatchTagsType(["Tier", "site"]))
    vnc.firewall_rule_create(named)
    assert vnc.firewall_rule_read(id=named.uuid).get_match_tag_types().tag_type == [2, 4]
    with pytest.raises(BadRequest, match="labels not allowed"):
        vnc.firewall_rule_create(rule(project, service=tcp(),
                                      match_tags=FirewallRuleMatchTagsType(["label"])))


def test_an_endpoint_names_one_kind(vnc, project):
    with pytest.raises(BadRequest, match="only one endpoint type"):
        vnc.firewall_rule_create(rule(project, service=tcp(), endpoint_1=FirewallRuleEndpointType(
            any=True, subnet=SubnetType("10.0.0.0", 8))))


def test_endpoint_tags_and_address_groups_become_refs(vnc, project, name):
    web = Tag(tag_type_name="application", tag_value=name, parent_obj=project)
    vnc.tag_create(web)
    site = Tag(tag_type_name="site", tag_value=name)
    vnc.tag_create(site)
    ag = AddressGroup(name, parent_obj=project,
                      address_group_prefix=SubnetListType([SubnetType("10.9.0.0", 16)]))
    vnc.address_group_create(ag)
    fr = rule(project, service=tcp(),
              endpoint_1=FirewallRuleEndpointType(tags=[f"application={name}",
                                                        f"global:site={name}"]),
              endpoint_2=FirewallRuleEndpointType(address_group=":".join(ag.fq_name)))
    vnc.firewall_rule_create(fr)
    got = vnc.firewall_rule_read(id=fr.uuid)
    assert {r["uuid"] for r in got.get_tag_refs()} == {web.uuid, site.uuid}
    ids = {int(vnc.tag_read(id=t.uuid).get_tag_id(), 16) for t in (web, site)}
    assert set(got.get_endpoint_1().tag_ids) == ids
    assert [r["uuid"] for r in got.get_address_group_refs()] == [ag.uuid]
    # A new endpoint replaces what the old one brought.
    got.set_endpoint_2(FirewallRuleEndpointType(any=True))
    vnc.firewall_rule_update(got)
    got = vnc.firewall_rule_read(id=fr.uuid)
    assert not got.get_address_group_refs()
    assert {r["uuid"] for r in got.get_tag_refs()} == {web.uuid, site.uuid}

    with pytest.raises(NoIdError):
        vnc.firewall_rule_create(rule(project, service=tcp(), endpoint_1=FirewallRuleEndpointType(
            address_group="default-domain:nowhere:none")))
    direct = rule(project, service=tcp())
    direct.add_tag(web)
    with pytest.raises(BadRequest, match="Cannot directly define Tags reference"):
        vnc.firewall_rule_create(direct)
    direct = rule(project, service=tcp())
    direct.add_address_group(ag)
    with pytest.raises(BadRequest, match="Cannot directly define Address Group reference"):
        vnc.firewall_rule_create(direct)


def test_global_resources_refer_to_global_ones_only(vnc, project):
    pm = vnc.policy_management_read(fq_name=["default-policy-management"])
    scoped_group = service_group(vnc, project)
    global_rule = rule(pm)
    global_rule.add_service_group(scoped_group)
    with pytest.raises(BadRequest, match="cannot reference a scoped"):
        vnc.firewall_rule_create(global_rule)
    scoped_rule = rule(project, service=tcp())
    vnc.firewall_rule_create(scoped_rule)
    fp = FirewallPolicy(str(uuid.uuid4()), parent_obj=pm)
    fp.add_firewall_rule(scoped_rule)
    with pytest.raises(BadRequest, match="cannot reference a scoped"):
        vnc.firewall_policy_create(fp)
    # A scoped policy may refer to both.
    global_ok = rule(pm, service=tcp())
    vnc.firewall_rule_create(global_ok)
    fp = FirewallPolicy(str(uuid.uuid4()), parent_obj=project)
    fp.add_firewall_rule(scoped_rule)
    fp.add_firewall_rule(global_ok)
    vnc.firewall_policy_create(fp)
