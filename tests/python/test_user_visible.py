"""Objects with `id_perms.user_visible` false, as Contrail's api-server treats them: only the
admin creates them, and for everyone else they do not exist (not listed, 404 on read, update
and delete), even when the caller's project owns them."""

import os
import shutil
import tempfile

import pytest
from vnc_api.exceptions import BadRequest, NoIdError
from vnc_api.gen.resource_xsd import IdPermsType, PermType2
from vnc_api.vnc_api import Project, VirtualNetwork, VncApi

from conftest import Controller, allow_role


@pytest.fixture(scope="module")
def secured():
    d = tempfile.mkdtemp(prefix="cirrus-visible-")
    tokens = os.path.join(d, "tokens")
    with open(tokens, "w") as f:
        f.write("adm admin default-domain:default-project\n"
                "m1 member default-domain:visible-tenant\n")
    c = Controller(auth=f"token-file={tokens}")
    admin = client(c, "adm")
    allow_role(admin, "member")
    admin.project_create(Project("visible-tenant",
                                 parent_obj=admin.domain_read(fq_name=["default-domain"])))
    yield c, admin
    c.close()
    shutil.rmtree(d, ignore_errors=True)


def client(c, token):
    return VncApi(api_server_host="127.0.0.1", api_server_port=str(c.port),
                  auth_type="noauth", auth_token=token)


def owned_by(project, name, visible):
    """A network of `project`'s, owned by it, visible to users or not."""
    return VirtualNetwork(name, parent_obj=project,
                          id_perms=IdPermsType(enable=True, user_visible=visible),
                          perms2=PermType2(owner=project.uuid.replace("-", ""),
                                           owner_access=7))


def test_only_the_admin_creates_hidden_objects(secured):
    c, admin = secured
    member = client(c, "m1")
    project = member.project_read(fq_name=["default-domain", "visible-tenant"])
    with pytest.raises(BadRequest):
        member.virtual_network_create(owned_by(project, "hidden-by-member", False))
    with pytest.raises(NoIdError):
        admin.virtual_network_read(fq_name=project.fq_name + ["hidden-by-member"])


def test_hidden_objects_do_not_exist_for_members(secured):
    c, admin = secured
    member = client(c, "m1")
    project = admin.project_read(fq_name=["default-domain", "visible-tenant"])
    hidden = owned_by(project, "hidden", False)
    admin.virtual_network_create(hidden)
    shown = owned_by(project, "shown", True)
    admin.virtual_network_create(shown)

    listed = {v["uuid"] for v in member.virtual_networks_list(
        parent_id=project.uuid)["virtual-networks"]}
    assert listed == {shown.uuid}
    assert member.virtual_network_read(id=shown.uuid).uuid == shown.uuid
    with pytest.raises(NoIdError):
        member.virtual_network_read(id=hidden.uuid)
    hidden.set_display_name("renamed by member")
    with pytest.raises(NoIdError):
        member.virtual_network_update(hidden)
    with pytest.raises(NoIdError):
        member.virtual_network_delete(id=hidden.uuid)

    # The admin sees, lists, changes and deletes it.
    listed = {v["uuid"] for v in admin.virtual_networks_list(
        parent_id=project.uuid)["virtual-networks"]}
    assert listed == {shown.uuid, hidden.uuid}
    assert admin.virtual_network_read(id=hidden.uuid).display_name == "hidden"
    admin.virtual_network_update(hidden)
    assert admin.virtual_network_read(id=hidden.uuid).display_name == "renamed by member"
    admin.virtual_network_delete(id=hidden.uuid)
