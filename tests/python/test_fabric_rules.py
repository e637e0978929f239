"""Fabric and physical-interface rules of Contrail's api-server (`fabric.py`,
`physical_interface.py`), through the real `vnc_api` client."""

import pytest
from vnc_api.exceptions import BadRequest, PermissionDenied
from vnc_api.vnc_api import Fabric, PhysicalInterface, PhysicalRouter


def router(vnc, name):
    pr = PhysicalRouter(name)
    vnc.physical_router_create(pr)
    return pr


def test_an_esi_is_ten_hex_octets(vnc, name):
    pr = router(vnc, name)
    for esi in ["00:11:22:33:44:55:66:77:88", "00-11-22-33-44-55-66-77-88-99",
                "0g:11:22:33:44:55:66:77:88:99"]:
        pi = PhysicalInterface(f"xe-{len(esi)}", parent_obj=pr, ethernet_segment_identifier=esi)
        with pytest.raises(BadRequest, match="Invalid ESI string format"):
            vnc.physical_interface_create(pi)
    pi = PhysicalInterface("ae1", parent_obj=pr,
                           ethernet_segment_identifier="00:11:22:33:44:55:66:77:88:99")
    vnc.physical_interface_create(pi)
    pi.set_ethernet_segment_identifier("00:11")
    with pytest.raises(BadRequest, match="Invalid ESI string format"):
        vnc.physical_interface_update(pi)


def test_display_name_is_unique_on_the_router_and_fixed(vnc, name):
    pr = router(vnc, name)
    first = PhysicalInterface("xe-0/0/0", parent_obj=pr)
    vnc.physical_interface_create(first)
    twin = PhysicalInterface("xe-0/0/1", parent_obj=pr, display_name="xe-0/0/0")
    with pytest.raises(PermissionDenied, match="Display name already used in another interface"):
        vnc.physical_interface_create(twin)
    # Another router may use the name.
    other = router(vnc, name + "-2")
    vnc.physical_interface_create(PhysicalInterface("xe-0/0/0", parent_obj=other))
    first.set_display_name("renamed")
    with pytest.raises(PermissionDenied, match="Cannot change display name"):
        vnc.physical_interface_update(first)


def test_interface_type_stays_once_set(vnc, name):
    pr = router(vnc, name)
    pi = PhysicalInterface("xe-0/0/2", parent_obj=pr)
    vnc.physical_interface_create(pi)
    pi.set_physical_interface_type("access")
    vnc.physical_interface_update(pi)
    pi = vnc.physical_interface_read(id=pi.uuid)
    pi.set_physical_interface_type("fabric")
    with pytest.raises(BadRequest, match="Cannot set physical interface type: fabric"):
        vnc.physical_interface_update(pi)
    pi.set_physical_interface_type("access")
    vnc.physical_interface_update(pi)


def test_a_fabric_keeps_its_style(vnc, name):
    fab = Fabric(name, fabric_enterprise_style=True)
    vnc.fabric_create(fab)
    fab.set_fabric_enterprise_style(False)
    with pytest.raises(PermissionDenied, match="Cannot change from sp-style to enterprise-style"):
        vnc.fabric_update(fab)
    fab.set_fabric_enterprise_style(True)
    vnc.fabric_update(fab)
