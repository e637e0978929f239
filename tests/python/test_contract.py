"""Small parts of the wire contract that clients rely on: type names with underscores, empty
updates, what a `fields=` read returns, the status of refs to missing objects, list counts, a
uuid or a parent that does not fit, a PUT under another type, wrongly typed properties, the
server's id_perms uuid, enumerated strings (after Tungsten Fabric's test_crud_basic.py)."""

import copy
import json

import pytest
import requests
from vnc_api.exceptions import BadRequest, NoIdError, RefsExistError
from vnc_api.gen.resource_xsd import VirtualMachineInterfacePropertiesType as VMIPT
from vnc_api.vnc_api import (ApiAccessList, Domain, GlobalSystemConfig, Project,
                             VirtualMachineInterface, VirtualNetwork)

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


def test_create_with_a_uuid_in_use_is_409(vnc, project, name):
    first = Project(name + "-a")
    vnc.project_create(first)
    twin = Project(name + "-b")
    twin.uuid = first.uuid
    with pytest.raises(RefsExistError, match="already in use"):
        vnc.project_create(twin)


def test_parent_must_fit_the_type(vnc, name):
    vn = VirtualNetwork(name)
    vn.fq_name = [name]
    with pytest.raises(BadRequest, match="fq_name has no parent part"):
        vnc.virtual_network_create(vn)
    vn = VirtualNetwork(name)
    vn.parent_type = "network_policy"
    with pytest.raises(BadRequest, match="parent_type"):
        vnc.virtual_network_create(vn)


def test_put_under_another_type_is_404(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    r = requests.put(f"{controller.url}/network-ipam/{vn.uuid}",
                     json={"network-ipam": {"display_name": "foobar"}})
    assert r.status_code == 404, r.text
    r = requests.put(f"{controller.url}/virtual-network/{vn.uuid}",
                     json={"virtual-network": {"display_name": "foobar"}})
    assert r.status_code == 200, r.text
    assert vnc.virtual_network_read(id=vn.uuid).display_name == "foobar"


def test_wrongly_typed_property_on_create_and_update(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vn.virtual_network_properties = "foo"
    with pytest.raises(BadRequest, match="virtual_network_properties"):
        vnc.virtual_network_create(vn)
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    vn.virtual_network_properties = "foo"
    with pytest.raises(BadRequest, match="virtual_network_properties"):
        vnc.virtual_network_update(vn)


def test_id_perms_uuid_stays_the_servers(vnc, project, name):
    vn = make_vn(vnc, project, name)
    before = vn.get_id_perms().uuid
    wrong = copy.deepcopy(vn.get_id_perms())
    wrong.uuid.uuid_mslong += 1
    wrong.uuid.uuid_lslong += 1
    vn.set_id_perms(wrong)
    vnc.virtual_network_update(vn)
    got = vnc.virtual_network_read(id=vn.uuid).get_id_perms().uuid
    assert (got.uuid_mslong, got.uuid_lslong) == (before.uuid_mslong, before.uuid_lslong)


def test_service_interface_type_values(vnc, project, name):
    vn = make_vn(vnc, project, name)
    for value, ok in [("Left", False), ("middle", False), ("left", True), ("right", True),
                      ("management", True), ("other", True), ("other12", True)]:
        port = VirtualMachineInterface(f"{name}-{value}", parent_obj=project,
                                       virtual_machine_interface_properties=VMIPT(
                                           service_interface_type=value))
        port.set_virtual_network(vn)
        if ok:
            vnc.virtual_machine_interface_create(port)
        else:
            with pytest.raises(BadRequest, match="service_interface_type"):
                vnc.virtual_machine_interface_create(port)


def test_malformed_uuids_in_list_anchors_are_ignored(vnc, project, name):
    vn = make_vn(vnc, project, name)
    port = VirtualMachineInterface(name, parent_obj=project)
    port.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(port)
    uuids = [vn.uuid, "bad-uuid"]
    got = vnc.resource_list("virtual-network", obj_uuids=uuids)["virtual-networks"]
    assert [v["uuid"] for v in got] == [vn.uuid]
    instances = vnc.resource_list("routing-instance", parent_id=uuids, detail=True)
    assert instances and all(ri.parent_uuid == vn.uuid for ri in instances)
    ports = vnc.resource_list("virtual-machine-interface", back_ref_id=uuids, detail=True)
    assert [p.uuid for p in ports] == [port.uuid]


def test_prop_collection_calls_on_a_plain_field_are_400(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    port = VirtualMachineInterface(name, parent_obj=project)
    port.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(port)
    r = requests.post(controller.url + "/prop-collection-update", json={
        "uuid": port.uuid, "updates": [{"field": "display_name", "operation": "add",
                                        "value": {"key": "k3", "value": "v3"},
                                        "position": ".01"}]})
    assert r.status_code == 400, r.text
    r = requests.get(controller.url + "/prop-collection-get",
                     params={"uuid": port.uuid, "fields": "display_name"})
    assert r.status_code == 400, r.text


def test_parent_fq_name_matching_two_parent_types_lists_both(vnc, name):
    gsc = GlobalSystemConfig(name)
    vnc.global_system_config_create(gsc)
    domain = Domain(name)
    vnc.domain_create(domain)
    under_gsc = ApiAccessList(name + "-g", parent_obj=gsc)
    vnc.api_access_list_create(under_gsc)
    under_domain = ApiAccessList(name + "-d", parent_obj=domain)
    vnc.api_access_list_create(under_domain)
    got = vnc.api_access_lists_list(parent_fq_name=[name])["api-access-lists"]
    assert sorted(a["uuid"] for a in got) == sorted([under_gsc.uuid, under_domain.uuid])
