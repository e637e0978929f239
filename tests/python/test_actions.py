"""The action endpoints the client finds through the homepage."""

import json
import uuid

import pytest
import requests
from vnc_api.exceptions import NoIdError
from vnc_api.gen.resource_xsd import KeyValuePair, FatFlowProtocols, ProtocolType
from vnc_api.vnc_api import Tag, VirtualMachineInterface

from test_objects import make_vn


def test_homepage_links_match_the_client(controller, vnc):
    home = requests.get(controller.url + "/").json()
    assert home["href"] == controller.url
    rels = {(l["link"]["name"], l["link"]["rel"]) for l in home["links"]}
    assert ("virtual-network", "collection") in rels and ("virtual-network", "resource-base") in rels
    for action in ["name-to-id", "id-to-name", "ref-update", "ref-relax-for-delete",
                   "prop-collection-get", "prop-collection-update", "list-bulk-collection",
                   "useragent-keyvalue", "chown", "chmod", "set-tag",
                   "virtual-network-ip-alloc", "virtual-network-ip-free",
                   "virtual-network-subnet-ip-count"]:
        assert (action, "action") in rels, action


def test_name_and_id_lookups(vnc, project, name):
    vn = make_vn(vnc, project, name)
    assert vnc.fq_name_to_id("virtual-network", vn.get_fq_name()) == vn.uuid
    assert vnc.id_to_fq_name(vn.uuid) == vn.get_fq_name()
    assert vnc.id_to_fq_name_type(vn.uuid) == (vn.get_fq_name(), "virtual-network")
    with pytest.raises(NoIdError):
        vnc.id_to_fq_name("00000000-0000-0000-0000-000000000000")
    # fq_name_to_id answers None for a missing name (the client maps 404 to None there? no: it
    # raises NoIdError, as Contrail's server answers 404).
    with pytest.raises(NoIdError):
        vnc.fq_name_to_id("virtual-network", project.get_fq_name() + ["missing"])


def test_ref_update(vnc, project, name):
    vn = make_vn(vnc, project, name)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    sg = vnc.security_group_read(fq_name=["default-domain", "default-project", "__no_rule__"])
    vnc.ref_update("virtual-machine-interface", vmi.uuid, "security-group", sg.uuid, None, "ADD")
    got = vnc.virtual_machine_interface_read(id=vmi.uuid)
    assert [r["uuid"] for r in got.get_security_group_refs()] == [sg.uuid]
    vnc.ref_update("virtual-machine-interface", vmi.uuid, "security_group_refs", None, sg.get_fq_name(), "DELETE")
    got = vnc.virtual_machine_interface_read(id=vmi.uuid)
    assert not got.get_security_group_refs()


def test_prop_collections(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    # A map collection: annotations keyed by `key`.
    vnc.prop_map_set_element(vmi.uuid, "annotations", KeyValuePair("color", "blue"))
    vnc.prop_map_set_element(vmi.uuid, "annotations", KeyValuePair("size", "xl"))
    vnc.prop_map_set_element(vmi.uuid, "annotations", KeyValuePair("color", "red"))
    got = dict((k, v["value"]) for v, k in vnc.prop_map_get(vmi.uuid, "annotations"))
    assert got == {"color": "red", "size": "xl"}
    vnc.prop_map_delete_element(vmi.uuid, "annotations", "size")
    assert [k for _, k in vnc.prop_map_get(vmi.uuid, "annotations")] == ["color"]
    # A list collection: fat-flow protocols ordered by their string positions, as Contrail keeps
    # them; an element added without a position gets a uuid.
    field = "virtual_machine_interface_fat_flow_protocols"
    vnc.prop_list_add_element(vmi.uuid, field, ProtocolType(protocol="proto1", port=1))
    vnc.prop_list_add_element(vmi.uuid, field, {"protocol": "proto2", "port": 2})
    assert len(vnc.prop_list_get(vmi.uuid, field)) == 2
    vnc.prop_list_add_element(vmi.uuid, field, {"protocol": "proto3", "port": 3}, "0.1")
    vnc.prop_list_add_element(vmi.uuid, field, {"protocol": "proto4", "port": 4}, "0.0")
    vnc.prop_list_add_element(vmi.uuid, field, {"protocol": "proto5", "port": 5}, ".00")
    got = vnc.prop_list_get(vmi.uuid, field, "0.0")
    assert [(i["protocol"], i["port"], p) for i, p in got] == [("proto4", 4, "0.0")]
    items = vnc.prop_list_get(vmi.uuid, field)
    assert [(i["protocol"], p) for i, p in items[:3]] == [("proto5", ".00"), ("proto4", "0.0"), ("proto3", "0.1")]
    assert all(str(uuid.UUID(p)) == p for _, p in items[3:])
    vnc.prop_list_delete_element(vmi.uuid, field, "0.1")
    vnc.prop_list_delete_element(vmi.uuid, field, ".00")
    vnc.prop_list_delete_element(vmi.uuid, field, items[-1][1])
    items = vnc.prop_list_get(vmi.uuid, field)
    assert len(items) == 2 and (items[0][0]["protocol"], items[0][1]) == ("proto4", "0.0")
    vnc.prop_list_modify_element(vmi.uuid, field, ProtocolType(protocol="tcp", port=443), "0.0")
    # The whole object shows the same values in the same order.
    obj = vnc.virtual_machine_interface_read(id=vmi.uuid)
    assert [p.port for p in obj.get_virtual_machine_interface_fat_flow_protocols().fat_flow_protocol] == \
        [443, items[1][0]["port"]]
    assert "__positions__" not in requests.get(
        f"{controller.url}/virtual-machine-interface/{vmi.uuid}").text


def test_list_positions_given_at_create(vnc, project, name):
    """Positions given with the object's own add_ calls order the list; a list set whole is
    positioned 0, 1, ... and replaces what was there."""
    from vnc_api.gen.resource_xsd import FatFlowProtocols
    vn = make_vn(vnc, project, name)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    for proto, port, pos in [("proto2", 2, "pos1"), ("proto1", 1, "pos2"), ("proto3", 3, "pos3"),
                             ("proto4", 4, None)]:
        vmi.add_virtual_machine_interface_fat_flow_protocols(ProtocolType(protocol=proto, port=port), pos)
    vnc.virtual_machine_interface_create(vmi)
    got = vnc.virtual_machine_interface_read(id=vmi.uuid).virtual_machine_interface_fat_flow_protocols
    assert [p.protocol for p in got.fat_flow_protocol] == ["proto4", "proto2", "proto1", "proto3"]
    for pos in ["pos1", "pos3"]:
        vmi.del_virtual_machine_interface_fat_flow_protocols(elem_position=pos)
    vnc.virtual_machine_interface_update(vmi)
    got = vnc.virtual_machine_interface_read(id=vmi.uuid).virtual_machine_interface_fat_flow_protocols
    assert [(p.protocol, p.port) for p in got.fat_flow_protocol] == [("proto4", 4), ("proto1", 1)]
    vmi = vnc.virtual_machine_interface_read(id=vmi.uuid)
    vmi.set_virtual_machine_interface_fat_flow_protocols(FatFlowProtocols(
        [ProtocolType(protocol="p1", port=1), ProtocolType(protocol="p2", port=2)]))
    vnc.virtual_machine_interface_update(vmi)
    field = "virtual_machine_interface_fat_flow_protocols"
    assert [(i["protocol"], p) for i, p in vnc.prop_list_get(vmi.uuid, field)] == [("p1", "0"), ("p2", "1")]
    vmi.set_virtual_machine_interface_fat_flow_protocols(FatFlowProtocols())
    vnc.virtual_machine_interface_update(vmi)
    assert vnc.virtual_machine_interface_read(id=vmi.uuid).virtual_machine_interface_fat_flow_protocols is None


def test_useragent_kv(vnc, name):
    vnc.kv_store(name, "v1")
    assert vnc.kv_retrieve(name) == "v1"
    vnc.kv_store(name, "v2")
    assert vnc.kv_retrieve(name) == "v2"
    assert {"key": name, "value": "v2"} in vnc.kv_retrieve()
    vnc.kv_delete(name)
    with pytest.raises(NoIdError):
        vnc.kv_retrieve(name)


def test_chown_chmod_and_obj_perms(vnc, project, name):
    vn = make_vn(vnc, project, name)
    vnc.chown(vn.uuid, project.uuid)
    vnc.chmod(vn.uuid, owner_access=7, global_access=4, share=[(project.uuid, 5)])
    perms = vnc.virtual_network_read(id=vn.uuid).get_perms2()
    assert perms.owner == project.uuid.replace("-", "")
    assert perms.global_access == 4 and perms.share[0].tenant_access == 5
    rv = vnc.obj_perms(None, vn.uuid)
    assert rv["permissions"] == "RWX"


def test_set_tag(vnc, project, name):
    vn = make_vn(vnc, project, name)
    tag = Tag(tag_type_name="application", tag_value=name, parent_obj=project)
    vnc.tag_create(tag)
    vnc.set_tag(vn, "application", name)
    got = vnc.virtual_network_read(id=vn.uuid)
    assert [r["uuid"] for r in got.get_tag_refs()] == [tag.uuid]
    vnc.unset_tag(vn, "application")
    assert not vnc.virtual_network_read(id=vn.uuid).get_tag_refs()


def test_vn_ip_alloc_free_count(vnc, project, name):
    vn = make_vn(vnc, project, name, prefix="192.0.2.0", plen=29)
    ips = vnc.virtual_network_ip_alloc(vn, count=2)
    # From the top, below the gateway (.6) and the service address (.5).
    assert ips == ["192.0.2.4", "192.0.2.3"]
    # POST answers reach the caller as text; subnets are named by subnet_uuid, and the count
    # includes the three addresses the subnet keeps, as in Contrail.
    sub = vn.get_network_ipam_refs()[0]["attr"].ipam_subnets[0].subnet_uuid
    count = lambda: json.loads(vnc.virtual_network_subnet_ip_count(vn, [sub]))
    assert count()["ip_count_list"] == [5]
    vnc.virtual_network_ip_free(vn, ips[:1])
    assert count()["ip_count_list"] == [4]


def test_list_bulk_collection(controller, vnc, project, name):
    vns = [make_vn(vnc, project, f"{name}-{i}", prefix=f"10.{i}.0.0") for i in range(2)]
    r = requests.post(controller.url + "/list-bulk-collection",
                      json={"type": "virtual-network", "obj_uuids": ",".join(v.uuid for v in vns),
                            "detail": True})
    assert r.status_code == 200
    got = r.json()["virtual-networks"]
    assert sorted(g["virtual-network"]["uuid"] for g in got) == sorted(v.uuid for v in vns)
    # The client switches to this endpoint itself for long uuid lists.
    many = vnc.virtual_networks_list(obj_uuids=[v.uuid for v in vns] * 120)
    assert sorted(v["uuid"] for v in many["virtual-networks"]) == sorted(v.uuid for v in vns)


def test_etag(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    url = f"{controller.url}/virtual-network/{vn.uuid}"
    r = requests.get(url)
    etag = r.headers["ETag"]
    assert requests.get(url, headers={"If-None-Match": etag}).status_code == 304
    vn.set_display_name("changed")
    vnc.virtual_network_update(vn)
    assert requests.get(url, headers={"If-None-Match": etag}).status_code == 200
