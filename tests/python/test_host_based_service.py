"""Host-based services as Contrail's api-server checks them, through the real `vnc_api`
client: one network per role, and no left or right network attached by a client (the server
attaches those)."""

import pytest
from vnc_api.exceptions import BadRequest
from vnc_api.gen.resource_xsd import QuotaType, ServiceVirtualNetworkType
from vnc_api.vnc_api import HostBasedService, VirtualNetwork


@pytest.fixture()
def allowed(vnc, project):
    project.set_quota(QuotaType(host_based_service=1))
    vnc.project_update(project)
    return project


def network(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    return vn


def test_left_and_right_networks_are_not_the_clients(vnc, allowed, name):
    vn = network(vnc, allowed, name)
    hbs = HostBasedService(name, parent_obj=allowed)
    hbs.add_virtual_network(vn, ServiceVirtualNetworkType("left"))
    with pytest.raises(BadRequest, match="hbf-left Virtual network reference cannot be created"):
        vnc.host_based_service_create(hbs)
    hbs = HostBasedService(name, parent_obj=allowed)
    vnc.host_based_service_create(hbs)
    for role in ("left", "right"):
        with pytest.raises(BadRequest, match=f"hbf-{role}"):
            vnc.ref_update("host-based-service", hbs.uuid, "virtual-network", vn.uuid, None,
                           "ADD", ServiceVirtualNetworkType(role))


def test_one_management_network(vnc, allowed, name):
    first, second = network(vnc, allowed, name + "-1"), network(vnc, allowed, name + "-2")
    hbs = HostBasedService(name, parent_obj=allowed)
    hbs.add_virtual_network(first, ServiceVirtualNetworkType("management"))
    vnc.host_based_service_create(hbs)
    with pytest.raises(BadRequest, match="more than one virtual network"):
        vnc.ref_update("host-based-service", hbs.uuid, "virtual-network", second.uuid, None,
                       "ADD", ServiceVirtualNetworkType("management"))
    vnc.ref_update("host-based-service", hbs.uuid, "virtual-network", first.uuid, None,
                   "DELETE", ServiceVirtualNetworkType("management"))
    vnc.ref_update("host-based-service", hbs.uuid, "virtual-network", second.uuid, None,
                   "ADD", ServiceVirtualNetworkType("management"))

