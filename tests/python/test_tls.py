"""--tls-cert/--tls-key: the VNC API over TLS, checked with vnc_api's `api_server_use_ssl` and a
CA file, as integrations (Avi's) connect. The CA and the server certificate (for 127.0.0.1) are
made here with openssl in a temporary directory, removed at the end."""

import os
import shutil
import subprocess
import tempfile

import pytest
import requests
from vnc_api.vnc_api import Project, VirtualNetwork, VncApi

from conftest import Controller


def openssl(*args, cwd):
    exe = shutil.which("openssl")
    if not exe:
        pytest.fail("openssl not found (Debian openssl)")
    subprocess.run([exe, *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)
    return os.path.join(d, f"{name}.pem")


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="cirrus-tls-")
    ca = make_ca(d, "ca")
    other_ca = make_ca(d, "other-ca")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=d)
    yield d, ca, other_ca
    shutil.rmtree(d, ignore_errors=True)


class TlsController(Controller):
    def __init__(self, ca, **kw):
        self.ca = ca
        super().__init__(**kw)


@pytest.fixture(scope="module")
def tls(pki):
    d, ca, _ = pki
    c = TlsController(ca, args=["--tls-cert", os.path.join(d, "server.pem"),
                                "--tls-key", os.path.join(d, "server.key")])
    yield c
    c.close()


def test_vnc_api_over_tls_with_a_ca_file(tls, pki):
    _, ca, _ = pki
    vnc = VncApi(api_server_host="127.0.0.1", api_server_port=str(tls.port),
                 api_server_use_ssl=True, apicafile=ca, auth_type="noauth")
    p = Project("tls-p", parent_obj=vnc.domain_read(fq_name=["default-domain"]))
    vnc.project_create(p)
    vn = VirtualNetwork("tls-vn", parent_obj=p)
    vnc.virtual_network_create(vn)
    assert vnc.virtual_network_read(id=vn.uuid).get_fq_name() == ["default-domain", "tls-p", "tls-vn"]
    assert vn.uuid in {v["uuid"] for v in vnc.virtual_networks_list()["virtual-networks"]}


def test_a_client_trusting_another_ca_or_speaking_plain_http_is_refused(tls, pki):
    _, _, other_ca = pki
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls.url + "/", verify=other_ca, timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls.port}/", timeout=5)
    # The server keeps serving after those failed handshakes.
    assert requests.get(tls.url + "/", verify=tls.ca, timeout=5).status_code == 200


def test_a_bad_key_pair_fails_at_start(pki, tmp_path):
    d, ca, other_ca = pki
    with pytest.raises(RuntimeError, match="exited"):
        Controller(data_dir=str(tmp_path), args=["--tls-cert", os.path.join(d, "server.pem"),
                                                 "--tls-key", os.path.join(d, "other-ca.key")])
    log = (tmp_path / "controller.log").read_text()
    assert "do not make a valid certificate and key pair" in log
