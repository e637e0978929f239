"""Fixtures for the VNC API suite: a real `cirrus-controller` per store backend (the embedded
redb file, and a real etcd started here), and the real `vnc_api` client against it.

Every process started here is stopped by its PID when the fixture ends, also on failure, and
every data directory is a fresh temporary one.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def controller_bin():
    path = os.environ.get("CIRRUS_CONTROLLER_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "cirrus-controller")
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: build it first (cargo build -p cirrus-controller)")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, timeout=30, verify=True):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            requests.get(url, timeout=1, verify=verify)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")



def stop_process(proc, log, directory):
    """Ends a server a test started (SIGTERM, then SIGKILL after 10 s), closes its log and
    removes its directory."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.close()
    shutil.rmtree(directory, ignore_errors=True)


class Etcd:
    """A real etcd (Debian etcd-server) on free loopback ports."""

    def __init__(self):
        exe = shutil.which("etcd") or "/usr/bin/etcd"
        if not os.path.exists(exe):
            pytest.fail("etcd not found: apt-get install etcd-server (scripts/install-test-deps.sh does)")
        self.dir = tempfile.mkdtemp(prefix="cirrus-etcd-")
        self.port = free_port()
        peer = free_port()
        self.log = open(os.path.join(self.dir, "etcd.log"), "w")
        self.proc = subprocess.Popen(
            [exe, "--name", "t", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", f"http://127.0.0.1:{self.port}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.port}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"t=http://127.0.0.1:{peer}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_http(f"http://127.0.0.1:{self.port}/health", self.proc)

    @property
    def url(self):
        return f"etcd://127.0.0.1:{self.port}"

    def stop(self):
        stop_process(self.proc, self.log, self.dir)


class Controller:
    """One cirrus-controller process; restartable on the same data dir or store. With `ca` (a
    CA file) it is reached over https (give it --tls-cert/--tls-key in `args`)."""

    ca = None

    def __init__(self, store="embedded", auth=None, data_dir=None, args=()):
        self.store = store
        self.auth = auth
        self.extra_args = list(args)
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="cirrus-api-")
        self.port = free_port()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        args = [controller_bin(), "--api-listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir, "--store", self.store, "--log", "warn",
                # The API only: several controllers run at once and must not race for BGP :179
                # and introspect :8083.
                "--roles", "config"]
        if self.auth:
            args += ["--auth", self.auth]
        args += self.extra_args
        self.log = open(os.path.join(self.data_dir, "controller.log"), "a")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_http(self.url + "/", self.proc, verify=self.ca or True)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def etcd():
    e = Etcd()
    yield e
    e.stop()


@pytest.fixture(scope="session", params=["embedded", "etcd"])
def controller(request):
    store = "embedded"
    if request.param == "etcd":
        store = request.getfixturevalue("etcd").url
    c = Controller(store=store)
    yield c
    c.close()


@pytest.fixture()
def vnc(controller):
    from vnc_api.vnc_api import VncApi
    return VncApi(api_server_host="127.0.0.1", api_server_port=str(controller.port), auth_type="noauth")


@pytest.fixture()
def name():
    """A name unique to this test, so tests can share one controller."""
    return "t-" + uuid.uuid4().hex[:10]


@pytest.fixture()
def project(vnc, name):
    from vnc_api.vnc_api import Project
    p = Project(name, parent_obj=vnc.domain_read(fq_name=["default-domain"]))
    vnc.project_create(p)
    return vnc.project_read(id=p.uuid)


def allow_role(admin, role, rule_object="*", crud="CRUD", parent=None):
    """Adds `<rule_object> <role>:<crud>` to an api-access-list: the project's or domain's
    `default-api-access-list` under `parent` (made if missing), else the global one. Under
    `--aaa-mode rbac` (the default) a role may do nothing without such a rule, as on Contrail."""
    from vnc_api.vnc_api import (ApiAccessList, RbacPermType, RbacRuleEntriesType,
                                 RbacRuleType)
    from vnc_api.exceptions import NoIdError
    if parent is None:
        fq = ["default-global-system-config", "default-api-access-list"]
    else:
        fq = list(parent.get_fq_name()) + ["default-api-access-list"]
    try:
        aal = admin.api_access_list_read(fq_name=fq)
    except NoIdError:
        aal = ApiAccessList("default-api-access-list", parent_obj=parent,
                            api_access_list_entries=RbacRuleEntriesType([]))
        admin.api_access_list_create(aal)
    entries = aal.get_api_access_list_entries() or RbacRuleEntriesType([])
    entries.add_rbac_rule(RbacRuleType(rule_object=rule_object, rule_field=None,
                                       rule_perms=[RbacPermType(role_name=role, role_crud=crud)]))
    aal.set_api_access_list_entries(entries)
    admin.api_access_list_update(aal)
    return aal
