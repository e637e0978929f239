"""Contrail's access control, as Tungsten Fabric's test_rbac.py and test_perms2.py state it:
`aaa_mode` (rbac, cloud-admin, no-auth) read and set through vnc_api, api-access-list rules per
role (object, field, CRUD) at global, domain and project level, perms2 sharing (tenant, domain,
global), owner-only delete, the global read-only role and `obj-perms`.

Users come from a token file (`TOKEN ROLES PROJECT`): the roles are arbitrary names, as
Keystone's are; test_keystone_auth.py shows the same rules with real Keystone tokens."""

import json
import os
import shutil
import tempfile

import pytest
import requests
from vnc_api.exceptions import HttpError, PermissionDenied
from vnc_api.vnc_api import (Domain, PermType2, Project, ShareType, VirtualNetwork, VncApi)

from conftest import Controller, allow_role

USERS = {
    "adm": ("admin", "default-project"),
    "alice": ("alice-role", "alice-proj"),
    "bob": ("bob-role", "bob-proj"),
    "ro": ("read-only-role", "ro-proj"),
    "carol": ("carol-role,netadmin", "carol-proj"),
}


@pytest.fixture(scope="module")
def site():
    d = tempfile.mkdtemp(prefix="cirrus-rbac-")
    tokens = os.path.join(d, "tokens")
    with open(tokens, "w") as f:
        for token, (roles, project) in USERS.items():
            f.write(f"{token} {roles} default-domain:{project}\n")
    c = Controller(auth=f"token-file={tokens}",
                   args=["--global-read-only-role", "read-only-role"])
    admin = client(c, "adm")
    domain = admin.domain_read(fq_name=["default-domain"])
    projects = {}
    for token, (_, project) in USERS.items():
        if project == "default-project":
            continue
        p = Project(project, parent_obj=domain)
        admin.project_create(p)
        # As TF's tests do: the project is owned by itself, so its members may create in it.
        p = admin.project_read(id=p.uuid)
        p.set_perms2(PermType2(owner=p.uuid.replace("-", ""), owner_access=7, global_access=0,
                               share=[]))
        admin.project_update(p)
        projects[token] = p
    yield c, admin, projects
    c.close()
    shutil.rmtree(d, ignore_errors=True)


def client(c, token):
    return VncApi(api_server_host="127.0.0.1", api_server_port=str(c.port),
                  auth_type="noauth", auth_token=token)


def perms(c, token, uuid):
    r = requests.get(f"{c.url}/obj-perms", params={"uuid": uuid},
                     headers={"X-Auth-Token": token})
    assert r.status_code == 200, r.text
    return r.json()["permissions"]


def test_aaa_mode_is_rbac_and_only_the_admin_changes_it(site):
    c, admin, projects = site
    assert admin.get_aaa_mode()["aaa-mode"] == "rbac"
    allow_role(admin, "alice-role", parent=projects["alice"])
    with pytest.raises(PermissionDenied):
        client(c, "alice").set_aaa_mode("no-auth")
    # An invalid mode is a 400 naming the field, and the mode stays.
    r = requests.put(c.url + "/aaa-mode", data=json.dumps({"aaa-mode": "everyone"}),
                     headers={"X-Auth-Token": "adm", "Content-Type": "application/json"})
    assert r.status_code == 400 and "aaa-mode" in r.text
    assert admin.get_aaa_mode()["aaa-mode"] == "rbac"
    # The global list holds Contrail's default rules.
    aal = admin.api_access_list_read(
        fq_name=["default-global-system-config", "default-api-access-list"])
    objects = {r.rule_object for r in aal.get_api_access_list_entries().get_rbac_rule()}
    assert {"fqname-to-id", "id-to-fqname", "useragent-kv", "/", "documentation"} <= objects


def test_without_a_rule_a_role_may_do_nothing(site):
    c, admin, projects = site
    bob = client(c, "bob")  # the homepage is allowed by the default rules
    with pytest.raises(PermissionDenied, match="Permission Denied"):
        bob.virtual_network_create(VirtualNetwork("no-rule", parent_obj=projects["bob"]))
    with pytest.raises(PermissionDenied):
        bob.virtual_networks_list()
    # The lookup helpers stay open to every role.
    assert bob.fq_name_to_id("project", ["default-domain", "bob-proj"]) == projects["bob"].uuid


def test_object_rules_grant_crud_letter_by_letter(site):
    c, admin, projects = site
    aal = allow_role(admin, "bob-role", rule_object="virtual-network", crud="CR",
                     parent=projects["bob"])
    bob = client(c, "bob")
    vn = VirtualNetwork("cr-only", parent_obj=projects["bob"])
    bob.virtual_network_create(vn)
    assert bob.virtual_network_read(id=vn.uuid).name == "cr-only"
    vn.set_display_name("changed")
    with pytest.raises(PermissionDenied):
        bob.virtual_network_update(vn)
    with pytest.raises(PermissionDenied):
        bob.virtual_network_delete(id=vn.uuid)
    # Another project's rules do not reach bob's role.
    with pytest.raises(PermissionDenied):
        bob.project_read(id=projects["bob"].uuid)
    admin.api_access_list_delete(id=aal.uuid)
    with pytest.raises(PermissionDenied):
        bob.virtual_network_read(id=vn.uuid)
    admin.virtual_network_delete(id=vn.uuid)


def test_field_rules_decide_their_fields(site):
    c, admin, projects = site
    allow_role(admin, "carol-role", parent=projects["carol"])
    aal = admin.api_access_list_read(fq_name=projects["carol"].get_fq_name()
                                     + ["default-api-access-list"])
    entries = aal.get_api_access_list_entries()
    from vnc_api.vnc_api import RbacPermType, RbacRuleType
    entries.add_rbac_rule(RbacRuleType(rule_object="virtual-network",
                                       rule_field="flood_unknown_unicast",
                                       rule_perms=[RbacPermType("nobody-has-this", "CRUD")]))
    aal.set_api_access_list_entries(entries)
    admin.api_access_list_update(aal)
    carol = client(c, "carol")
    vn = VirtualNetwork("fields", parent_obj=projects["carol"])
    carol.virtual_network_create(vn)
    vn = carol.virtual_network_read(id=vn.uuid)
    vn.set_flood_unknown_unicast(True)
    with pytest.raises(PermissionDenied):
        carol.virtual_network_update(vn)
    assert not admin.virtual_network_read(id=vn.uuid).get_flood_unknown_unicast()
    # The field rule is for netadmin now: carol holds that role too.
    entries.rbac_rule[-1].rule_perms = [RbacPermType("netadmin", "RU")]
    aal.set_api_access_list_entries(entries)
    admin.api_access_list_update(aal)
    carol.virtual_network_update(vn)
    assert admin.virtual_network_read(id=vn.uuid).get_flood_unknown_unicast()


def test_obj_perms_and_sharing_follow_perms2(site):
    c, admin, projects = site
    for who in ("alice", "bob"):
        allow_role(admin, f"{who}-role", parent=projects[who])
    alice, bob = client(c, "alice"), client(c, "bob")
    vn = VirtualNetwork("shared-by-alice", parent_obj=projects["alice"])
    alice.virtual_network_create(vn)
    assert (perms(c, "adm", vn.uuid), perms(c, "alice", vn.uuid), perms(c, "bob", vn.uuid)) \
        == ("RWX", "RWX", "")
    with pytest.raises(PermissionDenied):
        bob.virtual_network_read(id=vn.uuid)

    def set_perms2(share=(), global_access=0):
        v = alice.virtual_network_read(id=vn.uuid)
        p = v.get_perms2()
        p.share = [ShareType(tenant=f"tenant:{t}", tenant_access=a) for t, a in share]
        p.global_access = global_access
        v.set_perms2(p)
        alice.virtual_network_update(v)

    set_perms2(share=[(projects["bob"].uuid, 4)])
    assert perms(c, "bob", vn.uuid) == "R"
    assert bob.virtual_network_read(id=vn.uuid).name == "shared-by-alice"
    set_perms2()
    assert perms(c, "bob", vn.uuid) == ""
    set_perms2(global_access=4)
    assert perms(c, "bob", vn.uuid) == "R"
    assert vn.uuid in {v["uuid"] for v in bob.virtual_networks_list()["virtual-networks"]}
    set_perms2(global_access=6)
    assert perms(c, "bob", vn.uuid) == "RW"
    v = bob.virtual_network_read(id=vn.uuid)
    v.set_display_name("written by bob")
    bob.virtual_network_update(v)
    # Write through sharing is not ownership: only the owner deletes.
    with pytest.raises(PermissionDenied, match="owner"):
        bob.virtual_network_delete(id=vn.uuid)
    alice.virtual_network_delete(id=vn.uuid)


def test_sharing_with_a_domain(site):
    c, admin, projects = site
    for who in ("alice", "bob"):
        allow_role(admin, f"{who}-role", parent=projects[who])
    alice = client(c, "alice")
    vn = VirtualNetwork("domain-shared", parent_obj=projects["alice"])
    alice.virtual_network_create(vn)
    domain = admin.domain_read(fq_name=["default-domain"])
    alice.chmod(vn.uuid, share=[(f"domain:{domain.uuid}", 4)])
    assert perms(c, "bob", vn.uuid) == "R"
    other = Domain("other-domain")
    admin.domain_create(other)
    alice.chmod(vn.uuid, share=[(f"domain:{other.uuid}", 4)])
    assert perms(c, "bob", vn.uuid) == ""
    alice.virtual_network_delete(id=vn.uuid)
    admin.domain_delete(id=other.uuid)


def test_global_read_only_role_reads_everything_and_changes_nothing(site):
    c, admin, projects = site
    allow_role(admin, "alice-role", parent=projects["alice"])
    alice, ro = client(c, "alice"), client(c, "ro")
    assert ro.is_global_read_only_role() and not ro.is_cloud_admin_role()
    assert admin.is_cloud_admin_role()
    vn = VirtualNetwork("read-only-target", parent_obj=projects["alice"])
    with pytest.raises(PermissionDenied):
        ro.virtual_network_create(VirtualNetwork("by-ro", parent_obj=projects["alice"]))
    alice.virtual_network_create(vn)
    assert ro.virtual_network_read(id=vn.uuid).name == "read-only-target"
    with pytest.raises(PermissionDenied):
        ro.virtual_network_delete(id=vn.uuid)
    admin.virtual_network_delete(id=vn.uuid)


def test_cloud_admin_and_no_auth_modes(site):
    c, admin, projects = site
    allow_role(admin, "alice-role", parent=projects["alice"])
    alice = client(c, "alice")
    vn = VirtualNetwork("modes", parent_obj=projects["alice"])
    alice.virtual_network_create(vn)
    try:
        # cloud-admin: no access lists; the legacy id_perms bits (others: rwx by default).
        assert admin.set_aaa_mode("cloud-admin")["aaa-mode"] == "cloud-admin"
        bob = client(c, "bob")
        assert bob.virtual_network_read(id=vn.uuid).name == "modes"
        assert perms(c, "bob", vn.uuid) == "RWX"
        # no-auth: everyone acts as admin, and obj-perms says so without a token's view.
        assert admin.set_aaa_mode("no-auth")["aaa-mode"] == "no-auth"
        r = requests.get(f"{c.url}/obj-perms", params={"uuid": vn.uuid},
                         headers={"X-Auth-Token": "bob"}).json()
        assert r["permissions"] == "RWX" and r["token_info"] is None
    finally:
        assert admin.set_aaa_mode("rbac")["aaa-mode"] == "rbac"
    with pytest.raises(PermissionDenied):
        client(c, "bob").virtual_network_read(id=vn.uuid)
    admin.virtual_network_delete(id=vn.uuid)


def test_the_mode_flag(site, tmp_path):
    """--aaa-mode sets the mode at start; a bad value stops the controller with a clear error."""
    import subprocess
    from conftest import controller_bin
    tokens = tmp_path / "tokens"
    tokens.write_text("adm admin default-domain:default-project\n")
    c = Controller(auth=f"token-file={tokens}", args=["--aaa-mode", "cloud-admin"])
    try:
        assert client(c, "adm").get_aaa_mode()["aaa-mode"] == "cloud-admin"
    finally:
        c.close()
    bad = subprocess.run([controller_bin(), "--aaa-mode", "everyone", "--roles", "config"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0
    assert "--aaa-mode" in bad.stderr and "no-auth, cloud-admin or rbac" in bad.stderr
    # vnc_api refuses an invalid mode before sending it.
    with pytest.raises(HttpError):
        client(site[0], "adm").set_aaa_mode("bogus")
