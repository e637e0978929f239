"""--auth token-file: members see and change only what their project owns or what is shared."""

import os
import tempfile

import pytest
import requests
from vnc_api.exceptions import PermissionDenied
from vnc_api.vnc_api import Project, VncApi, VirtualNetwork

from conftest import Controller, allow_role


@pytest.fixture(scope="module")
def secured():
    d = tempfile.mkdtemp(prefix="cirrus-auth-")
    tokens = os.path.join(d, "tokens")
    with open(tokens, "w") as f:
        f.write("# token role project\n"
                "adm admin default-domain:default-project\n"
                "t1 member default-domain:tenant1\n"
                "t2 member default-domain:tenant2\n")
    c = Controller(auth=f"token-file={tokens}")
    admin = VncApi(api_server_host="127.0.0.1", api_server_port=str(c.port),
                   auth_type="noauth", auth_token="adm")
    domain = admin.domain_read(fq_name=["default-domain"])
    for p in ["tenant1", "tenant2"]:
        admin.project_create(Project(p, parent_obj=domain))
    allow_role(admin, "member")
    yield c, admin
    c.close()


def client(c, token):
    return VncApi(api_server_host="127.0.0.1", api_server_port=str(c.port),
                  auth_type="noauth", auth_token=token)


def test_no_or_unknown_token_is_401(secured):
    c, _ = secured
    assert requests.get(c.url + "/virtual-networks").status_code == 401
    assert requests.get(c.url + "/virtual-networks", headers={"X-Auth-Token": "nope"}).status_code == 401


def test_members_are_confined_to_their_project(secured):
    c, admin = secured
    t1, t2 = client(c, "t1"), client(c, "t2")
    p1 = t1.project_read(fq_name=["default-domain", "tenant1"])
    vn1 = VirtualNetwork("vn1", parent_obj=p1)
    t1.virtual_network_create(vn1)
    p2 = admin.project_read(fq_name=["default-domain", "tenant2"])
    vn2 = VirtualNetwork("vn2", parent_obj=p2)
    t2.virtual_network_create(vn2)
    # Each member lists only its own network; the admin sees both.
    assert [v["uuid"] for v in t1.virtual_networks_list()["virtual-networks"]] == [vn1.uuid]
    assert [v["uuid"] for v in t2.virtual_networks_list()["virtual-networks"]] == [vn2.uuid]
    all_uuids = {v["uuid"] for v in admin.virtual_networks_list()["virtual-networks"]}
    assert {vn1.uuid, vn2.uuid} <= all_uuids
    with pytest.raises(PermissionDenied):
        t1.virtual_network_read(id=vn2.uuid)
    with pytest.raises(PermissionDenied):
        t1.virtual_network_delete(id=vn2.uuid)
    with pytest.raises(PermissionDenied):
        t1.virtual_network_create(VirtualNetwork("intruder", parent_obj=p2))
    # Sharing read access with tenant1 lets it read, not write.
    admin.chmod(vn2.uuid, share=[(p1.uuid, 4)])
    assert t1.virtual_network_read(id=vn2.uuid).uuid == vn2.uuid
    got = t1.virtual_network_read(id=vn2.uuid)
    got.set_display_name("mine now")
    with pytest.raises(PermissionDenied):
        t1.virtual_network_update(got)
    # Objects created by a member are owned by its project.
    owner = admin.virtual_network_read(id=vn1.uuid).get_perms2().owner
    assert owner == p1.uuid.replace("-", "")
