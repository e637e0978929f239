"""Tempest's network API tests against Cirrus: a real Keystone (the fixture of
tests/python/test_keystone_auth.py) as the identity service, with Cirrus' Neutron listener in
its catalog as the `network` endpoint, and tempest's dynamic credentials.

    python tests/tempest/run.py              # the fixed list (tests/tempest/fixed.txt); fails on any failure
    python tests/tempest/run.py --regex R    # any other selection, e.g. '^tempest.api.network'

Every process started here is stopped by its PID at the end, also on failure; the temporary
directories are removed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

from conftest import Controller, free_port  # noqa: E402
from test_keystone_auth import Keystone  # noqa: E402

EXTENSIONS = ("security-group,binding,port-security,allowed-address-pairs,external-net,net-mtu,"
              "standard-attr-description,standard-attr-timestamp,pagination,sorting,router,extraroute,"
              "ext-gw-mode")


def conf(keystone, workdir, public):
    return f"""[DEFAULT]
log_file = {workdir}/tempest.log
[auth]
use_dynamic_credentials = true
admin_username = admin
admin_password = adminpw
admin_project_name = admin
admin_domain_name = Default
create_isolated_networks = false
tempest_roles = member
[identity]
uri_v3 = {keystone.url}/v3
auth_version = v3
region = RegionOne
disable_ssl_certificate_validation = true
[identity-feature-enabled]
api_v2 = false
[service_available]
neutron = true
nova = false
glance = false
cinder = false
swift = false
[network]
project_network_cidr = 10.100.0.0/16
project_network_mask_bits = 28
project_network_v6_cidr = 2001:db8::/48
project_network_v6_mask_bits = 64
public_network_id = {public}
floating_network_name = public
shared_physical_network = false
build_timeout = 30
[network-feature-enabled]
api_extensions = {EXTENSIONS}
ipv6 = true
ipv6_subnet_attributes = true
[validation]
run_validation = false
"""


def neutron(port, token, path, body):
    r = requests.post(f"http://127.0.0.1:{port}{path}", json=body, timeout=30,
                      headers={"X-Auth-Token": token})
    r.raise_for_status()
    return r.json()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regex", help="run these tests instead of the fixed list")
    ap.add_argument("--output", help="also write tempest's whole output (every failure's "
                    "details) to this file")
    ap.add_argument("--concurrency", default="1",
                    help="tempest workers; Keystone on SQLite errs under two")
    args = ap.parse_args()
    tempest = os.path.join(os.path.dirname(sys.executable), "tempest")
    if not os.path.exists(tempest):
        why = f"{tempest} not found: scripts/install-test-deps.sh installs it"
        if os.environ.get("CI") == "true":
            sys.exit(why)
        print(f"SKIP tempest: {why}", file=sys.stderr)
        log = os.environ.get("CIRRUS_SKIP_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"SKIP tempest: {why}\n")
        return 0
    keystone = Keystone()
    cirrus = None
    workdir = tempfile.mkdtemp(prefix="cirrus-tempest-")
    try:
        creds = os.path.join(keystone.dir, "cirrus-service.conf")
        with open(creds, "w") as f:
            f.write("[keystone_authtoken]\nusername = cirrus\npassword = cirruspw\n"
                    "project_name = service\n")
        port = free_port()
        cirrus = Controller(auth=f"keystone={keystone.url}/v3,credentials={creds}",
                            args=["--neutron-listen", f"127.0.0.1:{port}"])
        admin, _ = keystone.token("admin", "adminpw", "admin")
        svc = keystone.api("POST", "/services", admin,
                           {"service": {"type": "network", "name": "neutron"}})["service"]
        for iface in ("public", "internal", "admin"):
            keystone.api("POST", "/endpoints", admin, {"endpoint": {
                "service_id": svc["id"], "interface": iface, "region_id": "RegionOne",
                "url": f"http://127.0.0.1:{port}"}})
        roles = {r["name"] for r in keystone.api("GET", "/roles", admin)["roles"]}
        if "member" not in roles:
            keystone.api("POST", "/roles", admin, {"role": {"name": "member"}})
        # the external network floating IPs and router gateways come from (tempest's
        # public_network_id), made as the admin through the Neutron API
        public = neutron(port, admin, "/v2.0/networks", {"network": {
            "name": "public", "router:external": True, "shared": True}})["network"]["id"]
        neutron(port, admin, "/v2.0/subnets", {"subnet": {
            "network_id": public, "cidr": "172.24.4.0/24", "ip_version": 4}})
        subprocess.run([tempest, "init", workdir], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(workdir, "etc", "tempest.conf"), "w") as f:
            f.write(conf(keystone, workdir, public))
        cmd = [tempest, "run", "--concurrency", args.concurrency]
        if args.regex:
            cmd += ["--regex", args.regex]
        else:
            cmd += ["--include-list", os.path.join(HERE, "fixed.txt")]
        run = subprocess.run(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        out = run.stdout
        if args.output:
            with open(args.output, "w") as f:
                f.write(out)
        tail = out[-6000:] if run.returncode else out[-1500:]
        print(tail)
        for line in out.splitlines():
            if line.endswith("... FAILED") or (args.regex and (
                    line.endswith("... ok") or "... SKIPPED" in line)):
                print(line)
        counts = {}
        for k in ("Passed", "Failed", "Skipped"):
            m = re.search(rf"- {k}: (\d+)", out)
            counts[k] = int(m.group(1)) if m else 0
        print(f"tempest: {counts['Passed']} passed, {counts['Failed']} failed, "
              f"{counts['Skipped']} skipped")
        return 0 if run.returncode == 0 and counts["Failed"] == 0 else 1
    finally:
        if cirrus:
            cirrus.close()
        keystone.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
