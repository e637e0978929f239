"""List variants of Contrail's TestBulk and TestPropertyWith{List,Map}, through the real
`vnc_api` client: a bulk list (POST /list-bulk-collection, which the client uses past
POST_FOR_LIST_THRESHOLD ids) ignores malformed uuids in its filters, and `fields=` with a list
or map property returns it only when set."""

from vnc_api.gen.resource_xsd import (FatFlowProtocols, KeyValuePair, KeyValuePairs,
                                      ProtocolType)
from vnc_api.vnc_api import VirtualMachineInterface

from test_objects import make_vn


def test_bulk_list_ignores_malformed_uuids_in_filters(vnc, project, name):
    vn = make_vn(vnc, project, name)
    port = VirtualMachineInterface(name + "-p", parent_obj=project)
    port.set_virtual_network(vn)
    vnc.virtual_machine_interface_create(port)
    uuids = [vn.uuid] + ["bad-uuid"] * vnc.POST_FOR_LIST_THRESHOLD
    got = vnc.resource_list("virtual-network", obj_uuids=uuids)
    assert [v["uuid"] for v in got["virtual-networks"]] == [vn.uuid]
    ris = vnc.resource_list("routing-instance", parent_id=uuids, detail=True)
    assert ris and all(ri.parent_uuid == vn.uuid for ri in ris)
    ports = vnc.resource_list("virtual-machine-interface", back_ref_id=uuids, detail=True)
    assert [p.uuid for p in ports] == [port.uuid]


def test_fields_with_list_and_map_properties(vnc, project, name):
    vn = make_vn(vnc, project, name)
    port = VirtualMachineInterface(name + "-p", parent_obj=project)
    port.set_virtual_network(vn)
    vnc.virtual_machine_interface_create(port)
    fat, kv = "virtual_machine_interface_fat_flow_protocols", "annotations"

    def listed():
        got = vnc.virtual_machine_interfaces_list(obj_uuids=[port.uuid], fields=[fat, kv])
        (one,) = got["virtual-machine-interfaces"]
        assert one["uuid"] == port.uuid
        return one
    assert fat not in listed() and kv not in listed()
    port = vnc.virtual_machine_interface_read(id=port.uuid)
    port.set_virtual_machine_interface_fat_flow_protocols(
        FatFlowProtocols([ProtocolType(protocol="tcp", port=80)]))
    port.set_annotations(KeyValuePairs([KeyValuePair(key="k", value="v")]))
    vnc.virtual_machine_interface_update(port)
    one = listed()
    assert [(p["protocol"], p["port"]) for p in one[fat]["fat_flow_protocol"]] == [("tcp", 80)]
    assert one[kv] == {"key_value_pair": [{"key": "k", "value": "v"}]}
