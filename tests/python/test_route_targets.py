"""Route targets as Contrail's api-server checks them, through the real `vnc_api` client: the
name of a route-target object, the targets users configure on networks and logical routers
(well formed, outside the range the system allocates from for the global ASN, stored
rewritten), and a global ASN change that would put configured targets into that range."""

import uuid

import pytest
from vnc_api.exceptions import BadRequest
from vnc_api.gen.resource_xsd import RouteTargetList
from vnc_api.vnc_api import GlobalSystemConfig, LogicalRouter, RouteTarget, VirtualNetwork


def global_asn(vnc):
    gsc = vnc.global_system_config_read(fq_name=GlobalSystemConfig().fq_name)
    return gsc.autonomous_system or 64512


@pytest.mark.parametrize("bad", ["not-enough-parts", "to:many:parts:in:it", "bad-prefix:1:1",
                                 "target:non-digit-asn:1", "target:1:non-digit",
                                 "target:40L:70000"])
def test_route_target_names(vnc, bad):
    with pytest.raises(BadRequest, match="Route [Tt]arget"):
        vnc.route_target_create(RouteTarget(bad))


def test_well_formed_route_target_names(vnc):
    n = uuid.uuid4().int % 60000 + 1
    for name in (f"target:1:{n}", f"target:192.0.2.1:{n}", f"target:41L:{n}"):
        rt = RouteTarget(name)
        vnc.route_target_create(rt)
        assert vnc.route_target_read(id=rt.uuid).name == name


def test_network_targets_stay_out_of_the_system_range(vnc, project, name):
    asn = global_asn(vnc)
    system = f"target:{asn}:8001000"
    vn = VirtualNetwork(name, parent_obj=project,
                        route_target_list=RouteTargetList([system]))
    with pytest.raises(BadRequest, match="different from global ASN"):
        vnc.virtual_network_create(vn)
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    for field in ("route_target_list", "import_route_target_list", "export_route_target_list"):
        vn = vnc.virtual_network_read(id=vn.uuid)
        getattr(vn, "set_" + field)(RouteTargetList([system]))
        with pytest.raises(BadRequest, match=field):
            vnc.virtual_network_update(vn)
    # Below the range, beyond it, or another ASN's: the user's own. A four-byte ASN's `L` and
    # leading zeros go, as Contrail rewrites them.
    vn = vnc.virtual_network_read(id=vn.uuid)
    vn.set_route_target_list(RouteTargetList([f"target:{asn}:7999999", f"target:{asn}:{(1 << 24) + 1}",
                                              "target:0065000:8001000", "target:40L:10"]))
    vnc.virtual_network_update(vn)
    got = vnc.virtual_network_read(id=vn.uuid).get_route_target_list().route_target
    assert got == [f"target:{asn}:7999999", f"target:{asn}:{(1 << 24) + 1}",
                   "target:65000:8001000", "target:40:10"]
    vn.set_route_target_list(RouteTargetList(["target:70000:1"]))
    with pytest.raises(BadRequest, match="ASN out of range"):
        vnc.virtual_network_update(vn)


def test_logical_router_targets_stay_out_of_the_system_range(vnc, project, name):
    lr = LogicalRouter(name, parent_obj=project, configured_route_target_list=RouteTargetList(
        [f"target:{global_asn(vnc)}:8000500"]))
    with pytest.raises(BadRequest, match="configured_route_target_list"):
        vnc.logical_router_create(lr)
    lr.set_configured_route_target_list(RouteTargetList(["target:192.0.2.1:8000500"]))
    vnc.logical_router_create(lr)


def test_global_asn_change_refused_while_targets_would_clash(vnc, project, name):
    other = global_asn(vnc) + 11
    vn = VirtualNetwork(name, parent_obj=project, route_target_list=RouteTargetList(
        [f"target:{other}:8000100"]))
    vnc.virtual_network_create(vn)
    gsc = vnc.global_system_config_read(fq_name=GlobalSystemConfig().fq_name)
    gsc.set_autonomous_system(other)
    with pytest.raises(BadRequest, match=f"target:{other}:8000100"):
        vnc.global_system_config_update(gsc)
    vnc.virtual_network_delete(id=vn.uuid)
