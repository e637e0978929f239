"""--auth keystone=URL: a real Keystone (PyPI `keystone` on SQLite, served on loopback by the
stdlib's WSGI server) issues the tokens; `vnc_api` with `auth_type='keystone'` obtains them as
it does against Contrail, and cirrus-controller validates them with Keystone.

Keystone is set up here: keystone.conf in a temporary directory, `keystone-manage db_sync`,
`fernet_setup`, `credential_setup`, `bootstrap` (the admin), then a service user (role
`service`) and two member users in their own projects through Keystone's API. Its process is
stopped by its PID and its directory removed at the end, also on failure.
"""

import getpass
import grp
import os
import subprocess
import sys
import tempfile
import time

import pytest
import requests
from vnc_api.exceptions import AuthFailed, PermissionDenied
from vnc_api.vnc_api import VirtualNetwork, VncApi

from conftest import Controller, allow_role, free_port, stop_process, wait_http

DOMAIN = "Default"


def keystone_manage():
    exe = os.path.join(os.path.dirname(sys.executable), "keystone-manage")
    if os.path.exists(exe):
        return exe
    why = f"{exe} not found: scripts/install-test-deps.sh installs PyPI keystone into the venv"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    print(f"SKIP test_keystone_auth: {why}", file=sys.stderr)
    pytest.skip(why)


SERVE = """
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, WSGIRequestHandler, make_server
from keystone.server import wsgi

class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

app = wsgi.initialize_public_application()
make_server("127.0.0.1", int(os.environ["CIRRUS_KEYSTONE_PORT"]), app, server_class=Server, handler_class=Quiet).serve_forever()
"""


class Keystone:
    """A real Keystone on a free loopback port, with an admin, a service user and members."""

    def __init__(self):
        manage = keystone_manage()
        started = time.time()
        self.dir = tempfile.mkdtemp(prefix="cirrus-keystone-")
        self.proc = None
        self.port = free_port()
        self.conf = os.path.join(self.dir, "keystone.conf")
        with open(self.conf, "w") as f:
            f.write(f"[database]\nconnection = sqlite:///{self.dir}/keystone.db\n"
                    f"[token]\nprovider = fernet\n"
                    # the fewest bcrypt rounds: users and tokens in seconds, not minutes
                    f"[identity]\npassword_hash_rounds = 4\n"
                    f"[fernet_tokens]\nkey_repository = {self.dir}/fernet-keys\n"
                    f"[credential]\nkey_repository = {self.dir}/credential-keys\n")
        self.log = open(os.path.join(self.dir, "keystone.log"), "w")
        me = ["--keystone-user", getpass.getuser(),
              "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
        try:
            for cmd in (["db_sync"], ["fernet_setup", *me], ["credential_setup", *me],
                        ["bootstrap", "--bootstrap-password", "adminpw",
                         "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
                         "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
                         "--bootstrap-region-id", "RegionOne",
                         "--bootstrap-public-url", self.url + "/v3"]):
                subprocess.run([manage, "--config-file", self.conf, *cmd], check=True,
                               stdout=self.log, stderr=subprocess.STDOUT)
            env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=self.conf,
                       CIRRUS_KEYSTONE_PORT=str(self.port))
            self.proc = subprocess.Popen([sys.executable, "-c", SERVE], env=env,
                                         stdout=self.log, stderr=subprocess.STDOUT)
            wait_http(self.url + "/v3", self.proc, timeout=60)
            self.users()
        except BaseException:
            self.stop()
            raise
        self.setup_seconds = time.time() - started

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def token(self, user, password, project):
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": DOMAIN}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": DOMAIN}}}}}
        r = requests.post(self.url + "/v3/auth/tokens", json=body, timeout=10)
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"], r.json()["token"]

    def api(self, method, path, token, body=None):
        r = requests.request(method, self.url + "/v3" + path, json=body, timeout=10,
                             headers={"X-Auth-Token": token})
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json() if r.text else None

    def users(self):
        """The service user (role `service` in project `service`) and members m1, m2 of
        projects p1, p2."""
        admin, _ = self.token("admin", "adminpw", "admin")
        roles = {r["name"]: r["id"] for r in self.api("GET", "/roles", admin)["roles"]}
        if "service" not in roles:
            roles["service"] = self.api("POST", "/roles", admin, {"role": {"name": "service"}})["role"]["id"]
        self.projects = {}
        for user, project, role in [("cirrus", "service", "service"),
                                    ("m1", "p1", "member"), ("m2", "p2", "member")]:
            p = self.api("POST", "/projects", admin,
                         {"project": {"name": project, "domain_id": "default"}})["project"]
            u = self.api("POST", "/users", admin,
                         {"user": {"name": user, "password": user + "pw",
                                   "domain_id": "default"}})["user"]
            self.api("PUT", f"/projects/{p['id']}/users/{u['id']}/roles/{roles[role]}", admin)
            self.projects[project] = p["id"]

    def stop(self):
        stop_process(self.proc, self.log, self.dir)


def dashed(keystone_id):
    import uuid
    return str(uuid.UUID(keystone_id))


@pytest.fixture(scope="module")
def keystone():
    k = Keystone()
    print(f"keystone setup took {k.setup_seconds:.1f}s", file=sys.stderr)
    yield k
    k.stop()

def keystone_controller(keystone, neutron=False):
    """A controller validating tokens against `keystone` as its `cirrus` service user; with
    `neutron`, also serving the Neutron API on a free port (its URL in `c.neutron`)."""
    creds = os.path.join(keystone.dir, "cirrus-service.conf")
    with open(creds, "w") as f:
        f.write("[keystone_authtoken]\nusername = cirrus\npassword = cirruspw\n"
                "project_name = service\n")
    port = free_port() if neutron else None
    args = ["--neutron-listen", f"127.0.0.1:{port}"] if neutron else []
    c = Controller(auth=f"keystone={keystone.url}/v3,credentials={creds}", args=args)
    if neutron:
        c.neutron = f"http://127.0.0.1:{port}"
    return c


@pytest.fixture(scope="module")
def cirrus(keystone):
    c = keystone_controller(keystone)
    allow_role(vnc(c, keystone, "admin", "admin"), "member")
    yield c
    c.close()


def vnc(cirrus, keystone, user, project):
    host, port = keystone.url.removeprefix("http://").split(":")
    return VncApi(username=user, password=user + "pw", tenant_name=project,
                  domain_name=DOMAIN, api_server_host="127.0.0.1",
                  api_server_port=str(cirrus.port), auth_type="keystone",
                  auth_host=host, auth_port=port, auth_protocol="http",
                  auth_url="/v3/auth/tokens")


def test_a_member_works_in_its_keystone_project(cirrus, keystone):
    m1 = vnc(cirrus, keystone, "m1", "p1")
    # The project was created on first use, with Keystone's id (dashed) as its uuid.
    p1 = m1.project_read(id=dashed(keystone.projects["p1"]))
    assert p1.get_fq_name() == ["default-domain", "p1"]
    assert p1.display_name == "p1"
    vn = VirtualNetwork("ks-vn1", parent_obj=p1)
    m1.virtual_network_create(vn)
    assert m1.virtual_network_read(id=vn.uuid).get_fq_name() == ["default-domain", "p1", "ks-vn1"]
    assert [v["uuid"] for v in m1.virtual_networks_list(parent_id=p1.uuid)["virtual-networks"]] == [vn.uuid]


def test_a_member_cannot_touch_another_projects_objects_but_the_admin_can(cirrus, keystone):
    m1 = vnc(cirrus, keystone, "m1", "p1")
    m2 = vnc(cirrus, keystone, "m2", "p2")
    p2 = m2.project_read(id=dashed(keystone.projects["p2"]))
    vn2 = VirtualNetwork("ks-vn2", parent_obj=p2)
    m2.virtual_network_create(vn2)
    with pytest.raises(PermissionDenied):
        m1.virtual_network_read(id=vn2.uuid)
    with pytest.raises(PermissionDenied):
        m1.virtual_network_delete(id=vn2.uuid)
    with pytest.raises(PermissionDenied):
        m1.virtual_network_create(VirtualNetwork("intruder", parent_obj=p2))
    assert vn2.uuid not in {v["uuid"] for v in m1.virtual_networks_list()["virtual-networks"]}
    # Keystone's admin role makes the cloud admin: it reads and changes p2's network.
    admin = vnc(cirrus, keystone, "admin", "admin")
    seen = admin.virtual_network_read(id=vn2.uuid)
    seen.set_display_name("renamed by admin")
    admin.virtual_network_update(seen)
    assert m2.virtual_network_read(id=vn2.uuid).display_name == "renamed by admin"
    admin.virtual_network_delete(id=vn2.uuid)


def test_no_or_bad_token_is_401(cirrus, keystone):
    assert requests.get(cirrus.url + "/virtual-networks").status_code == 401
    r = requests.get(cirrus.url + "/virtual-networks", headers={"X-Auth-Token": "not-a-token"})
    assert r.status_code == 401
    assert "Keystone does not accept this token" in r.text
    token, _ = keystone.token("m1", "m1pw", "p1")
    assert requests.get(cirrus.url + "/virtual-networks",
                        headers={"X-Auth-Token": token}).status_code == 200
    # vnc_api given a bad token does not re-authenticate: its first request gets the 401.
    with pytest.raises(AuthFailed, match="Keystone does not accept this token"):
        VncApi(api_server_host="127.0.0.1", api_server_port=str(cirrus.port),
               auth_type="noauth", auth_token="not-a-token")


def test_keystone_down_is_a_clear_503(keystone, tmp_path):
    creds = tmp_path / "creds"
    creds.write_text("username = cirrus\npassword = cirruspw\nproject_name = service\n")
    dead = f"http://127.0.0.1:{free_port()}"
    c = Controller(auth=f"keystone={dead},credentials={creds}")
    try:
        token, _ = keystone.token("m1", "m1pw", "p1")
        r = requests.get(c.url + "/virtual-networks", headers={"X-Auth-Token": token})
        assert r.status_code == 503
        assert f"Keystone at {dead} is unreachable" in r.text
    finally:
        c.close()


def test_token_cache_serves_repeat_requests_without_keystone(cirrus, keystone):
    token, _ = keystone.token("m2", "m2pw", "p2")
    h = {"X-Auth-Token": token}
    assert requests.get(cirrus.url + "/virtual-networks", headers=h).status_code == 200
    keystone.proc.send_signal(19)  # SIGSTOP: Keystone stops answering
    try:
        t0 = time.time()
        assert requests.get(cirrus.url + "/virtual-networks", headers=h, timeout=10).status_code == 200
        assert time.time() - t0 < 2, "a cached token must not wait for Keystone"
    finally:
        keystone.proc.send_signal(18)  # SIGCONT


def test_the_consoles_control_view_validates_keystone_tokens(keystone, tmp_path):
    from test_intent import ControlController
    creds = tmp_path / "creds"
    creds.write_text("username = cirrus\npassword = cirruspw\nproject_name = service\n")
    c = ControlController(auth=f"keystone={keystone.url},credentials={creds}")
    try:
        # Fresh tokens, never seen by the API routes: the control view validates them itself.
        admin, _ = keystone.token("admin", "adminpw", "admin")
        member, _ = keystone.token("m1", "m1pw", "p1")
        url = c.url + "/ui/control/bgp/neighbors"
        assert requests.get(url, headers={"X-Auth-Token": admin}).status_code == 200
        assert requests.get(url, headers={"X-Auth-Token": member}).status_code == 403
        assert requests.get(url, headers={"X-Auth-Token": "junk"}).status_code == 401
    finally:
        c.close()


def test_a_project_in_another_keystone_domain_lands_in_that_vnc_domain(cirrus, keystone):
    """Contrail's keystone sync: a non-default Keystone domain becomes a VNC domain of that
    name with the Keystone id as its uuid, and its projects go under it."""
    admin, _ = keystone.token("admin", "adminpw", "admin")
    dom = keystone.api("POST", "/domains", admin, {"domain": {"name": "engineering"}})["domain"]
    p = keystone.api("POST", "/projects", admin,
                     {"project": {"name": "p3", "domain_id": dom["id"]}})["project"]
    u = keystone.api("POST", "/users", admin,
                     {"user": {"name": "m3", "password": "m3pw", "domain_id": dom["id"]}})["user"]
    roles = {r["name"]: r["id"] for r in keystone.api("GET", "/roles", admin)["roles"]}
    keystone.api("PUT", f"/projects/{p['id']}/users/{u['id']}/roles/{roles['member']}", admin)
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "m3", "domain": {"id": dom["id"]}, "password": "m3pw"}}},
        "scope": {"project": {"id": p["id"]}}}}
    r = requests.post(keystone.url + "/v3/auth/tokens", json=body, timeout=10)
    assert r.status_code == 201, r.text
    h = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    got = requests.get(f"{cirrus.url}/project/{dashed(p['id'])}", headers=h)
    assert got.status_code == 200, got.text
    assert got.json()["project"]["fq_name"] == ["engineering", "p3"]
    assert got.json()["project"]["parent_uuid"] == dashed(dom["id"])
    d = requests.get(f"{cirrus.url}/domain/{dashed(dom['id'])}", headers=h)
    assert d.status_code == 200 and d.json()["domain"]["fq_name"] == ["engineering"]


class TlsProxy:
    """Keystone behind TLS: a loopback listener that terminates TLS with `cert`/`key` and
    forwards the bytes to Keystone's plain port. Threads end with the process's sockets."""

    def __init__(self, cert, key, target_port):
        import socket
        import ssl
        import threading
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.target = target_port
        self.open = True
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        import socket
        import threading
        while self.open:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                tls = self.ctx.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                continue
            up = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((tls, up), (up, tls)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.open = False
        self.sock.close()


def test_keystone_over_https_with_a_ca_file(keystone, tmp_path):
    from test_tls import make_ca, openssl
    d = str(tmp_path)
    ca = make_ca(d, "ca")
    other_ca = make_ca(d, "other-ca")
    (tmp_path / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "ks.key", "-out", "ks.csr", cwd=d)
    openssl("x509", "-req", "-in", "ks.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "ks.pem", cwd=d)
    proxy = TlsProxy(f"{d}/ks.pem", f"{d}/ks.key", keystone.port)
    creds = tmp_path / "creds"
    creds.write_text("username = cirrus\npassword = cirruspw\nproject_name = service\n")
    url = f"https://127.0.0.1:{proxy.port}/v3"
    token, _ = keystone.token("m1", "m1pw", "p1")
    try:
        for cafile, expect in ((ca, 200), (other_ca, 503)):
            c = Controller(auth=f"keystone={url},credentials={creds},cafile={cafile}")
            try:
                r = requests.get(c.url + "/", headers={"X-Auth-Token": token})
                assert r.status_code == expect, r.text
                if expect == 503:
                    assert f"Keystone at https://127.0.0.1:{proxy.port}" in r.text
                    assert "TLS" in r.text
            finally:
                c.close()
    finally:
        proxy.close()
    # A cafile on a plain http URL is a mistake the controller names at start.
    import subprocess
    from conftest import controller_bin
    bad = subprocess.run([controller_bin(), "--roles", "config", "--auth",
                          f"keystone={keystone.url},credentials={creds},cafile={ca}"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "cafile= is for https://" in bad.stderr
