"""Host-based services as Contrail's api-server checks them, through the real `vnc_api`
client: one network per role, and no left or right network attached by a client (the server
makes and attaches those, and deletes them with the service), and `/hbs-get`."""

import json

import pytest
import requests
from vnc_api.exceptions import BadRequest, NoIdError
from vnc_api.gen.resource_xsd import (KeyValuePair, KeyValuePairs, QuotaType,
                                      ServiceVirtualNetworkType)
from vnc_api.vnc_api import HostBasedService, Project, VirtualMachineInterface, VirtualNetwork


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
    # The service has its own left and right networks now: another is one too many.
    for role in ("left", "right"):
        with pytest.raises(BadRequest, match=f"type {role} cannot be referenced by more than one"):
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



def k8s_project(vnc, name):
    p = Project(name, parent_obj=vnc.domain_read(fq_name=["default-domain"]))
    p.set_quota(QuotaType(host_based_service=1))
    p.set_annotations(KeyValuePairs([KeyValuePair("namespace", "k8test"),
                                     KeyValuePair("cluster", "c1")]))
    vnc.project_create(p)
    return vnc.project_read(id=p.uuid)


def test_a_service_comes_with_its_left_and_right_networks(vnc, allowed, name):
    hbs = HostBasedService(name, parent_obj=allowed)
    vnc.host_based_service_create(hbs)
    hbs = vnc.host_based_service_read(id=hbs.uuid)
    assert hbs.get_host_based_service_type() == "firewall"
    by_role = {r["attr"].virtual_network_type: r for r in hbs.get_virtual_network_refs()}
    assert sorted(by_role) == ["left", "right"]
    for role, prefix in (("left", "0.1.0.0"), ("right", "0.2.0.0")):
        ref = by_role[role]
        assert ref["to"] == allowed.get_fq_name() + [f"__{name}-hbf-{role}__"]
        vn = vnc.virtual_network_read(id=ref["uuid"])
        (ipam_ref,) = vn.get_network_ipam_refs()
        assert ipam_ref["to"] == ["default-domain", "default-project", "default-network-ipam"]
        (subnet,) = ipam_ref["attr"].ipam_subnets
        assert (subnet.subnet.ip_prefix, subnet.subnet.ip_prefix_len) == (prefix, 16)
        assert vn.get_virtual_network_network_id() is not None
        assert vn.get_routing_instances()[0]["to"][-1] == vn.name
    # An update naming the networks keeps them; one that does not name them leaves them alone.
    hbs.set_virtual_network_list([])
    with pytest.raises(BadRequest, match="hbf-left Virtual network reference cannot be updated"):
        vnc.host_based_service_update(hbs)
    hbs = vnc.host_based_service_read(id=hbs.uuid)
    hbs.set_display_name("renamed")
    vnc.host_based_service_update(hbs)
    # The networks go with the service.
    vnc.host_based_service_delete(id=hbs.uuid)
    for ref in by_role.values():
        with pytest.raises(NoIdError):
            vnc.virtual_network_read(id=ref["uuid"])


def test_a_service_whose_networks_have_ports_stays(vnc, allowed, name):
    hbs = HostBasedService(name, parent_obj=allowed)
    vnc.host_based_service_create(hbs)
    hbs = vnc.host_based_service_read(id=hbs.uuid)
    left = [r for r in hbs.get_virtual_network_refs()
            if r["attr"].virtual_network_type == "left"][0]
    vmi = VirtualMachineInterface(name, parent_obj=allowed)
    vmi.set_virtual_network(vnc.virtual_network_read(id=left["uuid"]))
    vnc.virtual_machine_interface_create(vmi)
    with pytest.raises(BadRequest, match="got interfaces, cannot be removed"):
        vnc.host_based_service_delete(id=hbs.uuid)
    vnc.virtual_machine_interface_delete(id=vmi.uuid)
    vnc.host_based_service_delete(id=hbs.uuid)


def hbs_get(vnc, body):
    return requests.post(f"http://{vnc._web_host}:{vnc._web_port}/hbs-get", data=body,
                         headers={"Content-Type": "application/json"})


def test_hbs_get_gives_the_kubernetes_objects(vnc, name):
    project = k8s_project(vnc, name)
    mgmt = network(vnc, project, name + "-mgmt")
    hbs = HostBasedService(name, parent_obj=project)
    hbs.add_virtual_network(mgmt, ServiceVirtualNetworkType("management"))
    hbs.add_annotations(KeyValuePair(key="image", value="example.org/fw:1"))
    hbs.add_annotations(KeyValuePair(key="imagePullSecrets", value="s3cret"))
    vnc.host_based_service_create(hbs)
    by_name = hbs_get(vnc, json.dumps({"hbs_fq_name": hbs.get_fq_name()}))
    by_uuid = hbs_get(vnc, json.dumps({"hbs_uuid": hbs.uuid}))
    assert by_name.status_code == by_uuid.status_code == 200, by_name.text
    assert by_name.json() == by_uuid.json()
    left, right, ds = by_name.json()["hbs"]
    for obj, role in ((left, "left"), (right, "right")):
        assert obj["kind"] == "NetworkAttachmentDefinition"
        assert obj["metadata"]["name"] == role
        assert obj["metadata"]["namespace"] == "k8test"
        assert obj["metadata"]["annotations"]["opencontrail.org/network"] == (
            '{"domain":"default-domain", "project":"%s", "name":"__%s-hbf-%s__"}'
            % (name, name, role))
    assert ds["kind"] == "DaemonSet"
    assert ds["metadata"]["namespace"] == "k8test"
    pod = ds["spec"]["template"]
    assert pod["spec"]["containers"][0]["image"] == "example.org/fw:1"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "s3cret"}]
    assert pod["metadata"]["annotations"]["opencontrail.org/networks"] == (
        '{"domain":"default-domain", "project":"%s", "name":"%s-mgmt"}' % (name, name))


def test_hbs_get_refusals(vnc, allowed, name):
    assert hbs_get(vnc, b"").status_code == 400
    assert hbs_get(vnc, json.dumps({})).status_code == 400
    r = hbs_get(vnc, json.dumps({"hbs_fq_name": ["default-domain", name, "nothing"]}))
    assert r.status_code == 404
    # A project that is not a Kubernetes one (no namespace annotation).
    hbs = HostBasedService(name, parent_obj=allowed)
    vnc.host_based_service_create(hbs)
    r = hbs_get(vnc, json.dumps({"hbs_uuid": hbs.uuid}))
    assert r.status_code == 404 and "is not k8s project, namespace is not present" in r.text
