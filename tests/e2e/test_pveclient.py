"""The npm proxmox-api client (tests/pveclient/scenario.mjs, installed by
npm ci from the npm registry) against the API simulator directly: the
scenario the bastion's API front must also pass (log in with TOTP in
Proxmox's two-step shape, list, start and stop a VM, change its config).
"""

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import testbed  # noqa: E402
from conftest import NET  # noqa: E402  (per pytest-xdist worker)
from pvesim import PveSim  # noqa: E402
from pveclient import PveClient  # noqa: E402

TOTP = "KRSXG5CTMVRXEZLUKN2XAZLSIJQXG2LD"
TOKEN_ID = "ops@pve!auto"
TOKEN_SECRET = "9b2d4c1e-7a3f-4e5d-8c6b-1f0e2d3c4b5a"


@pytest.fixture(scope="module")
def sim(request):
    root = tempfile.mkdtemp(prefix="hvb-e2e-pveclient-", dir="/tmp")
    a1, a2 = "%s.31" % NET, "%s.32" % NET
    s = PveSim(
        root,
        nodes=[("pve1", a1, testbed.free_port(a1)),
               ("pve2", a2, testbed.free_port(a2))],
        users={"root@pam": {"password": "root-pw"},
               "alice@pve": {"password": "alice-pw", "totp": TOTP},
               "guest@pve": {"password": "guest-pw"},
               "ops@pve": {"password": "ops-pw"}},
        tokens={TOKEN_ID: {"secret": TOKEN_SECRET}},
        acl=[{"path": "/", "ugid": "alice@pve", "roleid": "PVEAdmin"},
             {"path": "/pool/web", "ugid": "guest@pve",
              "roleid": "PVEVMAdmin"},
             {"path": "/vms", "ugid": "ops@pve", "roleid": "PVEVMAdmin"},
             {"path": "/vms", "ugid": TOKEN_ID, "roleid": "PVEVMUser"}],
        pools={"web": [101]},
        guests=[{"vmid": 101, "type": "qemu", "node": "pve1",
                 "name": "web1", "status": "running"},
                {"vmid": 102, "type": "qemu", "node": "pve2",
                 "name": "db1", "status": "stopped"}],
        auth_fail_delay=0.05)
    failed_before = request.session.testsfailed
    s.start()
    yield s
    s.stop()
    if request.session.testsfailed > failed_before:
        sys.stderr.write("\n[pveclient e2e] kept in %s\n" % root)
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def client():
    return PveClient().install()


def test_scenario_with_totp(sim, client):
    res = client.run(sim.url("pve2"), ca=sim.ca_bundle(), user="alice@pve",
                     password="alice-pw", totp_secret=TOTP, vmid=101)
    assert res.rc == 0, res
    login = res.step("login")
    assert login["needTFA"] is True and login["username"] == "alice@pve"
    assert res.step("version")["release"] == "8.4"
    assert {"qemu/101", "qemu/102", "node/pve1"} <= \
        set(res.step("resources")["ids"])
    assert res.step("nodes")["nodes"] == ["pve1", "pve2"]
    assert res.step("qemu") == {"step": "qemu", "ok": True, "node": "pve1",
                                "vmids": [101]}
    assert res.step("status")["status"] == "running"
    stop, start = res.step("stop"), res.step("start")
    assert stop["status"] == "stopped" and start["status"] == "running"
    assert stop["upid"].startswith("UPID:pve1:") and \
        stop["upid"].endswith(":qmstop:101:alice@pve:")
    assert res.step("config")["description"].startswith("hvb-scenario ")
    # what the client did, as the server saw it
    log = [r for r in sim.requests() if r["identity"] == "alice@pve"]
    assert ("PUT", "/api2/json/nodes/pve1/qemu/101/config", 200) in \
        [(r["method"], r["path"], r["status"]) for r in log]
    assert ("POST", "/api2/json/nodes/pve1/qemu/101/status/stop", 200) in \
        [(r["method"], r["path"], r["status"]) for r in log]


def test_scenario_wrong_totp_fails_login(sim, client):
    res = client.run(sim.url(), ca=sim.ca_bundle(), user="alice@pve",
                     password="alice-pw", totp_code="000000",
                     steps=["login", "version"])
    assert res.rc == 1
    login = res.step("login")
    assert login["ok"] is False and login["status"] == 401
    assert len(res.steps) == 1


def test_scenario_guest_scope_and_denials(sim, client):
    res = client.run(sim.url(), ca=sim.ca_bundle(), user="guest@pve",
                     password="guest-pw",
                     steps=["login", "resources", "qemu", "power", "config",
                            "get:/nodes/pve1/status",
                            "post:/nodes/pve2/qemu/102/status/start"])
    assert res.rc == 1, res
    assert res.step("login")["needTFA"] is False
    assert [i for i in res.step("resources")["ids"]
            if not i.startswith("node/")] == ["qemu/101"]
    assert res.step("qemu")["vmids"] == [101]
    assert res.step("stop")["ok"] and res.step("start")["ok"]
    assert res.step("config")["ok"]
    assert res.step("get:/nodes/pve1/status")["status"] == 403
    assert res.step("post:/nodes/pve2/qemu/102/status/start")["status"] == \
        403


def test_scenario_with_api_token(sim, client):
    res = client.run(sim.url(), ca=sim.ca_bundle(), token_id=TOKEN_ID,
                     token_secret=TOKEN_SECRET, vmid=102,
                     steps=["login", "status", "power", "config"])
    # PVEVMUser: power yes, config no
    assert res.step("stop")["ok"] and res.step("start")["ok"]
    assert res.step("config")["ok"] is False
    assert res.step("config")["status"] == 403
    assert res.rc == 1
