"""Per-project quotas as Contrail's api-server keeps them (its vnc_quota.py), through the real
`vnc_api` client: which project a resource counts against, what is counted, OverQuota on the
create or update that would pass the limit, and quotas changed or removed later."""

import threading
import uuid

import pytest
from vnc_api.exceptions import OverQuota
from vnc_api.gen.resource_xsd import (AddressType, IpamSubnetType, PolicyEntriesType,
                                      PolicyRuleType, PortType, QuotaType, SubnetType,
                                      VnSubnetsType)
from vnc_api.vnc_api import (FloatingIp, FloatingIpPool, LoadbalancerMember, LoadbalancerPool,
                             NetworkIpam, SecurityGroup, VirtualMachineInterface, VirtualNetwork,
                             VncApi)

from test_objects import make_vn


def set_quota(vnc, project, **limits):
    project = vnc.project_read(id=project.uuid)
    project.set_quota(QuotaType(**limits))
    vnc.project_update(project)
    return project


def race(controller, objs, create):
    """Creates every object at once, each from its own client; returns (created, over quota)."""
    counts, lock = {"ok": 0, "over": 0}, threading.Lock()

    def one(obj):
        client = VncApi(api_server_host="127.0.0.1", api_server_port=str(controller.port),
                        auth_type="noauth")
        try:
            getattr(client, create)(obj)
            key = "ok"
        except OverQuota:
            key = "over"
        with lock:
            counts[key] += 1

    threads = [threading.Thread(target=one, args=(o,)) for o in objs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts["ok"], counts["over"]


def port(project, vn):
    obj = VirtualMachineInterface(str(uuid.uuid4()), parent_obj=project)
    obj.set_virtual_network(vn)
    return obj


def test_quota_lowered_below_usage_refuses_creates_not_deletes(vnc, project, name):
    vn = make_vn(vnc, project, name)
    ports = [port(project, vn) for _ in range(3)]
    for p in ports:
        vnc.virtual_machine_interface_create(p)
    set_quota(vnc, project, virtual_machine_interface=2)
    with pytest.raises(OverQuota):
        vnc.virtual_machine_interface_create(port(project, vn))
    vnc.virtual_machine_interface_delete(id=ports[0].uuid)
    with pytest.raises(OverQuota):
        vnc.virtual_machine_interface_create(port(project, vn))
    vnc.virtual_machine_interface_delete(id=ports[1].uuid)
    vnc.virtual_machine_interface_create(port(project, vn))
    with pytest.raises(OverQuota):
        vnc.virtual_machine_interface_create(port(project, vn))
    # -1 is unlimited: the counter goes away and creates pass again.
    set_quota(vnc, project, virtual_machine_interface=-1)
    for _ in range(3):
        vnc.virtual_machine_interface_create(port(project, vn))


def test_port_quota_under_concurrent_creates_then_raised(controller, vnc, project, name):
    set_quota(vnc, project, virtual_machine_interface=3)
    vn = make_vn(vnc, project, name)
    assert race(controller, [port(project, vn) for _ in range(4)],
                "virtual_machine_interface_create") == (3, 1)
    set_quota(vnc, project, virtual_machine_interface=5)
    assert race(controller, [port(project, vn) for _ in range(4)],
                "virtual_machine_interface_create") == (2, 2)
    ports = vnc.virtual_machine_interfaces_list(parent_id=project.uuid)
    assert len(ports["virtual-machine-interfaces"]) == 5


def test_floating_ip_counts_against_its_project_ref(controller, vnc, project, name):
    """A floating IP sits under a pool; Contrail counts it against the project it refers to."""
    set_quota(vnc, project, floating_ip=3)
    ipam = NetworkIpam(name, parent_obj=project)
    vnc.network_ipam_create(ipam)
    vn = VirtualNetwork(name, parent_obj=project)
    vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType("11.1.1.0", 24))]))
    vnc.virtual_network_create(vn)
    pool = FloatingIpPool(name, parent_obj=vn)
    vnc.floating_ip_pool_create(pool)
    fips = []
    for _ in range(4):
        fip = FloatingIp(str(uuid.uuid4()), parent_obj=pool)
        fip.add_project(project)
        fips.append(fip)
    assert race(controller, fips, "floating_ip_create") == (3, 1)


def test_floating_ip_pool_counts_against_the_networks_project(controller, vnc, project, name):
    set_quota(vnc, project, floating_ip_pool=3)
    vn = VirtualNetwork(name, parent_obj=project, router_external=True)
    vnc.virtual_network_create(vn)
    pools = [FloatingIpPool(str(uuid.uuid4()), parent_obj=vn) for _ in range(4)]
    assert race(controller, pools, "floating_ip_pool_create") == (3, 1)


def test_quota_set_at_usage_refuses_the_next_pool(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project, router_external=True)
    vnc.virtual_network_create(vn)
    for _ in range(3):
        vnc.floating_ip_pool_create(FloatingIpPool(str(uuid.uuid4()), parent_obj=vn))
    set_quota(vnc, project, floating_ip_pool=3)
    with pytest.raises(OverQuota):
        vnc.floating_ip_pool_create(FloatingIpPool(str(uuid.uuid4()), parent_obj=vn))


def test_loadbalancer_member_counts_against_the_pools_project(controller, vnc, project, name):
    set_quota(vnc, project, loadbalancer_member=3)
    lb_pool = LoadbalancerPool(name, parent_obj=project)
    vnc.loadbalancer_pool_create(lb_pool)
    members = [LoadbalancerMember(str(uuid.uuid4()), parent_obj=lb_pool) for _ in range(4)]
    assert race(controller, members, "loadbalancer_member_create") == (3, 1)
    with pytest.raises(OverQuota):
        vnc.loadbalancer_member_create(LoadbalancerMember(str(uuid.uuid4()), parent_obj=lb_pool))


def rule(n):
    return PolicyRuleType(direction=">", protocol="any", ethertype="IPv4",
                          src_addresses=[AddressType(security_group="local")],
                          src_ports=[PortType(n, n)],
                          dst_addresses=[AddressType(subnet=SubnetType("0.0.0.0", 0))],
                          dst_ports=[PortType(0, 65535)])


def rules_of(vnc, sg):
    entries = vnc.security_group_read(id=sg.uuid).get_security_group_entries()
    return len(entries.get_policy_rule()) if entries else 0


def test_security_group_rule_quota_counts_rules_across_groups(vnc, project, name):
    set_quota(vnc, project, security_group_rule=5)
    first = SecurityGroup(name + "-1", parent_obj=project,
                          security_group_entries=PolicyEntriesType([rule(1)]))
    vnc.security_group_create(first)
    second = SecurityGroup(name + "-2", parent_obj=project)
    vnc.security_group_create(second)
    second.set_security_group_entries(PolicyEntriesType([rule(2), rule(3), rule(4)]))
    vnc.security_group_update(second)
    # 4 used: two more rules would make 6.
    second.set_security_group_entries(PolicyEntriesType([rule(p) for p in range(2, 7)]))
    with pytest.raises(OverQuota):
        vnc.security_group_update(second)
    assert rules_of(vnc, second) == 3
    second.set_security_group_entries(PolicyEntriesType([rule(p) for p in range(2, 6)]))
    vnc.security_group_update(second)
    assert rules_of(vnc, second) == 4
    third = SecurityGroup(name + "-3", parent_obj=project,
                          security_group_entries=PolicyEntriesType([rule(9)]))
    with pytest.raises(OverQuota):
        vnc.security_group_create(third)
    # Removing a rule frees its place; rewriting a group with as many rules is not growth.
    second.set_security_group_entries(PolicyEntriesType([rule(p) for p in range(2, 5)]))
    vnc.security_group_update(second)
    vnc.security_group_create(third)
    first.set_security_group_entries(PolicyEntriesType([rule(10)]))
    vnc.security_group_update(first)
    # A raised quota applies to the next update.
    set_quota(vnc, project, security_group_rule=6)
    third.set_security_group_entries(PolicyEntriesType([rule(9), rule(11)]))
    vnc.security_group_update(third)
    third.set_security_group_entries(PolicyEntriesType([rule(9), rule(11), rule(12)]))
    with pytest.raises(OverQuota):
        vnc.security_group_update(third)
    assert rules_of(vnc, third) == 2


def test_quota_holds_across_replicas(etcd, name):
    """Two replicas on one etcd take concurrent creates against one quota: the count one
    replica took is not trusted once the other has written (Contrail keeps one counter in
    ZooKeeper for all its api-servers)."""
    from conftest import Controller
    from vnc_api.vnc_api import Project
    replicas = [Controller(store=etcd.url)]
    try:
        replicas.append(Controller(store=etcd.url))
        clients = [VncApi(api_server_host="127.0.0.1", auth_type="noauth",
                          api_server_port=str(replicas[i % 2].port)) for i in range(16)]
        vnc = clients[0]
        project = Project(name, parent_obj=vnc.domain_read(fq_name=["default-domain"]))
        vnc.project_create(project)
        set_quota(vnc, project, virtual_machine_interface=5)
        vn = make_vn(vnc, project, name)
        ports = [port(project, vn) for _ in clients]
        counts, lock = {"ok": 0, "over": 0}, threading.Lock()
        start = threading.Barrier(len(ports))

        def one(client, obj):
            start.wait()
            try:
                client.virtual_machine_interface_create(obj)
                key = "ok"
            except OverQuota:
                key = "over"
            with lock:
                counts[key] += 1

        threads = [threading.Thread(target=one, args=a) for a in zip(clients, ports)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (counts["ok"], counts["over"]) == (5, 11)
        listed = vnc.virtual_machine_interfaces_list(parent_id=project.uuid)
        assert len(listed["virtual-machine-interfaces"]) == 5
    finally:
        for r in replicas:
            r.close()
