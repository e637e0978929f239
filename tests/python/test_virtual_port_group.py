"""Virtual-port-group rules of Contrail's api-server (`virtual_port_group.py`), through the real
`vnc_api` client: what a client may create, link and delete, and what a group does to the
physical interfaces it takes."""

import pytest
from vnc_api.exceptions import BadRequest, RefsExistError
from vnc_api.vnc_api import (Fabric, PhysicalInterface, PhysicalRouter, VirtualMachineInterface,
                             VirtualNetwork, VirtualPortGroup)


def fabric(vnc, name):
    fab = Fabric(name)
    vnc.fabric_create(fab)
    return fab


def interfaces(vnc, name, count):
    pr = PhysicalRouter(name)
    vnc.physical_router_create(pr)
    pis = []
    for i in range(count):
        pi = PhysicalInterface(f"xe-0/0/{i}", parent_obj=pr)
        vnc.physical_interface_create(pi)
        pis.append(pi)
    return pis


def group(vnc, fab, vpg_name, **kw):
    vpg = VirtualPortGroup(vpg_name, parent_obj=fab, **kw)
    vnc.virtual_port_group_create(vpg)
    return vnc.virtual_port_group_read(id=vpg.uuid)


def pi_type(vnc, pi):
    return vnc.physical_interface_read(id=pi.uuid).get_physical_interface_type()


def test_internal_names_are_the_servers(vnc, name):
    fab = fabric(vnc, name)
    with pytest.raises(BadRequest, match="vpg-internal as prefix can only be created internally"):
        vnc.virtual_port_group_create(VirtualPortGroup("vpg-internal-" + name, parent_obj=fab))
    # A group that says it is not user-created may take such a name (the server's own).
    group(vnc, fab, "vpg-internal-1", virtual_port_group_user_created=False)
    group(vnc, fab, "vpg-" + name)


def test_interfaces_are_added_by_update_not_in_the_create(vnc, name):
    fab = fabric(vnc, name)
    (pi,) = interfaces(vnc, name, 1)
    vpg = VirtualPortGroup("vpg-1", parent_obj=fab)
    vpg.add_physical_interface(pi)
    with pytest.raises(BadRequest, match="create it, then add them"):
        vnc.virtual_port_group_create(vpg)
    vpg = group(vnc, fab, "vpg-1")
    vpg.add_physical_interface(pi)
    vnc.virtual_port_group_update(vpg)
    refs = vnc.virtual_port_group_read(id=vpg.uuid).get_physical_interface_refs()
    assert [r["uuid"] for r in refs] == [pi.uuid]


def test_an_interface_belongs_to_one_group(vnc, name):
    fab = fabric(vnc, name)
    pis = interfaces(vnc, name, 4)
    first, second = group(vnc, fab, "vpg-1"), group(vnc, fab, "vpg-2")
    for pi in pis:
        first.add_physical_interface(pi)
    vnc.virtual_port_group_update(first)
    second.add_physical_interface(pis[0])
    second.add_physical_interface(pis[1])
    with pytest.raises(BadRequest, match="already added at other VPGs can not be attached"):
        vnc.virtual_port_group_update(second)
    assert vnc.virtual_port_group_read(id=second.uuid).get_physical_interface_refs() is None
    # Once the first group lets them go, the second takes them.
    first = vnc.virtual_port_group_read(id=first.uuid)
    first.del_physical_interface(pis[0])
    first.del_physical_interface(pis[1])
    vnc.virtual_port_group_update(first)
    vnc.virtual_port_group_update(second)
    assert len(vnc.virtual_port_group_read(id=second.uuid).get_physical_interface_refs()) == 2
    assert len(vnc.virtual_port_group_read(id=first.uuid).get_physical_interface_refs()) == 2


def test_an_interface_in_a_group_is_an_access_interface(vnc, name):
    fab = fabric(vnc, name)
    pis = interfaces(vnc, name, 2)
    vpg = group(vnc, fab, "vpg-1")
    assert pi_type(vnc, pis[0]) is None
    vpg.add_physical_interface(pis[0])
    vpg.add_physical_interface(pis[1])
    vnc.virtual_port_group_update(vpg)
    assert [pi_type(vnc, pi) for pi in pis] == ["access", "access"]
    vpg = vnc.virtual_port_group_read(id=vpg.uuid)
    vpg.del_physical_interface(pis[0])
    vnc.virtual_port_group_update(vpg)
    assert [pi_type(vnc, pi) for pi in pis] == [None, "access"]
    # The group's delete gives its interfaces back untyped.
    vnc.virtual_port_group_delete(id=vpg.uuid)
    assert [pi_type(vnc, pi) for pi in pis] == [None, None]


def test_a_trunk_port_belongs_to_one_group(vnc, name, project):
    fab = fabric(vnc, name)
    vn = VirtualNetwork("vn", parent_obj=project)
    vnc.virtual_network_create(vn)
    vmi = VirtualMachineInterface("trunk", parent_obj=project)
    vmi.set_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    first = VirtualPortGroup("vpg-1", parent_obj=fab, virtual_port_group_trunk_port_id=vmi.uuid)
    first.add_virtual_machine_interface(vmi)
    vnc.virtual_port_group_create(first)
    second = VirtualPortGroup("vpg-2", parent_obj=fab, virtual_port_group_trunk_port_id=vmi.uuid)
    with pytest.raises(RefsExistError, match=r"Trunk Port\(%s\) already belongs" % vmi.uuid):
        vnc.virtual_port_group_create(second)
    with pytest.raises(BadRequest, match="no virtual-machine-interface"):
        vnc.virtual_port_group_create(VirtualPortGroup(
            "vpg-3", parent_obj=fab,
            virtual_port_group_trunk_port_id="00000000-0000-0000-0000-000000000001"))


def test_a_group_linking_ports_is_not_deleted(vnc, name, project):
    fab = fabric(vnc, name)
    vn = VirtualNetwork("vn", parent_obj=project)
    vnc.virtual_network_create(vn)
    vpg = group(vnc, fab, "vpg-" + name)
    ports = []
    for i in range(2):
        vmi = VirtualMachineInterface(f"port-{i}", parent_obj=project)
        vmi.set_virtual_network(vn)
        vnc.virtual_machine_interface_create(vmi)
        vpg.add_virtual_machine_interface(vmi)
        vnc.virtual_port_group_update(vpg)
        vnc.ref_relax_for_delete(vpg.uuid, vmi.uuid)
        ports.append(vmi)
    with pytest.raises(BadRequest, match="can not be deleted as references to VMI"):
        vnc.virtual_port_group_delete(id=vpg.uuid)
    for vmi in ports:
        vnc.virtual_machine_interface_delete(id=vmi.uuid)
    vnc.virtual_port_group_delete(id=vpg.uuid)
