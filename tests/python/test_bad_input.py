"""Bad input gets a 4xx naming the field and object, and nothing stored changes."""

import json

import pytest
import requests

from test_objects import make_vn


def snapshot(controller, project):
    """Everything under the project, as the API serves it."""
    r = requests.get(controller.url + "/virtual-networks",
                     params={"parent_id": project.uuid, "detail": "True"}, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text)
    return json.dumps(r.json(), sort_keys=True)


def check_rejected(controller, project, method, path, status, needle, **kw):
    assert needle, "say what the error must mention"
    before = snapshot(controller, project)
    r = requests.request(method, controller.url + path, timeout=10, **kw)
    assert r.status_code == status, (r.status_code, r.text)
    assert needle in r.text, r.text
    assert snapshot(controller, project) == before
    return r


def test_malformed_and_wrongly_typed_bodies(controller, vnc, project, name):
    vn = make_vn(vnc, project, name)
    fq = project.get_fq_name() + [name + "-new"]
    post = lambda body: dict(data=body if isinstance(body, str) else json.dumps(body),
                             headers={"Content-Type": "application/json"})
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "malformed JSON",
                   **post('{"virtual-network": {'))
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "virtual-network",
                   **post({"virtual-networkz": {"fq_name": fq}}))
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "virtual_network_properties",
                   **post({"virtual-network": {"fq_name": fq, "parent_type": "project",
                                               "virtual_network_properties": {"forwarding_mode": "bogus"}}}))
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "unknown field 'colour'",
                   **post({"virtual-network": {"fq_name": fq, "parent_type": "project", "colour": "red"}}))
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "fq_name",
                   **post({"virtual-network": {"fq_name": ["default-domain", "", "x"]}}))
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "fq_name",
                   **post({"virtual-network": {"fq_name": "not-a-list"}}))
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "ip_prefix_len",
                   **post({"virtual-network": {"fq_name": fq, "parent_type": "project", "network_ipam_refs": [
                       {"to": ["default-domain", "default-project", "default-network-ipam"],
                        "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.0.0.0", "ip_prefix_len": "x"}}]}}]}}))
    # A ref to an object of the wrong type.
    check_rejected(controller, project, "POST", "/virtual-machine-interfaces", 400, "not a virtual-network",
                   **post({"virtual-machine-interface": {"fq_name": project.get_fq_name() + [name + "-vmi"],
                                                         "parent_type": "project",
                                                         "virtual_network_refs": [{"uuid": project.uuid}]}}))
    # Updates are checked the same way and leave the object as it was.
    check_rejected(controller, project, "PUT", f"/virtual-network/{vn.uuid}", 400, "is_shared",
                   **post({"virtual-network": {"is_shared": "maybe"}}))
    check_rejected(controller, project, "PUT", f"/virtual-network/{vn.uuid}", 400, "fq_name cannot be changed",
                   **post({"virtual-network": {"fq_name": ["a", "b", "c"]}}))
    check_rejected(controller, project, "GET", "/virtual-network/" + "0" * 36, 404, "No virtual-network")
    check_rejected(controller, project, "GET", "/no-such-things", 404, "unknown collection")


def test_oversized_body_is_413(controller, project, name):
    big = json.dumps({"virtual-network": {"fq_name": project.get_fq_name() + [name],
                                          "display_name": "x" * (9 * 1024 * 1024)}})
    check_rejected(controller, project, "POST", "/virtual-networks", 413, "length limit exceeded",
                   data=big, headers={"Content-Type": "application/json"})


def test_overlapping_subnets_and_gateway_outside(controller, project, name):
    ipam = ["default-domain", "default-project", "default-network-ipam"]
    body = lambda subnets: {"virtual-network": {
        "fq_name": project.get_fq_name() + [name], "parent_type": "project",
        "network_ipam_refs": [{"to": ipam, "attr": {"ipam_subnets": subnets}}]}}
    check_rejected(controller, project, "POST", "/virtual-networks", 400, "Overlapping addresses",
                   json=body([{"subnet": {"ip_prefix": "10.0.0.0", "ip_prefix_len": 16}},
                              {"subnet": {"ip_prefix": "10.0.1.0", "ip_prefix_len": 24}}]))
    # Contrail answers a gateway outside its subnet with 409.
    check_rejected(controller, project, "POST", "/virtual-networks", 409, "gateway Ip 10.9.9.9 out of cidr",
                   json=body([{"subnet": {"ip_prefix": "10.0.0.0", "ip_prefix_len": 24},
                               "default_gateway": "10.9.9.9"}]))
