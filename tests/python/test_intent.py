"""The intent compiler through the real vnc_api client against a real cirrus-controller running
both roles (the compiler runs in the control role): what Contrail's schema transformer derives
appears in the API, and goes away when its cause does."""

import os
import time

import pytest
from vnc_api.gen.resource_xsd import (AclEntriesType, ActionListType, AddressType,
                                      PolicyEntriesType, PolicyRuleType, PortType, SequenceType,
                                      VirtualNetworkPolicyType)
from vnc_api.vnc_api import (NetworkPolicy, SecurityGroup, VirtualMachineInterface,
                             VirtualNetwork)

from conftest import Controller, allow_role, free_port


class ControlController(Controller):
    """A controller with the control role too, on free BGP and introspect ports, without the
    vrouter channel."""

    def start(self):
        import subprocess
        from conftest import controller_bin, wait_http
        self.bgp_port = getattr(self, "bgp_port", None) or free_port()
        self.introspect_port = free_port()
        args = [controller_bin(), "--api-listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir, "--store", self.store, "--log", "info",
                "--roles", "config,control", "--hostname", f"intent-{self.port}",
                "--bgp-address", "127.0.0.1", "--bgp-port", str(self.bgp_port),
                "--introspect-listen", f"127.0.0.1:{self.introspect_port}",
                # No vrouters here: a fixed channel port would collide between controllers.
                "--channel-listen", "none"]
        if self.auth:
            args += ["--auth", self.auth]
        self.log = open(os.path.join(self.data_dir, "controller.log"), "a")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_http(self.url + "/", self.proc)


@pytest.fixture(scope="module", params=["embedded", "etcd"])
def controller(request):
    store = "embedded"
    if request.param == "etcd":
        store = request.getfixturevalue("etcd").url
    c = ControlController(store=store)
    yield c
    c.close()


def eventually(what, check, timeout=20):
    """Polls `check` until it returns something truthy; fails naming `what`."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - not there yet
            last = e
        time.sleep(0.2)
    pytest.fail(f"{what}: not true after {timeout}s (last: {last!r})")


def network(vnc, project, name):
    vn = VirtualNetwork(name, parent_obj=project)
    vnc.virtual_network_create(vn)
    return vnc.virtual_network_read(id=vn.uuid)


def instance(vnc, vn):
    return vnc.routing_instance_read(fq_name=vn.get_fq_name() + [vn.name])


def targets(vnc, vn):
    ri = instance(vnc, vn)
    return {":".join(r["to"]): getattr(r.get("attr"), "import_export", None)
            for r in ri.get_route_target_refs() or []}


def own_target(vnc, vn):
    auto = [t for t in targets(vnc, vn) if int(t.split(":")[2]) >= 8000000]
    return auto[0] if len(auto) == 1 else None


def connections(vnc, vn):
    return sorted(":".join(r["to"]) for r in instance(vnc, vn).get_routing_instance_refs() or [])


def acl(vnc, fq):
    return vnc.access_control_list_read(fq_name=fq)


def allow(project, name, a, b):
    return NetworkPolicy(name, parent_obj=project, network_policy_entries=PolicyEntriesType([
        PolicyRuleType(direction="<>", protocol="tcp", ethertype="IPv4",
                       src_addresses=[AddressType(virtual_network=":".join(a.get_fq_name()))],
                       dst_addresses=[AddressType(virtual_network=":".join(b.get_fq_name()))],
                       src_ports=[PortType(-1, -1)], dst_ports=[PortType(80, 80)],
                       action_list=ActionListType(simple_action="pass"))]))


def test_a_network_gets_its_own_route_target(vnc, project, name):
    vn = network(vnc, project, name)
    rt = eventually("the network's instance refers to its own target", lambda: own_target(vnc, vn))
    assert rt.startswith("target:64512:")
    assert targets(vnc, vn)[rt] is None, "its own target is imported and exported"
    assert instance(vnc, vn).get_routing_instance_is_default() is True
    assert vnc.route_target_read(fq_name=[rt]).uuid
    # Another network gets another number.
    other = network(vnc, project, name + "-2")
    assert eventually("the second network's target", lambda: own_target(vnc, other)) != rt


def test_policies_make_acls_and_connect_networks_only_both_ways(vnc, project, name):
    red = network(vnc, project, name + "-red")
    blue = network(vnc, project, name + "-blue")
    pol = allow(project, name, red, blue)
    vnc.network_policy_create(pol)
    seq = VirtualNetworkPolicyType(sequence=SequenceType(0, 0))
    red.add_network_policy(pol, seq)
    vnc.virtual_network_update(red)
    red_acl_fq = red.get_fq_name() + [red.name]
    entries = eventually("red's ACL", lambda: acl(vnc, red_acl_fq)).get_access_control_list_entries()
    rule_uuid = vnc.network_policy_read(id=pol.uuid).get_network_policy_entries().policy_rule[0].rule_uuid
    passes = [r for r in entries.acl_rule if r.action_list.simple_action == "pass" and r.rule_uuid == rule_uuid]
    assert [(r.match_condition.src_address.virtual_network, r.match_condition.dst_port.start_port)
            for r in passes] == [(":".join(red.get_fq_name()), 80), (":".join(blue.get_fq_name()), -1)]
    assert entries.acl_rule[-1].rule_uuid == "00000000-0000-0000-0000-100000000001"
    # Only red allows blue: no leak yet.
    time.sleep(1)
    assert connections(vnc, red) == []
    # Blue allows red too: their instances connect.
    blue = vnc.virtual_network_read(id=blue.uuid)
    blue.add_network_policy(pol, seq)
    vnc.virtual_network_update(blue)
    blue_ri = ":".join(blue.get_fq_name() + [blue.name])
    red_ri = ":".join(red.get_fq_name() + [red.name])
    eventually("red's instance connected to blue's", lambda: connections(vnc, red) == [blue_ri])
    eventually("blue's instance connected to red's", lambda: connections(vnc, blue) == [red_ri])
    # Detaching the policy from blue removes the leak and blue's ACL.
    blue = vnc.virtual_network_read(id=blue.uuid)
    blue.del_network_policy(pol)
    vnc.virtual_network_update(blue)
    eventually("the connection is gone", lambda: connections(vnc, red) == [] and connections(vnc, blue) == [])

    def blue_acl_gone():
        try:
            acl(vnc, blue.get_fq_name() + [blue.name])
            return False
        except Exception:  # noqa: BLE001 - NoIdError
            return True
    eventually("blue's ACL is gone", blue_acl_gone)
    # The networks can still be deleted with their derived ACLs and instances.
    red = vnc.virtual_network_read(id=red.uuid)
    red.del_network_policy(pol)
    vnc.virtual_network_update(red)
    vnc.virtual_network_delete(id=red.uuid)
    vnc.virtual_network_delete(id=blue.uuid)
    vnc.network_policy_delete(id=pol.uuid)


def test_a_connected_network_can_be_deleted(vnc, project, name):
    """Its ACL and instance go with it although the other instance still refers to it; the
    compiler then drops the other side's connection."""
    red = network(vnc, project, name + "-red")
    blue = network(vnc, project, name + "-blue")
    pol = allow(project, name, red, blue)
    vnc.network_policy_create(pol)
    seq = VirtualNetworkPolicyType(sequence=SequenceType(0, 0))
    for vn in (red, blue):
        vn.add_network_policy(pol, seq)
        vnc.virtual_network_update(vn)
    red_ri = ":".join(red.get_fq_name() + [red.name])
    eventually("blue connected to red", lambda: connections(vnc, blue) == [red_ri])
    vnc.virtual_network_delete(id=red.uuid)
    eventually("blue's connection dropped", lambda: connections(vnc, blue) == [])
    blue = vnc.virtual_network_read(id=blue.uuid)
    blue.del_network_policy(pol)
    vnc.virtual_network_update(blue)
    vnc.virtual_network_delete(id=blue.uuid)
    vnc.network_policy_delete(id=pol.uuid)


def test_security_group_gets_ingress_and_egress_acls(vnc, project, name):
    web = SecurityGroup(name + "-web", parent_obj=project)
    vnc.security_group_create(web)
    web = vnc.security_group_read(id=web.uuid)
    db = SecurityGroup(name + "-db", parent_obj=project, security_group_entries=PolicyEntriesType([
        PolicyRuleType(direction=">", protocol="tcp", ethertype="IPv4",
                       src_addresses=[AddressType(security_group=":".join(web.get_fq_name()))],
                       dst_addresses=[AddressType(security_group="local")],
                       src_ports=[PortType(0, 65535)], dst_ports=[PortType(5432, 5432)]),
        PolicyRuleType(direction=">", protocol="any", ethertype="IPv4",
                       src_addresses=[AddressType(security_group="local")],
                       dst_addresses=[AddressType(security_group="any")],
                       src_ports=[PortType(0, 65535)], dst_ports=[PortType(0, 65535)])]))
    vnc.security_group_create(db)
    ingress = eventually("db's ingress ACL", lambda: acl(vnc, db.get_fq_name() + ["ingress-access-control-list"]))
    rules = ingress.get_access_control_list_entries().acl_rule
    assert len(rules) == 1
    m = rules[0].match_condition
    assert m.src_address.security_group == str(web.get_security_group_id())
    assert m.protocol == "6" and m.dst_port.start_port == 5432
    egress = acl(vnc, db.get_fq_name() + ["egress-access-control-list"]).get_access_control_list_entries()
    assert [r.match_condition.dst_address.security_group for r in egress.acl_rule] == ["-1"]
    # The group goes, and its ACLs with it.
    vnc.security_group_delete(id=db.uuid)
    vnc.security_group_delete(id=web.uuid)


def test_a_port_reads_back_with_its_native_instance(vnc, project, name):
    vn = network(vnc, project, name)
    vmi = VirtualMachineInterface(name, parent_obj=project)
    vmi.add_virtual_network(vn)
    vnc.virtual_machine_interface_create(vmi)
    ri = instance(vnc, vn)

    def native():
        refs = vnc.virtual_machine_interface_read(id=vmi.uuid).get_routing_instance_refs() or []
        return [r for r in refs if r["uuid"] == ri.uuid]
    refs = eventually("the port's ref to its network's instance", native)
    assert refs[0]["attr"].direction == "both"
    vnc.virtual_machine_interface_delete(id=vmi.uuid)
    vnc.virtual_network_delete(id=vn.uuid)


def test_a_takeover_after_a_crash_keeps_every_number(name):
    """Two controllers on one etcd (their own, so no other controller holds the lease): one
    compiles; killed, the other takes over within the lease's TTL, finds every number already
    given and gives the next networks new ones."""
    import signal
    from conftest import Etcd
    from vnc_api.vnc_api import Project, VncApi
    etcd = Etcd()
    a = ControlController(store=etcd.url)
    b = ControlController(store=etcd.url)
    try:
        api_a = VncApi(api_server_host="127.0.0.1", api_server_port=str(a.port), auth_type="noauth")
        api_b = VncApi(api_server_host="127.0.0.1", api_server_port=str(b.port), auth_type="noauth")
        proj = Project(name, parent_obj=api_a.domain_read(fq_name=["default-domain"]))
        api_a.project_create(proj)
        proj = api_a.project_read(id=proj.uuid)
        before = [network(api_a, proj, f"{name}-{i}") for i in range(3)]
        given = {vn.uuid: eventually("a target", lambda vn=vn: own_target(api_a, vn)) for vn in before}
        # Whoever holds the lease, kill it without letting it release anything.
        holder = a if "holding the lease" in open(os.path.join(a.data_dir, "controller.log")).read() else b
        survivor, api = (b, api_b) if holder is a else (a, api_a)
        holder.stop(sig=signal.SIGKILL)
        after = [network(api, proj, f"{name}-late-{i}") for i in range(3)]
        late = {vn.uuid: eventually("a target after the takeover", lambda vn=vn: own_target(api, vn), timeout=40)
                for vn in after}
        # Nothing lost, nothing given twice.
        assert {vn.uuid: own_target(api, vn) for vn in before} == given
        numbers = list(given.values()) + list(late.values())
        assert len(set(numbers)) == len(numbers), numbers
        assert "holding the lease" in open(os.path.join(survivor.data_dir, "controller.log")).read()
    finally:
        a.close()
        b.close()
        etcd.stop()


def test_a_tenant_reads_the_acls_of_its_own_network(name):
    """Derived ACLs carry their network's ownership: with token auth, the member who owns
    the network reads its ACL; another tenant may not."""
    import tempfile
    from vnc_api.exceptions import PermissionDenied
    from vnc_api.vnc_api import Project, VncApi
    d = tempfile.mkdtemp(prefix="cirrus-auth-")
    tokens = os.path.join(d, "tokens")
    with open(tokens, "w") as f:
        f.write("adm admin default-domain:default-project\n"
                f"t1 member default-domain:{name}-1\n"
                f"t2 member default-domain:{name}-2\n")
    c = ControlController(auth=f"token-file={tokens}")
    try:
        api = lambda token: VncApi(api_server_host="127.0.0.1", api_server_port=str(c.port),  # noqa: E731
                                   auth_type="noauth", auth_token=token)
        admin, t1, t2 = api("adm"), api("t1"), api("t2")
        allow_role(admin, "member")
        domain = admin.domain_read(fq_name=["default-domain"])
        for i in (1, 2):
            admin.project_create(Project(f"{name}-{i}", parent_obj=domain))
        p1 = t1.project_read(fq_name=["default-domain", f"{name}-1"])
        vn = network(t1, p1, "net")
        pol = allow(p1, "pol", vn, vn)
        t1.network_policy_create(pol)
        vn.add_network_policy(pol, VirtualNetworkPolicyType(sequence=SequenceType(0, 0)))
        t1.virtual_network_update(vn)
        fq = vn.get_fq_name() + [vn.name]
        entries = eventually("the owner reads its network's ACL", lambda: acl(t1, fq)).get_access_control_list_entries()
        assert entries.acl_rule
        with pytest.raises(PermissionDenied):
            t2.access_control_list_read(id=acl(admin, fq).uuid)
    finally:
        c.close()
