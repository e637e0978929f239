"""A real Neutron (PyPI `neutron`, ML2 with no mechanism drivers, the L3 router plugin) on
SQLite, served on a free loopback port by the stdlib's WSGI server and authenticating with the
same real Keystone as Cirrus (`keystonemiddleware`, Cirrus' service user): the reference the
side-by-side test compares Cirrus' Neutron API with.

`neutron-db-manage upgrade heads` fails on SQLite, so the tables are made from the models
(`neutron.db.migration.models.head.get_metadata().create_all`). The process is stopped by its
PID and its directory removed at the end, also on failure.
"""

import os
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import free_port, stop_process, wait_http

SERVE = """
import os
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, WSGIRequestHandler, make_server

import importlib.util
import neutron
import sqlalchemy
from neutron.db.migration.models import head

engine = sqlalchemy.create_engine(os.environ["CIRRUS_NEUTRON_DB"])
meta = head.get_metadata()
meta.create_all(engine)
# The rows a migration adds that create_all does not: the default security group rule
# templates (egress anywhere in every group; ingress from its members in the default group).
spec = importlib.util.spec_from_file_location("sg_templates", os.path.join(
    os.path.dirname(neutron.__file__), "db", "migration", "alembic_migrations", "versions",
    "2023.2", "expand", "c33da356b165_security_group_default_rules.py"))
templates = importlib.util.module_from_spec(spec)
spec.loader.exec_module(templates)
with engine.begin() as conn:
    for rule in templates.default_template_rules:
        rule = dict(rule)
        attr = conn.execute(meta.tables["standardattributes"].insert().values(
            description=rule.pop("description"), resource_type="securitygroupdefaultrules"))
        rule["standard_attr_id"] = attr.inserted_primary_key[0]
        conn.execute(meta.tables["securitygroupdefaultrules"].insert().values(**rule))
engine.dispose()

from neutron.wsgi.api import application  # reads OS_NEUTRON_CONFIG_DIR/FILES


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


make_server("127.0.0.1", int(os.environ["CIRRUS_NEUTRON_PORT"]), application,
            server_class=Server, handler_class=Quiet).serve_forever()
"""


def neutron_available():
    """Whether PyPI neutron is in this venv; under CI=true its absence fails, else the test
    says why it skips (scripts/install-test-deps.sh installs it)."""
    try:
        import neutron.wsgi  # noqa: F401
        return
    except ImportError as e:
        why = f"PyPI neutron not importable ({e}): scripts/install-test-deps.sh installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    log = os.environ.get("CIRRUS_SKIP_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"tests/python/test_neutron_side_by_side.py: {why}\n")
    print(f"SKIP test_neutron_side_by_side: {why}", file=sys.stderr)
    pytest.skip(why)


class RealNeutron:
    """Neutron's API server with Keystone auth; `service` is the Keystone user (and password
    `<user>pw`) in project `service` that validates tokens, as Cirrus' does."""

    def __init__(self, keystone, service="cirrus", quotas=None):
        neutron_available()
        self.dir = tempfile.mkdtemp(prefix="cirrus-neutron-")
        self.port = free_port()
        self.proc = None
        paste = os.path.join(os.path.dirname(sys.executable), "..", "etc", "neutron", "api-paste.ini")
        quota_lines = "".join(f"quota_{k} = {v}\n" for k, v in (quotas or {}).items())
        with open(os.path.join(self.dir, "neutron.conf"), "w") as f:
            f.write(f"""[DEFAULT]
core_plugin = ml2
service_plugins = router
transport_url = fake:/
auth_strategy = keystone
api_paste_config = {os.path.abspath(paste)}
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
state_path = {self.dir}
[database]
connection = sqlite:///{self.dir}/neutron.db
[ml2]
type_drivers = flat,vlan,vxlan
# VLAN tenant networks: their MTU is the physical network's 1500, as Cirrus' default (a VXLAN
# one would be 1450)
tenant_network_types = vlan
mechanism_drivers =
extension_drivers = port_security
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:999
[oslo_concurrency]
lock_path = {self.dir}/lock
[quotas]
{quota_lines}[keystone_authtoken]
www_authenticate_uri = {keystone.url}/v3
auth_url = {keystone.url}/v3
auth_type = password
username = {service}
password = {service}pw
project_name = service
user_domain_name = Default
project_domain_name = Default
interface = public
""")
        env = dict(os.environ, OS_NEUTRON_CONFIG_DIR=self.dir,
                   OS_NEUTRON_CONFIG_FILES="neutron.conf",
                   CIRRUS_NEUTRON_DB=f"sqlite:///{self.dir}/neutron.db",
                   CIRRUS_NEUTRON_PORT=str(self.port))
        self.log = open(os.path.join(self.dir, "neutron.log"), "w")
        started = time.time()
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", SERVE], env=env, cwd=self.dir,
                                         stdout=self.log, stderr=subprocess.STDOUT)
            wait_http(self.url + "/", self.proc, timeout=120)
        except BaseException as e:
            self.log.flush()
            with open(os.path.join(self.dir, "neutron.log")) as f:
                tail = f.read()[-3000:]
            self.stop()
            raise RuntimeError(f"Neutron did not start: {e}\n{tail}") from e
        self.setup_seconds = time.time() - started

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        stop_process(self.proc, self.log, self.dir)
