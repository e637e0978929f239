"""Virtual-port-group rules of Contrail's api-server (`virtual_port_group.py`), through the real
`vnc_api` client: what a client may create, link and delete, and what a group does to the
physical interfaces it takes."""

import json

import pytest
from vnc_api.exceptions import BadRequest, NoIdError, RefsExistError
from vnc_api.gen.resource_xsd import (KeyValuePair, KeyValuePairs,
                                      VirtualMachineInterfacePropertiesType,
                                      VpgInterfaceParametersType)
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


def ae_nums(vnc, vpg):
    """{interface uuid: its ref's ae_num (None without)} of a group as read back."""
    refs = vnc.virtual_port_group_read(id=vpg.uuid).get_physical_interface_refs() or []
    return {r["uuid"]: r["attr"].ae_num if r["attr"] else None for r in refs}


def add(vnc, vpg, *pis, ae_num=None):
    vpg = vnc.virtual_port_group_read(id=vpg.uuid)
    for pi in pis:
        attr = VpgInterfaceParametersType(ae_num=ae_num) if ae_num is not None else None
        vpg.add_physical_interface(pi, attr)
    vnc.virtual_port_group_update(vpg)
    return vpg


def remove(vnc, vpg, *pis):
    vpg = vnc.virtual_port_group_read(id=vpg.uuid)
    for pi in pis:
        vpg.del_physical_interface(pi)
    vnc.virtual_port_group_update(vpg)


def test_ae_ids_per_router_for_groups_over_several_interfaces(vnc, name):
    fab = fabric(vnc, name)
    a = interfaces(vnc, name + "-a", 7)
    b = interfaces(vnc, name + "-b", 2)
    g1, g2, g3, g4 = (group(vnc, fab, f"vpg-{i}") for i in range(1, 5))
    # One interface: no AE id. A second: one id for the router, on both refs, then on a third.
    add(vnc, g1, a[0])
    assert ae_nums(vnc, g1) == {a[0].uuid: None}
    add(vnc, g1, a[1])
    assert ae_nums(vnc, g1) == {a[0].uuid: 0, a[1].uuid: 0}
    add(vnc, g1, a[2])
    assert set(ae_nums(vnc, g1).values()) == {0}
    # Multi-homed over two routers: an id on each, the lowest free there.
    add(vnc, g2, a[3], b[0])
    assert ae_nums(vnc, g2) == {a[3].uuid: 1, b[0].uuid: 0}
    # Down to one interface: its ref's id is cleared and both routers' ids are given back.
    remove(vnc, g2, a[3])
    assert ae_nums(vnc, g2) == {b[0].uuid: None}
    add(vnc, g3, a[3], a[4])
    assert set(ae_nums(vnc, g3).values()) == {1}
    # An id a client asks for: taken elsewhere is 400; a free one is used for the router.
    with pytest.raises(BadRequest, match=r"AE-ID \(1\) is already allocated"):
        add(vnc, g4, a[5], a[6], ae_num=1)
    add(vnc, g4, a[5], a[6], ae_num=7)
    assert set(ae_nums(vnc, g4).values()) == {7}
    # The group holds 7 on that router: another id asked for a new interface there is 400.
    remove(vnc, g3, a[4])
    with pytest.raises(BadRequest, match=r"AE-ID \(7\) already allocated at PR"):
        add(vnc, g4, a[4], ae_num=3)
    with pytest.raises(BadRequest, match="out of range"):
        add(vnc, g2, b[1], ae_num=128)
    # A group's delete gives its ids back: 0 is free again on router a.
    vnc.virtual_port_group_delete(id=g1.uuid)
    add(vnc, g2, a[0], a[1])
    assert ae_nums(vnc, g2) == {b[0].uuid: 0, a[0].uuid: 0, a[1].uuid: 0}


def test_ae_ids_run_out_at_128_per_router(vnc, name):
    fab = fabric(vnc, name)
    pis = interfaces(vnc, name, 2 * 129)
    for i in range(128):
        add(vnc, group(vnc, fab, f"vpg-{i}"), pis[2 * i], pis[2 * i + 1])
    last = group(vnc, fab, "vpg-128")
    with pytest.raises(BadRequest, match="ResourceExhaustionError: when allocating AE-ID"):
        add(vnc, last, pis[256], pis[257])
    # vnc_api adds refs one ref-update at a time (in no fixed order): the first, alone, needed
    # no id and stays; the second was refused.
    left = ae_nums(vnc, last)
    assert list(left.values()) == [None] and set(left) < {pis[256].uuid, pis[257].uuid}


# ---- bare-metal ports placed in groups by their bindings ----

def baremetal_port(vnc, project, vn, name, links=(), vpg=None, vlan=None, untagged=None):
    """A port whose bindings are a bare-metal server's: its links ((router, interface, fabric))
    and the group it names, tagged with `vlan` or untagged with `untagged`."""
    kvs = [KeyValuePair(key="vnic_type", value="baremetal")]
    if links:
        lli = [{"switch_info": pr, "port_id": pi, "fabric": fab} for pr, pi, fab in links]
        kvs.append(KeyValuePair(key="profile",
                                value=json.dumps({"local_link_information": lli})))
    if vpg:
        kvs.append(KeyValuePair(key="vpg", value=vpg))
    if untagged:
        kvs.append(KeyValuePair(key="tor_port_vlan_id", value=str(untagged)))
    vmi = VirtualMachineInterface(name, parent_obj=project,
                                  virtual_machine_interface_bindings=KeyValuePairs(kvs))
    if vlan:
        vmi.set_virtual_machine_interface_properties(
            VirtualMachineInterfacePropertiesType(sub_interface_vlan_tag=vlan))
    vmi.set_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    return vmi


def networks(vnc, project, count):
    vns = []
    for i in range(count):
        vn = VirtualNetwork(f"vn-{i}", parent_obj=project)
        vnc.virtual_network_create(vn)
        vns.append(vn)
    return vns


def group_ports(vnc, fab, vpg_name):
    vpg = vnc.virtual_port_group_read(fq_name=fab.get_fq_name() + [vpg_name])
    return vpg, sorted(r["uuid"] for r in vpg.get_virtual_machine_interface_refs() or [])


def test_a_baremetal_port_makes_or_joins_its_group(vnc, name, project):
    fab = fabric(vnc, name)
    pis = interfaces(vnc, name, 4)
    vn = networks(vnc, project, 3)
    links = [(name, "xe-0/0/0", name), (name, "xe-0/0/1", name)]
    first = baremetal_port(vnc, project, vn[0], "bms-1", links, vlan=10)
    vpg, ports = group_ports(vnc, fab, "vpg-internal-0")
    assert ports == [first.uuid]
    assert vpg.get_virtual_port_group_user_created() is False
    # The group holds the links' interfaces, multi-homed: an AE id for the router.
    assert ae_nums(vnc, vpg) == {pis[0].uuid: 0, pis[1].uuid: 0}
    assert pi_type(vnc, pis[0]) == "access"
    second = baremetal_port(vnc, project, vn[1], "bms-2", links, vpg="vpg-internal-0", vlan=20)
    assert group_ports(vnc, fab, "vpg-internal-0")[1] == sorted([first.uuid, second.uuid])
    # Enterprise style (the default): a network once per group, a VLAN once per group.
    with pytest.raises(BadRequest, match="already exists with virtual network"):
        baremetal_port(vnc, project, vn[0], "bms-3", links, vpg="vpg-internal-0", vlan=30)
    with pytest.raises(BadRequest, match="already exists with vlan 10"):
        baremetal_port(vnc, project, vn[2], "bms-4", links, vpg="vpg-internal-0", vlan=10)
    # Interfaces of a group are not another's; unknown interfaces and groups are 404.
    with pytest.raises(BadRequest, match="already belong to the vpg vpg-internal-0"):
        baremetal_port(vnc, project, vn[2], "bms-5", links, vlan=40)
    with pytest.raises(NoIdError, match="No such Physical Interface object"):
        baremetal_port(vnc, project, vn[2], "bms-6", [(name, "xe-9/9/9", name)], vlan=40)
    with pytest.raises(NoIdError, match="Vpg object nope is not found"):
        baremetal_port(vnc, project, vn[2], "bms-7", [(name, "xe-0/0/3", name)], vpg="nope",
                       vlan=40)
    with pytest.raises(BadRequest, match="Unable to retrieve fabric name"):
        baremetal_port(vnc, project, vn[2], "bms-7", vpg="vpg-internal-0", vlan=40)
    # Across the fabric: one VLAN per network, one network per VLAN.
    other = group(vnc, fab, "vpg-" + name)
    add(vnc, other, pis[2])
    link = [(name, "xe-0/0/2", name)]
    with pytest.raises(BadRequest, match=r"Virtual network:\(.*\) with other vlan\(10\)"):
        baremetal_port(vnc, project, vn[0], "bms-8", link, vpg="vpg-" + name, vlan=11)
    with pytest.raises(BadRequest, match=r"Vlan:\(20\) is already used"):
        baremetal_port(vnc, project, vn[2], "bms-9", link, vpg="vpg-" + name, vlan=20)
    same = baremetal_port(vnc, project, vn[0], "bms-10", link, vpg="vpg-" + name, vlan=10)
    assert group_ports(vnc, fab, "vpg-" + name)[1] == [same.uuid]
    # A port's VLAN changed by update is checked again, its own old place aside.
    same = vnc.virtual_machine_interface_read(id=same.uuid)
    same.set_virtual_machine_interface_properties(
        VirtualMachineInterfacePropertiesType(sub_interface_vlan_tag=20))
    with pytest.raises(BadRequest, match=r"Virtual network:\(.*\) with other vlan\(10\)"):
        vnc.virtual_machine_interface_update(same)
    second = vnc.virtual_machine_interface_read(id=second.uuid)
    second.set_virtual_machine_interface_properties(
        VirtualMachineInterfacePropertiesType(sub_interface_vlan_tag=21))
    vnc.virtual_machine_interface_update(second)
    # A port's delete takes it out of its group.
    vnc.virtual_machine_interface_delete(id=second.uuid)
    assert group_ports(vnc, fab, "vpg-internal-0")[1] == [first.uuid]
    # A server-made group goes with its last port, giving back its interfaces and its number.
    vnc.virtual_machine_interface_delete(id=first.uuid)
    with pytest.raises(NoIdError):
        vnc.virtual_port_group_read(fq_name=fab.get_fq_name() + ["vpg-internal-0"])
    assert pi_type(vnc, pis[0]) is None
    again = baremetal_port(vnc, project, vn[1], "bms-11", links, vlan=20)
    assert group_ports(vnc, fab, "vpg-internal-0")[1] == [again.uuid]


def test_service_provider_fabric_vlans(vnc, name, project):
    fab = Fabric(name, fabric_enterprise_style=False)
    vnc.fabric_create(fab)
    interfaces(vnc, name, 1)
    vn = networks(vnc, project, 2)
    link = [(name, "xe-0/0/0", name)]
    baremetal_port(vnc, project, vn[0], "bms-1", link, vlan=10)
    # The same network on another VLAN, and another network on the same VLAN, are allowed.
    baremetal_port(vnc, project, vn[0], "bms-2", link, vpg="vpg-internal-0", vlan=11)
    baremetal_port(vnc, project, vn[1], "bms-3", link, vpg="vpg-internal-0", vlan=10)
    with pytest.raises(BadRequest, match="already exists with virtual network .* and vlan 10"):
        baremetal_port(vnc, project, vn[0], "bms-4", link, vpg="vpg-internal-0", vlan=10)
    # One untagged port per group.
    baremetal_port(vnc, project, vn[1], "bms-5", link, vpg="vpg-internal-0", untagged=100)
    with pytest.raises(BadRequest, match="already exists with untagged vlan"):
        baremetal_port(vnc, project, vn[0], "bms-6", link, vpg="vpg-internal-0", untagged=101)
    # A fabric that turns the checks off takes it.
    fab = vnc.fabric_read(id=fab.uuid)
    fab.set_disable_vlan_vn_uniqueness_check(True)
    vnc.fabric_update(fab)
    baremetal_port(vnc, project, vn[0], "bms-7", link, vpg="vpg-internal-0", untagged=101)
