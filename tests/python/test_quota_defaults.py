"""Default quotas the operator gives the controller (`--quota-default`, Contrail's `[QUOTA]`
config section), through the real `vnc_api` client: a default per type and `defaults` for every
type bound projects that set no quota of their own; a project's own quota wins; types outside
QuotaType have no quota; a host-based service is allowed only where a limit of 1 says so."""

import subprocess
import uuid

import pytest
from vnc_api.exceptions import BadRequest, OverQuota
from vnc_api.gen.resource_xsd import (IpamSubnetType, QuotaType, SubnetType, VnSubnetsType)
from vnc_api.vnc_api import (HostBasedService, InterfaceRouteTable, NetworkIpam, Project,
                             VirtualNetwork, VncApi)

from conftest import Controller, controller_bin

DEFAULTS = ["--quota-default", "virtual_network=2,subnet=3",
            "--quota-default", "defaults=4"]


@pytest.fixture(scope="module", params=["embedded", "etcd"])
def limited(request):
    """A controller started with default quotas, on each store."""
    store = "embedded"
    if request.param == "etcd":
        store = request.getfixturevalue("etcd").url
    c = Controller(store=store, args=DEFAULTS)
    yield c
    c.close()


@pytest.fixture()
def api(limited):
    return VncApi(api_server_host="127.0.0.1", api_server_port=str(limited.port),
                  auth_type="noauth")


@pytest.fixture()
def tenant(api, name):
    p = Project(name, parent_obj=api.domain_read(fq_name=["default-domain"]))
    api.project_create(p)
    return api.project_read(id=p.uuid)


def network(project, subnets=()):
    vn = VirtualNetwork(str(uuid.uuid4()), parent_obj=project)
    if subnets:
        ipam = NetworkIpam(str(uuid.uuid4()), parent_obj=project)
        vn.add_network_ipam(ipam, VnSubnetsType(
            [IpamSubnetType(subnet=SubnetType(s, 24)) for s in subnets]))
        return vn, ipam
    return vn, None


def test_type_default_bounds_a_project_without_quota(api, tenant):
    for _ in range(2):
        api.virtual_network_create(network(tenant)[0])
    with pytest.raises(OverQuota):
        api.virtual_network_create(network(tenant)[0])


def test_project_quota_wins_over_the_default(api, tenant):
    tenant.set_quota(QuotaType(virtual_network=3))
    api.project_update(tenant)
    for _ in range(3):
        api.virtual_network_create(network(tenant)[0])
    with pytest.raises(OverQuota):
        api.virtual_network_create(network(tenant)[0])
    tenant.set_quota(QuotaType(virtual_network=-1))
    api.project_update(tenant)
    for _ in range(2):
        api.virtual_network_create(network(tenant)[0])


def test_default_bounds_again_once_an_update_clears_the_projects_quota(api, tenant):
    tenant.set_quota(QuotaType(virtual_network=5))
    api.project_update(tenant)
    for _ in range(2):
        api.virtual_network_create(network(tenant)[0])
    tenant = api.project_read(id=tenant.uuid)
    tenant.set_quota(QuotaType(virtual_network=None))
    api.project_update(tenant)
    # The type's default (2) bounds the project again.
    with pytest.raises(OverQuota):
        api.virtual_network_create(network(tenant)[0])


def test_defaults_item_bounds_other_quota_types_only(api, tenant):
    for _ in range(4):
        api.network_ipam_create(NetworkIpam(str(uuid.uuid4()), parent_obj=tenant))
    with pytest.raises(OverQuota):
        api.network_ipam_create(NetworkIpam(str(uuid.uuid4()), parent_obj=tenant))
    # An interface route table has no field in QuotaType: no quota at all.
    for _ in range(6):
        api.interface_route_table_create(InterfaceRouteTable(str(uuid.uuid4()),
                                                             parent_obj=tenant))


def test_subnet_default_counts_the_projects_subnets(api, tenant):
    vn, ipam = network(tenant, ["10.1.0.0", "10.2.0.0"])
    api.network_ipam_create(ipam)
    api.virtual_network_create(vn)
    more, ipam2 = network(tenant, ["10.3.0.0", "10.4.0.0"])
    api.network_ipam_create(ipam2)
    with pytest.raises(OverQuota):
        api.virtual_network_create(more)


def test_host_based_service_defaults_to_none_per_project(api, tenant):
    # `defaults=4` does not reach it: any limit but 0 or 1 means 0.
    with pytest.raises(OverQuota):
        api.host_based_service_create(HostBasedService("hbs", parent_obj=tenant))
    tenant.set_quota(QuotaType(host_based_service=1))
    api.project_update(tenant)
    api.host_based_service_create(HostBasedService("hbs", parent_obj=tenant))
    with pytest.raises(OverQuota):
        api.host_based_service_create(HostBasedService("hbs2", parent_obj=tenant))


def test_host_based_service_limit_is_zero_or_one(vnc, project):
    """Without operator defaults: Contrail's one host-based service per project, once allowed."""
    with pytest.raises(OverQuota):
        vnc.host_based_service_create(HostBasedService("hbs", parent_obj=project))
    project.set_quota(QuotaType(host_based_service=1))
    vnc.project_update(project)
    hbs = HostBasedService("hbs", parent_obj=project)
    vnc.host_based_service_create(hbs)
    assert vnc.host_based_service_read(id=hbs.uuid).get_host_based_service_type() == "firewall"
    with pytest.raises(OverQuota):
        vnc.host_based_service_create(HostBasedService("hbs2", parent_obj=project))
    for bad in (2, -1):
        project.set_quota(QuotaType(host_based_service=bad))
        with pytest.raises(BadRequest):
            vnc.project_update(project)
    project.set_quota(QuotaType(host_based_service=None))
    vnc.project_update(project)
    with pytest.raises(OverQuota):
        vnc.host_based_service_create(HostBasedService("hbs2", parent_obj=project))


def test_a_projects_own_defaults_field_is_not_a_limit(vnc, project):
    """Contrail reads `defaults` from its config only, never from the project's quota."""
    project.set_quota(QuotaType(defaults=1))
    vnc.project_update(project)
    for _ in range(3):
        vnc.virtual_network_create(network(project)[0])


@pytest.mark.parametrize("item,says", [
    ("virtual_networks=3", "virtual_networks is not a quota type"),
    ("subnet", "expected TYPE=LIMIT"),
    ("subnet=many", "is not an integer"),
])
def test_a_bad_quota_default_stops_the_controller(tmp_path, item, says):
    out = subprocess.run(
        [controller_bin(), "--data-dir", str(tmp_path), "--roles", "config",
         "--api-listen", "127.0.0.1:0", "--quota-default", item],
        capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert says in out.stderr
