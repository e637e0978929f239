"""Security draft mode as Contrail's `_security_base.py` and `security_policy_draft` do it,
through the real `vnc_api` client: turning `enable_security_policy_draft` on makes the scope's
`draft-policy-management`, turning it off deletes it, refused while it holds pending resources;
while it is on, creates, updates and deletes of security resources become drafts (202), which
`commit_security` applies and `discard_security` drops. Each draft test runs on a project scope
and on the global scope (resources under `default-policy-management`)."""

import json

import pytest
import requests
from vnc_api.exceptions import BadRequest, NoIdError, RefsExistError
from vnc_api.gen.resource_xsd import (FirewallSequence, FirewallServiceGroupType,
                                      FirewallServiceType, KeyValuePair)
from vnc_api.vnc_api import (AddressGroup, ApplicationPolicySet, FirewallPolicy,
                             FirewallRule, Project, ServiceGroup)

DRAFT = "draft-policy-management"


def draft_pm(vnc, fq_name):
    return vnc.policy_management_read(fq_name=fq_name)


def test_a_projects_draft_mode_makes_its_draft_policy_management(vnc, project):
    fq = project.get_fq_name() + [DRAFT]
    with pytest.raises(NoIdError):
        draft_pm(vnc, fq)
    project.set_enable_security_policy_draft(True)
    vnc.project_update(project)
    pm = draft_pm(vnc, fq)
    assert pm.get_parent_fq_name() == project.get_fq_name()
    # Pending resources under it keep draft mode on.
    pending = AddressGroup("ag", parent_obj=pm)
    vnc.address_group_create(pending)
    project = vnc.project_read(id=project.uuid)
    project.set_enable_security_policy_draft(False)
    with pytest.raises(RefsExistError, match="Cannot disable security draft mode on scope"):
        vnc.project_update(project)
    assert vnc.project_read(id=project.uuid).get_enable_security_policy_draft() is True
    vnc.address_group_delete(id=pending.uuid)
    vnc.project_update(project)
    with pytest.raises(NoIdError):
        draft_pm(vnc, fq)


def test_a_project_created_in_draft_mode_has_it_and_takes_it_along(vnc, name):
    p = Project(name + "-d", parent_obj=vnc.domain_read(fq_name=["default-domain"]),
                enable_security_policy_draft=True)
    vnc.project_create(p)
    pm = draft_pm(vnc, p.get_fq_name() + [DRAFT])
    vnc.project_delete(id=p.uuid)
    with pytest.raises(NoIdError):
        vnc.policy_management_read(id=pm.uuid)


def test_global_draft_mode_makes_the_top_level_draft_policy_management(vnc):
    gsc = vnc.global_system_config_read(fq_name=["default-global-system-config"])
    gsc.set_enable_security_policy_draft(True)
    vnc.global_system_config_update(gsc)
    try:
        pm = draft_pm(vnc, [DRAFT])
        assert pm.get_fq_name() == [DRAFT]
    finally:
        gsc.set_enable_security_policy_draft(False)
        vnc.global_system_config_update(gsc)
    with pytest.raises(NoIdError):
        draft_pm(vnc, [DRAFT])


def test_draft_mode_state_is_the_servers(vnc, project):
    ag = AddressGroup("ag", parent_obj=project)
    ag.draft_mode_state = "deleted"
    with pytest.raises(BadRequest, match="draft_mode_state"):
        vnc.address_group_create(ag)
    ag = AddressGroup("ag", parent_obj=project)
    vnc.address_group_create(ag)
    ag.draft_mode_state = "created"
    with pytest.raises(BadRequest, match="draft_mode_state"):
        vnc.address_group_update(ag)


# ---- draft copies, commit and discard ----

GSC = ["default-global-system-config"]
GLOBAL_PM = ["default-policy-management"]


class Scope:
    """A scope in (or out of) draft mode: `flag` holds enable_security_policy_draft, `owner` owns
    the enforced security resources, `draft_fq` is its draft policy management's fq_name."""

    def __init__(self, vnc, kind, name):
        self.vnc, self.kind, self.made = vnc, kind, []
        if kind == "project":
            p = Project(name + "-scope", parent_obj=vnc.domain_read(fq_name=["default-domain"]))
            vnc.project_create(p)
            self.flag = vnc.project_read(id=p.uuid)
            self.owner = self.flag
            self.draft_fq = self.flag.get_fq_name() + [DRAFT]
        else:
            self.flag = vnc.global_system_config_read(fq_name=GSC)
            self.owner = vnc.policy_management_read(fq_name=GLOBAL_PM)
            self.draft_fq = [DRAFT]

    def draft(self, on):
        self.flag.set_enable_security_policy_draft(on)
        getattr(self.vnc, self.flag.object_type + "_update")(self.flag)

    def enforced_fq(self, name):
        return self.owner.get_fq_name() + [name]

    def create(self, obj):
        getattr(self.vnc, obj.object_type + "_create")(obj)
        self.made.append(obj)
        return obj

    def cleanup(self):
        try:
            self.vnc.discard_security(self.flag)
        except BadRequest:
            pass
        self.draft(False)
        for obj in reversed(self.made):
            try:
                getattr(self.vnc, obj.object_type + "_delete")(
                    fq_name=self.enforced_fq(obj.name))
            except NoIdError:
                pass
        if self.kind == "project":
            self.vnc.project_delete(id=self.flag.uuid)


@pytest.fixture(params=["project", "global"])
def scope(request, vnc, name):
    s = Scope(vnc, request.param, name)
    yield s
    s.cleanup()


def rule(parent, name):
    return FirewallRule(name, parent_obj=parent, service=FirewallServiceType(protocol="tcp"))


def one_of_each(owner, name):
    """One resource of each security type (not referring to one another)."""
    return [
        ApplicationPolicySet(name + "-aps", parent_obj=owner),
        FirewallPolicy(name + "-fp", parent_obj=owner),
        rule(owner, name + "-fr"),
        ServiceGroup(name + "-sg", parent_obj=owner,
                     service_group_firewall_service_list=FirewallServiceGroupType(
                         firewall_service=[FirewallServiceType(protocol="udp")])),
        AddressGroup(name + "-ag", parent_obj=owner),
    ]


def read(vnc, obj, **kw):
    return getattr(vnc, obj.object_type + "_read")(**kw)


def test_creates_become_drafts_until_committed(vnc, scope, name, controller):
    scope.draft(True)
    made = [scope.create(o) for o in one_of_each(scope.owner, name)]
    for o in made:
        # The client sees where its object went: the draft policy management.
        assert o.get_fq_name() == scope.draft_fq + [o.name]
        draft = read(vnc, o, id=o.uuid)
        assert draft.draft_mode_state == "created"
        assert draft.parent_type == "policy-management"
        with pytest.raises(NoIdError):
            read(vnc, o, fq_name=scope.enforced_fq(o.name))
    again = FirewallPolicy(name + "-fp", parent_obj=scope.owner)
    with pytest.raises(BadRequest, match="pending to be committed or discarded"):
        vnc.firewall_policy_create(again)
    # Contrail answers a drafted create with 202 Accepted.
    body = {"address-group": {"fq_name": scope.enforced_fq(name + "-raw"),
                              "parent_type": scope.owner.object_type.replace("_", "-")}}
    r = requests.post(f"{controller.url}/address-groups", data=json.dumps(body),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    assert r.json()["address-group"]["fq_name"] == scope.draft_fq + [name + "-raw"]
    scope.made.append(AddressGroup(name + "-raw", parent_obj=scope.owner))

    vnc.commit_security(scope.flag)
    for o in made:
        enforced = read(vnc, o, fq_name=scope.enforced_fq(o.name))
        assert enforced.uuid == o.uuid  # a committed create keeps the draft's uuid
        assert enforced.parent_uuid == scope.owner.uuid
        assert enforced.draft_mode_state is None
        with pytest.raises(NoIdError):
            read(vnc, o, fq_name=scope.draft_fq + [o.name])
    flag = getattr(vnc, scope.flag.object_type + "_read")(id=scope.flag.uuid)
    assert flag.get_enable_security_policy_draft() is True


def test_updates_go_to_one_draft_copy(vnc, scope, name):
    made = [scope.create(o) for o in one_of_each(scope.owner, name)]
    scope.draft(True)
    for o in made:
        o = read(vnc, o, id=o.uuid)
        o.set_display_name("new-" + o.name)
        o.add_annotations(KeyValuePair(key="foo", value="bar"))  # a prop-collection update
        getattr(vnc, o.object_type + "_update")(o)
        enforced = read(vnc, o, id=o.uuid)
        assert enforced.display_name == o.name
        assert enforced.get_annotations() is None
        draft = read(vnc, o, fq_name=scope.draft_fq + [o.name])
        assert draft.uuid != o.uuid
        assert draft.draft_mode_state == "updated"
        assert draft.display_name == "new-" + o.name
        assert [(kv.key, kv.value) for kv in draft.get_annotations().get_key_value_pair()] == \
            [("foo", "bar")]
        # A second update changes the same draft.
        o.set_display_name("newer-" + o.name)
        getattr(vnc, o.object_type + "_update")(o)
        again = getattr(vnc, o.object_type + "_read_draft")(id=o.uuid)
        assert again.uuid == draft.uuid and again.display_name == "newer-" + o.name
    fp = made[1]
    vnc.discard_security(scope.flag)
    assert vnc.firewall_policy_read(id=fp.uuid).display_name == fp.name
    with pytest.raises(NoIdError):
        vnc.firewall_policy_read(fq_name=scope.draft_fq + [fp.name])
    fp = vnc.firewall_policy_read(id=fp.uuid)
    fp.set_display_name("committed")
    vnc.firewall_policy_update(fp)
    vnc.commit_security(scope.flag)
    assert vnc.firewall_policy_read(id=fp.uuid).display_name == "committed"
    with pytest.raises(NoIdError):
        vnc.firewall_policy_read(fq_name=scope.draft_fq + [fp.name])


def test_deletes_go_to_a_draft(vnc, scope, name):
    fp1 = scope.create(FirewallPolicy(name + "-1", parent_obj=scope.owner))
    fp2 = scope.create(FirewallPolicy(name + "-2", parent_obj=scope.owner))
    scope.draft(True)
    vnc.firewall_policy_delete(id=fp1.uuid)
    vnc.firewall_policy_delete(id=fp2.uuid)
    vnc.firewall_policy_delete(id=fp2.uuid)  # again: still one pending delete
    assert vnc.firewall_policy_read(id=fp1.uuid).draft_mode_state is None
    pending1 = vnc.firewall_policy_read_draft(id=fp1.uuid)
    assert pending1.draft_mode_state == "deleted"
    assert vnc.firewall_policy_read_draft(id=fp2.uuid).draft_mode_state == "deleted"
    fp1 = vnc.firewall_policy_read(id=fp1.uuid)
    fp1.set_display_name("x")
    with pytest.raises(BadRequest, match="is in pending delete, cannot be updated"):
        vnc.firewall_policy_update(fp1)
    # Deleting the draft itself drops the pending delete.
    vnc.firewall_policy_delete(id=pending1.uuid)
    vnc.commit_security(scope.flag)
    assert vnc.firewall_policy_read(id=fp1.uuid).display_name == fp1.name
    with pytest.raises(NoIdError):
        vnc.firewall_policy_read(id=fp2.uuid)
    with pytest.raises(NoIdError):
        vnc.firewall_policy_read(id=pending1.uuid)


def test_refs_in_draft_mode(vnc, scope, name):
    fr = scope.create(rule(scope.owner, name + "-fr"))
    fp = FirewallPolicy(name + "-fp", parent_obj=scope.owner)
    fp.add_firewall_rule(fr, FirewallSequence(sequence="1.0"))
    scope.create(fp)
    scope.draft(True)
    # Still referred to by the enforced policy, as outside draft mode.
    with pytest.raises(RefsExistError):
        vnc.firewall_rule_delete(id=fr.uuid)
    fp = vnc.firewall_policy_read(id=fp.uuid)
    fp.del_firewall_rule(fr)
    vnc.firewall_policy_update(fp)
    # The policy's draft no longer refers to it: its delete is accepted as a draft.
    vnc.firewall_rule_delete(id=fr.uuid)
    # A new reference to a resource pending delete is refused.
    aps = ApplicationPolicySet(name + "-aps", parent_obj=scope.owner)
    aps.add_firewall_policy(fp, FirewallSequence(sequence="1.0"))
    fp2 = FirewallPolicy(name + "-fp2", parent_obj=scope.owner)
    fp2.add_firewall_rule(fr, FirewallSequence(sequence="1.0"))
    with pytest.raises(BadRequest, match="is in pending delete state"):
        vnc.firewall_policy_create(fp2)
    # New drafts refer to each other by the drafts' uuids, kept by the commit.
    fr2 = scope.create(rule(scope.owner, name + "-fr2"))
    fp3 = FirewallPolicy(name + "-fp3", parent_obj=scope.owner)
    fp3.add_firewall_rule(vnc.firewall_rule_read(id=fr2.uuid), FirewallSequence(sequence="1.0"))
    scope.create(fp3)
    aps.add_firewall_policy(vnc.firewall_policy_read(id=fp3.uuid),
                            FirewallSequence(sequence="2.0"))
    scope.create(aps)
    vnc.commit_security(scope.flag)
    assert vnc.firewall_policy_read(id=fp.uuid).get_firewall_rule_refs() is None
    with pytest.raises(NoIdError):
        vnc.firewall_rule_read(id=fr.uuid)
    committed = vnc.application_policy_set_read(fq_name=scope.enforced_fq(name + "-aps"))
    assert sorted(r["uuid"] for r in committed.get_firewall_policy_refs()) == \
        sorted([fp.uuid, fp3.uuid])
    fp3 = vnc.firewall_policy_read(id=fp3.uuid)
    assert [r["uuid"] for r in fp3.get_firewall_rule_refs()] == [fr2.uuid]
    assert fp3.get_firewall_rule_refs()[0]["to"] == scope.enforced_fq(name + "-fr2")


def test_actions_need_draft_mode_and_pending_drafts_keep_it_on(vnc, scope, name):
    for action in (vnc.commit_security, vnc.discard_security):
        with pytest.raises(BadRequest, match="Security draft mode is not enabled"):
            action(scope.flag)
    scope.draft(True)
    scope.create(FirewallPolicy(name + "-fp", parent_obj=scope.owner))
    flag = getattr(vnc, scope.flag.object_type + "_read")(id=scope.flag.uuid)
    flag.set_enable_security_policy_draft(False)
    with pytest.raises(RefsExistError, match="Cannot disable security draft mode on"):
        getattr(vnc, scope.flag.object_type + "_update")(flag)
    vnc.discard_security(scope.flag)
    with pytest.raises(NoIdError):
        vnc.firewall_policy_read(fq_name=scope.draft_fq + [name + "-fp"])
    with pytest.raises(NoIdError):
        vnc.firewall_policy_read(fq_name=scope.enforced_fq(name + "-fp"))


def test_commits_across_scopes_repoint_refs(vnc, name):
    """A project's resources referring to global drafts (by ref, and by an endpoint's address
    group) refer to the committed global resources once the global scope commits, in either
    order of the two commits (TF's TestFirewallDraftModeMixedScopes)."""
    from vnc_api.gen.resource_xsd import (ActionListType, FirewallRuleEndpointType,
                                          SubnetListType, SubnetType)
    glob = Scope(vnc, "global", name)
    proj = Scope(vnc, "project", name)
    try:
        for first, second in ((proj, glob), (glob, proj)):
            tag = name + ("-a" if first is proj else "-b")
            glob.draft(True)
            fp = glob.create(FirewallPolicy(tag + "-fp", parent_obj=glob.owner))
            ag = glob.create(AddressGroup(tag + "-ag", parent_obj=glob.owner,
                                          address_group_prefix=SubnetListType(
                                              subnet=[SubnetType("10.1.0.0", 24)])))
            assert ag.get_fq_name() == [DRAFT, tag + "-ag"]
            proj.draft(True)
            aps = ApplicationPolicySet(tag + "-aps", parent_obj=proj.owner)
            aps.add_firewall_policy(vnc.firewall_policy_read(id=fp.uuid),
                                    FirewallSequence(sequence="1.0"))
            proj.create(aps)
            fr = FirewallRule(tag + "-fr", parent_obj=proj.owner,
                              action_list=ActionListType(simple_action="pass"),
                              endpoint_1=FirewallRuleEndpointType(any=True),
                              endpoint_2=FirewallRuleEndpointType(
                                  address_group=":".join(ag.get_fq_name())),
                              direction="<>", service=FirewallServiceType(protocol="tcp"))
            proj.create(fr)
            vnc.commit_security(first.flag)
            vnc.commit_security(second.flag)
            aps = vnc.application_policy_set_read(fq_name=proj.enforced_fq(tag + "-aps"))
            (ref,) = aps.get_firewall_policy_refs()
            assert ref["uuid"] == fp.uuid and ref["to"] == GLOBAL_PM + [tag + "-fp"]
            fr = vnc.firewall_rule_read(fq_name=proj.enforced_fq(tag + "-fr"))
            assert fr.get_endpoint_2().get_address_group() == ":".join(GLOBAL_PM + [tag + "-ag"])
            assert [r["uuid"] for r in fr.get_address_group_refs()] == [ag.uuid]
    finally:
        proj.cleanup()
        glob.cleanup()
