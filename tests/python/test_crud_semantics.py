"""What Contrail's api-server does around plain create/update/delete (its test_crud_basic
behaviours that Cirrus once missed), through the real `vnc_api` client."""

import pytest
from vnc_api.exceptions import BadRequest, NoIdError
from vnc_api.gen.resource_xsd import PolicyBasedForwardingRuleType, ServiceHealthCheckType
from vnc_api.vnc_api import (ServiceHealthCheck, VirtualMachineInterface, VirtualNetwork)


def network(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    return vn


def port_on(vnc, project, vn, name, **kw):
    p = VirtualMachineInterface(name, parent_obj=project, **kw)
    p.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(p)
    return p


def test_port_is_linked_to_its_networks_primary_instance_on_create(vnc, project, name):
    vn = network(vnc, project, name)
    p = port_on(vnc, project, vn, name)
    refs = vnc.virtual_machine_interface_read(id=p.uuid).get_routing_instance_refs()
    assert [r["to"] for r in refs] == [vn.get_fq_name() + [name]]
    assert refs[0]["attr"].direction == "both"


def test_network_delete_takes_ports_links_to_its_instance(vnc, project, name):
    """A port that left the network but still names its primary instance does not block the
    network's delete; the link goes with the instance."""
    vn = network(vnc, project, name)
    ri = vnc.routing_instance_read(fq_name=vn.get_fq_name() + [name])
    p = VirtualMachineInterface(name, parent_obj=project)
    p.add_virtual_network(vn)
    p.add_routing_instance(ri, PolicyBasedForwardingRuleType())
    vnc.virtual_machine_interface_create(p)
    other = network(vnc, project, name + "-other")
    p.set_virtual_network(other)
    vnc.virtual_machine_interface_update(p)
    vnc.virtual_network_delete(id=vn.uuid)
    with pytest.raises(NoIdError):
        vnc.routing_instance_read(id=ri.uuid)
    refs = vnc.virtual_machine_interface_read(id=p.uuid).get_routing_instance_refs() or []
    assert ri.uuid not in [r["uuid"] for r in refs]


def test_port_outside_service_instance_takes_only_link_local_health_checks(vnc, project, name):
    vn = network(vnc, project, name)
    p = port_on(vnc, project, vn, name)
    checks = {}
    for kind in ("end-to-end", "link-local"):
        shc = ServiceHealthCheck(f"{name}-{kind}", parent_obj=project,
                                 service_health_check_properties=ServiceHealthCheckType(
                                     enabled=True, health_check_type=kind))
        checks[kind] = vnc.service_health_check_create(shc)
    with pytest.raises(BadRequest):
        vnc.ref_update("virtual-machine-interface", p.uuid, "service-health-check",
                       checks["end-to-end"], None, "ADD")
    vnc.ref_update("virtual-machine-interface", p.uuid, "service-health-check",
                   checks["link-local"], None, "ADD")
    refs = vnc.virtual_machine_interface_read(id=p.uuid).get_service_health_check_refs()
    assert [r["uuid"] for r in refs] == [checks["link-local"]]


def test_list_anchors_combine(vnc, name):
    """parent_id, back_ref_id, obj_uuids and filters narrow one another (each alone is not the
    answer once another is given)."""
    from vnc_api.gen.resource_xsd import FirewallServiceType
    from vnc_api.vnc_api import FirewallPolicy, FirewallRule, Project
    a, b = Project(name + "-a"), Project(name + "-b")
    vnc.project_create(a)
    vnc.project_create(b)
    fr = FirewallRule(name, parent_obj=a, service=FirewallServiceType())
    vnc.firewall_rule_create(fr)
    label = name + "-label"
    plain = FirewallPolicy(name + "-plain", parent_obj=a, display_name=label)
    ruled = FirewallPolicy(name + "-ruled", parent_obj=a, display_name=label)
    other = FirewallPolicy(name + "-other", parent_obj=a)
    elsewhere = FirewallPolicy(name + "-elsewhere", parent_obj=b)
    for fp in (ruled, other, elsewhere):
        fp.add_firewall_rule(fr)
    for fp in (plain, ruled, other, elsewhere):
        vnc.firewall_policy_create(fp)

    def uuids(**kw):
        return {r["uuid"] for r in vnc.firewall_policys_list(**kw)["firewall-policys"]}

    assert uuids(parent_id=[a.uuid, b.uuid]) == {plain.uuid, ruled.uuid, other.uuid,
                                                 elsewhere.uuid}
    assert uuids(parent_id=a.uuid, back_ref_id=fr.uuid) == {ruled.uuid, other.uuid}
    assert uuids(parent_id=a.uuid, back_ref_id=fr.uuid,
                 filters={"display_name": label}) == {ruled.uuid}
    assert uuids(obj_uuids=[plain.uuid, ruled.uuid], back_ref_id=fr.uuid) == {ruled.uuid}
    assert uuids(obj_uuids=[elsewhere.uuid], parent_id=a.uuid) == set()


def test_useragent_kv_keys_and_operations(controller, name):
    import requests
    url = controller.url + "/useragent-kv"
    for k in ("one", "two"):
        r = requests.post(url, json={"operation": "STORE", "key": f"{name}-{k}", "value": k})
        assert r.status_code == 200, r.text
    r = requests.post(url, json={"operation": "RETRIEVE",
                                 "key": [f"{name}-one", f"{name}-two", f"{name}-none"]})
    assert r.status_code == 200 and sorted(r.json()["value"]) == ["one", "two"], r.text
    r = requests.post(url, json={"operation": "RETRIEVE"})
    assert {"key": f"{name}-one", "value": "one"} in r.json()["value"]
    r = requests.post(url, json={"operation": "frobnicate", "key": f"{name}-one"})
    assert r.status_code == 404, r.text


def test_list_summary_fields_and_unknown_filters(vnc, project, name):
    """A summary list with fields gives fq_name, uuid, href and those fields only; a filter on
    a field the type does not have is ignored."""
    for i in range(3):
        vnc.virtual_network_create(VirtualNetwork(f"{name}-{i}", parent_obj=project,
                                                  display_name=f"{name}-{i}", is_shared=True,
                                                  router_external=False))
    listed = vnc.virtual_networks_list(parent_id=project.uuid,
                                       fields=["router_external"])["virtual-networks"]
    assert len(listed) == 3
    for d in listed:
        assert set(d) == {"fq_name", "uuid", "href", "router_external"}, d
        assert d["router_external"] is False
    one = vnc.virtual_networks_list(filters={"display_name": f"{name}-2"},
                                    fields=["is_shared", "router_external"])["virtual-networks"]
    assert [(d["is_shared"], d["router_external"]) for d in one] == [(True, False)]
    assert set(one[0]) == {"fq_name", "uuid", "href", "is_shared", "router_external"}
    ignored = vnc.virtual_networks_list(parent_id=project.uuid, filters={"no_such_field": "x"})
    assert len(ignored["virtual-networks"]) == 3


def test_paging_limits_and_markers(controller, vnc, project, name):
    """A page limit must be positive (400 otherwise); a walk started with page_marker=None
    always gets a marker back, null once everything is listed."""
    import requests
    for i in range(3):
        vnc.virtual_network_create(VirtualNetwork(f"{name}-{i}", parent_obj=project))
    url = controller.url + "/virtual-networks"
    for limit in (-1, 0):
        r = requests.get(url, params={"page_marker": "None", "page_limit": limit})
        assert r.status_code == 400 and "page_limit" in r.text, (limit, r.text)
    r = requests.get(url, params={"page_marker": "None", "parent_id": project.uuid})
    assert r.status_code == 200 and r.json()["marker"] is None
    assert len(r.json()["virtual-networks"]) == 3
    seen, marker = [], "None"
    for _ in range(5):
        page = requests.get(url, params={"page_marker": marker, "page_limit": 2,
                                         "parent_id": project.uuid}).json()
        seen += [v["uuid"] for v in page["virtual-networks"]]
        marker = page["marker"]
        if marker is None:
            break
    assert len(seen) == 3 and len(set(seen)) == 3


def test_list_by_fq_names_and_uuids_is_their_union(vnc, project, name):
    vns = []
    for i in range(4):
        vn = VirtualNetwork(f"{name}-{i}", parent_obj=project)
        vnc.virtual_network_create(vn)
        vns.append(vn)
    listed = vnc.resource_list("virtual-network", fq_names=[v.get_fq_name() for v in vns[:2]],
                               obj_uuids=[v.uuid for v in vns[2:]])["virtual-networks"]
    assert sorted(d["uuid"] for d in listed) == sorted(v.uuid for v in vns)
    only_names = vnc.resource_list("virtual-network",
                                   fq_names=[vns[0].get_fq_name(), project.fq_name + ["none"]])
    assert [d["uuid"] for d in only_names["virtual-networks"]] == [vns[0].uuid]
