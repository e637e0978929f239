"""Small parts of the wire contract that clients rely on: type names with underscores, empty
updates, what a `fields=` read returns, the status of refs to missing objects, list counts."""

import json

import pytest
import requests
from vnc_api.exceptions import BadRequest, NoIdError
from vnc_api.vnc_api import VirtualMachineInterface, VirtualNetwork

from test_objects import make_vn


def test_underscored_type_names(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    assert vnc.fq_name_to_id("virtual_network", vn.get_fq_name()) == vn.uuid
    r = requests.post(controller.url + "/fqname-to-id",
                      json={"type": "virtual_network", "fq_name": vn.get_fq_name()})
    assert r.status_code == 200 and r.json() == {"uuid": vn.uuid}
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    other = make_vn(vnc, project, name + "-2", prefix="10.2.0.0")
    vnc.ref_update("virtual_machine_interface", vmi.uuid, "virtual_network", other.uuid, None, "ADD")
    got = vnc.virtual_machine_interface_read(id=vmi.uuid)
    assert sorted(r["uuid"] for r in got.get_virtual_network_refs()) == sorted([vn.uuid, other.uuid])
    r = requests.post(controller.url + "/list-bulk-collection",
                      json={"type": "virtual_network", "obj_uuids": [vn.uuid, other.uuid]})
    assert r.status_code == 200
    assert sorted(v["uuid"] for v in r.json()["virtual-networks"]) == sorted([vn.uuid, other.uuid])


def test_empty_update_is_a_no_op(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    url = f"{controller.url}/virtual-network/{vn.uuid}"
    before = requests.get(url).json()
    for kw in ({"data": ""}, {"json": {}}, {"json": {"virtual-network": {}}}):
        r = requests.put(url, **kw)
        assert r.status_code == 200, (kw, r.status_code, r.text)
    assert requests.get(url).json() == before, "nothing changed, not even last_modified"
    # The client's own update of an unchanged object sends nothing but succeeds.
    vnc.virtual_network_update(vnc.virtual_network_read(id=vn.uuid))


def test_fields_read_returns_id_perms_and_perms2(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    r = requests.get(f"{controller.url}/virtual-network/{vn.uuid}", params={"fields": "display_name"})
    body = r.json()["virtual-network"]
    assert {"uuid", "fq_name", "name", "display_name", "id_perms", "perms2"} <= set(body)
    assert "network_ipam_refs" not in body and "routing_instances" not in body
    got = vnc.virtual_network_read(id=vn.uuid, fields=["display_name"])
    assert got.get_id_perms().enable is True and got.get_perms2().owner_access == 7


def test_refs_to_missing_objects_are_400_and_ref_update_404(vnc, project, name):
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(VirtualNetwork("nope", parent_obj=project))
    with pytest.raises(BadRequest, match="Unknown reference"):
        vnc.virtual_machine_interface_create(vmi)
    vn = VirtualNetwork(name, fq_name=["default-domain", "no-such-project", name], parent_type="project")
    with pytest.raises(BadRequest, match="does not exist"):
        vnc.virtual_network_create(vn)
    real = make_vn(vnc, project, name)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(real)
    vnc.virtual_machine_interface_create(vmi)
    with pytest.raises(NoIdError):
        vnc.ref_update("virtual-machine-interface", vmi.uuid, "virtual-network",
                       "00000000-0000-0000-0000-000000000001", None, "ADD")
    with pytest.raises(NoIdError):
        vnc.ref_update("virtual-machine-interface", "00000000-0000-0000-0000-000000000002",
                       "virtual-network", real.uuid, None, "ADD")


def test_list_helpers_count(vnc, project, name):
    vns = [make_vn(vnc, project, f"{name}-{i}", prefix=f"10.{i}.0.0") for i in range(3)]
    assert vnc.virtual_networks_list(parent_id=project.uuid, count=True) == \
        {"virtual-networks": {"count": 3}}
    assert vnc.resource_list("virtual_network", parent_id=project.uuid, count=True) == \
        {"virtual-networks": {"count": 3}}
    assert vnc.virtual_networks_list(obj_uuids=[v.uuid for v in vns[:2]], count=True) == \
        {"virtual-networks": {"count": 2}}
    detail = vnc.virtual_networks_list(parent_id=project.uuid, detail=True)
    assert len(detail) == 3 and all(isinstance(v, VirtualNetwork) for v in detail)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vns[0])
    vnc.virtual_machine_interface_create(vmi)
    assert vnc.virtual_machine_interfaces_list(back_ref_id=[vns[0].uuid], count=True) == \
        {"virtual-machine-interfaces": {"count": 1}}
    assert vnc.virtual_networks_list(parent_fq_name=project.get_fq_name(), count=True) == \
        {"virtual-networks": {"count": 3}}
    shown = vnc.virtual_networks_list(parent_id=project.uuid, fields=["display_name"])
    assert sorted(v["display_name"] for v in shown["virtual-networks"]) == sorted(v.name for v in vns)
    assert json.dumps(shown)  # plain JSON all the way down
