"""Security draft mode, its first part, as Contrail's `_security_base.py` does it, through the
real `vnc_api` client: turning `enable_security_policy_draft` on makes the scope's
`draft-policy-management`, turning it off deletes it, refused while it holds pending resources.
(The draft copies of firewall resources and the commit/discard action are not built.)"""

import pytest
from vnc_api.exceptions import BadRequest, NoIdError, RefsExistError
from vnc_api.vnc_api import AddressGroup, Project

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
