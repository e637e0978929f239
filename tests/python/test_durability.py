"""Nothing acknowledged is lost: clean restarts, and kill -9 in the middle of a stream of writes."""

import os
import random
import signal
import threading
import time

import requests

from conftest import Controller


def test_restart_serves_what_was_acknowledged(controller, vnc, project, name):
    from test_objects import make_vn
    vn = make_vn(vnc, project, name)
    controller.restart()
    from vnc_api.vnc_api import VncApi
    again = VncApi(api_server_host="127.0.0.1", api_server_port=str(controller.port), auth_type="noauth")
    got = again.virtual_network_read(id=vn.uuid)
    assert got.get_virtual_network_network_id() == vn.get_virtual_network_network_id()
    assert got.get_network_ipam_refs()[0]["attr"].ipam_subnets[0].subnet_uuid == \
        vn.get_network_ipam_refs()[0]["attr"].ipam_subnets[0].subnet_uuid


def test_kill_9_during_writes_loses_nothing_acknowledged():
    c = Controller()
    try:
        url = c.url
        proj = requests.post(url + "/projects", json={"project": {
            "fq_name": ["default-domain", "crash"], "parent_type": "domain"}}).json()["project"]
        vn = requests.post(url + "/virtual-networks", json={"virtual-network": {
            "fq_name": ["default-domain", "crash", "net"], "parent_type": "project",
            "network_ipam_refs": [{"to": ["default-domain", "default-project", "default-network-ipam"],
                                   "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.50.0.0",
                                                                        "ip_prefix_len": 16}}]}}]}}).json()
        vn_uuid = vn["virtual-network"]["uuid"]
        acked, refused, lock, stop = [], [], threading.Lock(), threading.Event()

        def writer(w):
            s = requests.Session()
            for i in range(100000):
                if stop.is_set():
                    return
                kind = "virtual-network" if i % 2 else "instance-ip"
                fq = ["default-domain", "crash", f"w{w}-{i}"] if kind == "virtual-network" else [f"ip-w{w}-{i}"]
                body = {"fq_name": fq}
                if kind == "virtual-network":
                    body["parent_type"] = "project"
                else:
                    body["virtual_network_refs"] = [{"uuid": vn_uuid}]
                try:
                    r = s.post(f"{url}/{kind}s", json={kind: body}, timeout=10)
                except requests.RequestException as e:
                    with lock:
                        refused.append(f"writer {w}: {e}")
                    return
                with lock:
                    if r.status_code == 200:
                        acked.append((kind, r.json()[kind]["uuid"]))
                    else:
                        refused.append(f"writer {w}: {r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        target = random.randint(40, 200)
        # The writers must get there: if they all stop, or the controller stops acknowledging,
        # the test fails saying so instead of waiting for ever.
        deadline = time.monotonic() + 60
        while True:
            with lock:
                if len(acked) >= target:
                    break
                done, why = len(acked), refused[-3:]
            if not any(t.is_alive() for t in threads):
                stop.set()
                raise AssertionError(f"every writer stopped after {done} of {target} writes: {why}")
            if time.monotonic() > deadline:
                stop.set()
                for t in threads:
                    t.join()
                raise AssertionError(f"only {done} of {target} writes acknowledged in 60 s: {why}")
            time.sleep(0.01)
        os.kill(c.proc.pid, signal.SIGKILL)
        c.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        c.log.close()
        c.start()
        # Every acknowledged object is there, whole: a network with its routing instance and id,
        # an instance-ip with an address that nobody else holds.
        addrs = {}
        for kind, uuid in acked:
            r = requests.get(f"{c.url}/{kind}/{uuid}", params={"exclude_back_refs": "true"})
            assert r.status_code == 200, (kind, uuid, r.text)
            obj = r.json()[kind]
            if kind == "virtual-network":
                assert obj["virtual_network_network_id"] >= 1
                assert [ri["to"][-1] for ri in obj["routing_instances"]] == [obj["name"]]
            else:
                addrs.setdefault(obj["instance_ip_address"], []).append(uuid)
        assert all(len(v) == 1 for v in addrs.values())
        # Nothing is half there: every network in the store has its routing instance, and every
        # instance-ip's address is taken (a second request for it is refused).
        nets = requests.get(c.url + "/virtual-networks", params={"parent_id": proj["uuid"], "detail": "True"}).json()
        for n in nets["virtual-networks"]:
            full = requests.get(f"{c.url}/virtual-network/{n['virtual-network']['uuid']}").json()["virtual-network"]
            assert len(full.get("routing_instances", [])) == 1, full["fq_name"]
        ips = requests.get(c.url + "/instance-ips", params={"detail": "True"}).json()["instance-ips"]
        some = [i["instance-ip"] for i in ips if i["instance-ip"]["fq_name"][0].startswith("ip-w")][:20]
        for i in some:
            r = requests.post(c.url + "/instance-ips", json={"instance-ip": {
                "fq_name": ["dup-" + i["uuid"]], "instance_ip_address": i["instance_ip_address"],
                "virtual_network_refs": [{"uuid": vn_uuid}]}})
            assert r.status_code == 409, r.text
    finally:
        c.close()
