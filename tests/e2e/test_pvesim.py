"""The Proxmox VE API simulator (tests/pvesim/pvesim.py) against curl, the
real client: the pveproxy behaviours that the bastion's API proxy must
reproduce or pass through (tests/pvesim/BEHAVIOUR.md).  One simulator per
module, on HVB_E2E_NET.31 and .32."""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import testbed  # noqa: E402
from conftest import NET  # noqa: E402  (per pytest-xdist worker)
from pvesim import PveSim, totp_code  # noqa: E402
from wsclient import WsClient, HandshakeError, term_data, \
    term_resize, TERM_PING  # noqa: E402

ROOT_PW = "root-secret-pw"
ALICE_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOKEN_ID = "root@pam!hvb-hv"
TOKEN_SECRET = "5f0c8a1e-3b7d-4c2a-9e61-0d7b2f4a8c93"
AUDIT_TOKEN = "auditor@pve!ro"
AUDIT_SECRET = "0e4b6c2a-1f3d-4a5b-8c7d-9e0f1a2b3c4d"


@pytest.fixture(scope="module")
def sim(request):
    root = tempfile.mkdtemp(prefix="hvb-e2e-pvesim-", dir="/tmp")
    a1, a2 = "%s.31" % NET, "%s.32" % NET
    s = PveSim(
        root,
        nodes=[("pve1", a1, testbed.free_port(a1)),
               ("pve2", a2, testbed.free_port(a2))],
        users={"root@pam": {"password": ROOT_PW},
               "alice@pve": {"password": "alice-pw", "totp": ALICE_TOTP},
               "bob@pve": {"password": "bob-pw"},
               "carol@pve": {"password": "carol-pw", "groups": ["ops"]},
               "auditor@pve": {"password": "aud-pw"},
               "off@pve": {"password": "off-pw", "enable": 0}},
        tokens={TOKEN_ID: {"secret": TOKEN_SECRET},
                AUDIT_TOKEN: {"secret": AUDIT_SECRET},
                "bob@pve!old": {"secret": TOKEN_SECRET, "expire": 1},
                "off@pve!t": {"secret": TOKEN_SECRET}},
        acl=[{"path": "/", "ugid": TOKEN_ID, "roleid": "Administrator"},
             {"path": "/pool/guests", "ugid": "bob@pve",
              "roleid": "PVEVMUser"},
             {"path": "/vms", "ugid": "@ops", "roleid": "PVEVMAdmin"},
             {"path": "/vms/102", "ugid": "carol@pve", "roleid": "NoAccess"},
             {"path": "/", "ugid": "auditor@pve", "roleid": "PVEAuditor"},
             {"path": "/", "ugid": AUDIT_TOKEN, "roleid": "PVEAdmin"},
             {"path": "/nodes/pve1", "ugid": "alice@pve",
              "roleid": "PVEAdmin", "propagate": 0},
             {"path": "/vms/103", "ugid": "alice@pve",
              "roleid": "PVEVMAdmin"}],
        pools={"guests": [101, 103]},
        guests=[{"vmid": 101, "type": "qemu", "node": "pve1",
                 "name": "web1", "status": "running"},
                {"vmid": 102, "type": "qemu", "node": "pve2",
                 "name": "db1", "status": "stopped"},
                {"vmid": 103, "type": "qemu", "node": "pve2",
                 "name": "web2", "status": "stopped"},
                {"vmid": 200, "type": "lxc", "node": "pve1",
                 "name": "ct200", "status": "running"}],
        storage=[{"storage": "local", "type": "dir"},
                 {"storage": "nfs1", "type": "nfs", "shared": 1}],
        auth_fail_delay=0.05)
    failed_before = request.session.testsfailed
    s.start()
    yield s
    s.stop()
    if request.session.testsfailed > failed_before or \
            os.environ.get("HVB_KEEP_TESTBED"):
        sys.stderr.write("\n[pvesim e2e] kept in %s\n" % root)
    else:
        shutil.rmtree(root, ignore_errors=True)


class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    @property
    def data(self):
        return self.json()["data"]

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:300])


def curl(sim, path, method="GET", node="pve1", data=None, headers=(),
         cookie=None, json_body=None, extra=()):
    """curl against one node, verifying its certificate; -i output
    parsed into a Resp."""
    _, addr, port = sim.node(node)
    url = "https://%s:%d/api2/json%s" % (addr, port, path)
    argv = ["curl", "-sS", "-i", "--cacert", str(sim.cert_path(node)),
            "--resolve", "%s:%d:%s" % (node, port, addr), "-X", method,
            "--max-time", "20"]
    url = url.replace("//%s:" % addr, "//%s:" % node)
    for h in headers:
        argv += ["-H", h]
    if cookie:
        argv += ["-b", "PVEAuthCookie=%s" % cookie]
    if data is not None:
        for k, v in data.items():
            argv += ["--data-urlencode", "%s=%s" % (k, v)]
    if json_body is not None:
        argv += ["-H", "Content-Type: application/json",
                 "--data-binary", json.dumps(json_body)]
    argv += list(extra)
    argv.append(url)
    proc = subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode()
    raw = proc.stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.1 (\d{3}) ?(.*)$", lines[0])
    assert m, lines[0]
    hdrs = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return Resp(int(m.group(1)), m.group(2), hdrs, body.decode("utf-8"))


def tok(tid=TOKEN_ID, secret=TOKEN_SECRET, form="="):
    return "Authorization: PVEAPIToken%s%s=%s" % (form, tid, secret)


def login(sim, username, password, **more):
    d = {"username": username, "password": password}
    d.update(more)
    return curl(sim, "/access/ticket", "POST", data=d)


def full_login(sim, username, password):
    r = login(sim, username, password)
    assert r.status == 200, r
    return r.data["ticket"], r.data["CSRFPreventionToken"]


def upid_re(node, dtype, vmid, user):
    return re.compile(r"^UPID:%s:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:%s:%s:"
                      r"%s:$" % (node, dtype, vmid, re.escape(user)))


# ------------------------------------------------------------- login
def test_no_ticket_is_401_without_body(sim):
    r = curl(sim, "/version")
    assert (r.status, r.reason) == (401, "No ticket")
    assert r.body == ""
    assert r.header("connection") == "close"
    assert r.header("content-type") is None


def test_login_gives_ticket_csrf_and_cap(sim):
    r = login(sim, "root@pam", ROOT_PW)
    assert r.status == 200
    assert r.header("content-type") == "application/json;charset=UTF-8"
    assert r.header("server") == "pve-api-daemon/3.0"
    d = r.data
    assert d["username"] == "root@pam"
    assert re.match(r"^PVE:root@pam:[0-9A-F]{8}::\S+$", d["ticket"])
    assert re.match(r"^[0-9A-F]{8}:\S+$", d["CSRFPreventionToken"])
    assert d["cap"]["nodes"]["Sys.Console"] == 1
    assert "NeedTFA" not in d
    v = curl(sim, "/version", cookie=d["ticket"])
    assert v.status == 200 and v.data["release"] == "8.4"
    # the ticket in the Authorization header works as well
    v = curl(sim, "/version",
             headers=["Authorization: PVEAuthCookie=%s" %
                      urllib.parse.quote(d["ticket"], safe="")])
    assert v.status == 200


def test_realm_parameter_and_json_body(sim):
    r = login(sim, "bob", "bob-pw", realm="pve")
    assert r.status == 200 and r.data["username"] == "bob@pve"
    r = curl(sim, "/access/ticket", "POST",
             json_body={"username": "bob@pve", "password": "bob-pw"})
    assert r.status == 200 and r.data["username"] == "bob@pve"


@pytest.mark.parametrize("user,pw", [("root@pam", "wrong"),
                                     ("nobody@pve", "x"),
                                     ("off@pve", "off-pw"),
                                     ("bob", "bob-pw")])
def test_failed_login_is_the_same_401(sim, user, pw):
    r = login(sim, user, pw)
    assert (r.status, r.reason) == (401, "authentication failure")
    assert r.json() == {"data": None, "message": "authentication failure\n"}
    assert r.header("connection") == "close"


def test_login_parameter_errors(sim):
    r = curl(sim, "/access/ticket", "POST", data={"username": "root@pam"})
    assert (r.status, r.reason) == (400, "Parameter verification failed.")
    assert r.json()["errors"] == {
        "password": "property is missing and it is not optional"}
    r = login(sim, "root@pam", ROOT_PW, bogus="1")
    assert r.status == 400
    assert r.json()["errors"]["bogus"].startswith(
        "property is not defined in schema")


def test_ticket_renewal(sim):
    t, _ = full_login(sim, "bob@pve", "bob-pw")
    r = login(sim, "bob@pve", t)
    assert r.status == 200 and r.data["username"] == "bob@pve"
    # another user's ticket does not renew
    r = login(sim, "carol@pve", t)
    assert r.status == 401


def test_forged_ticket(sim):
    t, _ = full_login(sim, "bob@pve", "bob-pw")
    forged = t.replace("bob@pve", "root@pam")
    r = curl(sim, "/version", cookie=forged)
    assert (r.status, r.reason) == (401, "Authentication failed!")


def test_tfa_two_steps(sim):
    r = login(sim, "alice@pve", "alice-pw")
    assert r.status == 200
    d = r.data
    assert d["NeedTFA"] == 1 and "cap" not in d
    assert d["ticket"].startswith('PVE:!tfa!{"totp"%3Atrue}:')
    # the half ticket opens nothing
    assert curl(sim, "/version", cookie=d["ticket"]).status == 401
    # a wrong code fails like a wrong password
    bad = "%06d" % ((int(totp_code(ALICE_TOTP)) + 1) % 1000000)
    r = login(sim, "alice@pve", "totp:" + bad,
              **{"tfa-challenge": d["ticket"]})
    assert (r.status, r.reason) == (401, "authentication failure")
    # the code without its "totp:" prefix fails too
    r = login(sim, "alice@pve", totp_code(ALICE_TOTP),
              **{"tfa-challenge": d["ticket"]})
    assert r.status == 401
    code = totp_code(ALICE_TOTP)
    r = login(sim, "alice@pve", "totp:" + code,
              **{"tfa-challenge": d["ticket"]})
    assert r.status == 200, r
    assert r.data["username"] == "alice@pve" and "cap" in r.data
    assert r.data["ticket"].startswith("PVE:alice@pve:")
    assert curl(sim, "/version", cookie=r.data["ticket"]).status == 200
    # the same code is not accepted twice
    r2 = login(sim, "alice@pve", "alice-pw")
    r3 = login(sim, "alice@pve", "totp:" + code,
               **{"tfa-challenge": r2.data["ticket"]})
    assert r3.status == 401
    # a challenge is bound to its user
    r4 = login(sim, "bob@pve", "totp:" + code,
               **{"tfa-challenge": r2.data["ticket"]})
    assert r4.status == 401


# -------------------------------------------------------------- CSRF
def test_csrf_required_for_ticket_writes(sim):
    t, csrf = full_login(sim, "bob@pve", "bob-pw")
    path = "/nodes/pve1/qemu/101/status/reboot"
    r = curl(sim, path, "POST", cookie=t)
    assert (r.status, r.reason) == (401,
                                    "Permission denied - invalid csrf token")
    assert r.body == ""
    _, other = full_login(sim, "carol@pve", "carol-pw")
    r = curl(sim, path, "POST", cookie=t,
             headers=["CSRFPreventionToken: %s" % other])
    assert r.status == 401
    r = curl(sim, path, "POST", cookie=t,
             headers=["CSRFPreventionToken: %s" % csrf])
    assert r.status == 200, r
    # PUT and DELETE too, not GET
    r = curl(sim, "/nodes/pve1/qemu/101/config", "PUT", cookie=t,
             data={"description": "x"})
    assert r.status == 401
    assert curl(sim, "/version", cookie=t).status == 200


# ------------------------------------------------------------ tokens
@pytest.mark.parametrize("form", ["=", " "])
def test_token_header_forms(sim, form):
    r = curl(sim, "/cluster/resources", headers=[tok(form=form)])
    assert r.status == 200
    assert {x["id"] for x in r.data} >= {"qemu/101", "qemu/102",
                                         "lxc/200", "node/pve1"}


def test_token_needs_no_csrf_and_bad_secret_is_401(sim):
    r = curl(sim, "/nodes/pve1/qemu/101/status/reboot", "POST",
             headers=[tok()])
    assert r.status == 200
    assert upid_re("pve1", "qmreboot", 101, TOKEN_ID).match(r.data)
    r = curl(sim, "/version", headers=[tok(secret="0" * 36)])
    assert (r.status, r.reason) == (401, "Authentication failed!")
    r = curl(sim, "/version", headers=[tok(tid="root@pam!nope")])
    assert r.status == 401
    # an expired token, a disabled user's token
    for tid in ("bob@pve!old", "off@pve!t"):
        r = curl(sim, "/version", headers=[tok(tid=tid)])
        assert (r.status, r.reason) == (401, "Authentication failed!")


def test_token_cannot_create_ticket(sim):
    r = curl(sim, "/access/ticket", "POST", headers=[tok()],
             data={"username": "root@pam", "password": ROOT_PW})
    assert r.status == 403
    assert "not available with API token" in r.json()["message"]


def test_privsep_token_is_limited_by_its_user(sim):
    # the auditor's token holds PVEAdmin on / but its user only PVEAuditor
    h = [tok(AUDIT_TOKEN, AUDIT_SECRET)]
    assert curl(sim, "/nodes/pve1/qemu/101/status/current",
                headers=h).status == 200
    r = curl(sim, "/nodes/pve1/qemu/101/status/stop", "POST", headers=h)
    assert r.status == 403
    assert r.json()["message"] == \
        "Permission check failed (/vms/101, VM.PowerMgmt)\n"


# ------------------------------------------------- errors and shapes
def test_403_shape(sim):
    t, csrf = full_login(sim, "bob@pve", "bob-pw")
    r = curl(sim, "/nodes/pve2/qemu/102/status/start", "POST", cookie=t,
             headers=["CSRFPreventionToken: %s" % csrf])
    assert (r.status, r.reason) == (
        403, "Permission check failed (/vms/102, VM.PowerMgmt)")
    assert r.json() == {"data": None, "message":
                        "Permission check failed (/vms/102, VM.PowerMgmt)\n"}
    assert r.header("content-type") == "application/json;charset=UTF-8"
    assert r.header("connection") == "close"


def test_501_unknown_path(sim):
    r = curl(sim, "/nodes/pve1/nosuch", headers=[tok()])
    assert (r.status, r.reason) == (
        501, "Method 'GET /nodes/pve1/nosuch' not implemented")
    assert r.json() == {"data": None, "message":
                        "Method 'GET /nodes/pve1/nosuch' not implemented"}


def test_400_parameter_shape(sim):
    r = curl(sim, "/cluster/resources?type=bogus", headers=[tok()])
    assert r.status == 400
    assert r.json() == {
        "data": None, "message": "Parameter verification failed.\n",
        "errors": {"type": "value 'bogus' does not have a value in the "
                           "enumeration 'vm, storage, node, sdn'"}}
    r = curl(sim, "/nodes/pve1/qemu/abc/status/current", headers=[tok()])
    assert r.status == 400
    assert r.json()["errors"] == {
        "vmid": "type check ('integer') failed - got 'abc'"}


def test_unknown_node_and_vm(sim):
    r = curl(sim, "/nodes/pve9/qemu", headers=[tok()])
    assert r.status == 500
    assert r.json()["message"].startswith("hostname lookup 'pve9' failed")
    r = curl(sim, "/nodes/pve1/qemu/999/status/current", headers=[tok()])
    assert r.status == 500
    assert "999.conf' does not exist" in r.json()["message"]


def test_not_api_paths(sim):
    r = curl(sim, "/../../etc/passwd", headers=[tok()],
             extra=["--path-as-is"])
    assert (r.status, r.reason) == (
        501, "Method 'GET /../../etc/passwd' not implemented")
    raw = raw_request(sim, b"GET /api2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 501 no such uri\r\n")
    raw = raw_request(sim, b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 500 no such file '/etc/passwd'\r\n")
    assert raw.endswith(b"\r\n\r\nno such file '/etc/passwd'\n")


# ---------------------------------------------------------- filtering
def test_lists_filtered_by_privilege(sim):
    t, _ = full_login(sim, "bob@pve", "bob-pw")   # PVEVMUser on pool
    res = curl(sim, "/cluster/resources", cookie=t).data
    # guests with VM.Audit; every node, without its figures; no storage
    assert [x["id"] for x in res] == ["qemu/101", "qemu/103", "node/pve1",
                                      "node/pve2"]
    # PVEVMUser has no Pool.Audit: neither the pool nor the guests' pool
    assert all("pool" not in x for x in res)
    assert "maxmem" not in res[2] and res[2]["status"] == "online"
    assert curl(sim, "/nodes", cookie=t).status == 200
    q1 = curl(sim, "/nodes/pve1/qemu", cookie=t).data
    assert [x["vmid"] for x in q1] == [101]
    assert curl(sim, "/nodes/pve1/lxc", cookie=t).data == []
    assert curl(sim, "/nodes/pve1/status", cookie=t).status == 403
    assert curl(sim, "/storage", cookie=t).data == []
    # group ACL with a user's NoAccess on one guest
    t, _ = full_login(sim, "carol@pve", "carol-pw")
    res = curl(sim, "/cluster/resources?type=vm", cookie=t).data
    assert sorted(x["vmid"] for x in res) == [101, 103, 200]
    # carol has no Pool.Audit: the pool is not named
    assert all("pool" not in x for x in res)
    # propagate=0: alice has PVEAdmin on /nodes/pve1 only, not below
    code = totp_code(ALICE_TOTP, None)
    r = login(sim, "alice@pve", "alice-pw")
    r = login(sim, "alice@pve", "totp:" + code,
              **{"tfa-challenge": r.data["ticket"]})
    if r.status == 401:     # the code was used by test_tfa_two_steps
        code = totp_code(ALICE_TOTP, __import__("time").time() + 30)
        r = login(sim, "alice@pve", "alice-pw")
        r = login(sim, "alice@pve", "totp:" + code,
                  **{"tfa-challenge": r.data["ticket"]})
    assert r.status == 200, r
    t = r.data["ticket"]
    res = curl(sim, "/cluster/resources", cookie=t).data
    assert [x["id"] for x in res] == ["qemu/103", "node/pve1", "node/pve2"]
    assert "maxmem" in res[1] and "maxmem" not in res[2]
    # the auditor sees everything and can change nothing
    t, csrf = full_login(sim, "auditor@pve", "aud-pw")
    assert len(curl(sim, "/cluster/resources?type=node", cookie=t).data) == 2
    assert {x["storage"] for x in curl(sim, "/storage", cookie=t).data} == \
        {"local", "nfs1"}


def test_access_endpoints_are_privileged(sim):
    t, _ = full_login(sim, "bob@pve", "bob-pw")
    users = curl(sim, "/access/users", cookie=t).data
    assert [u["userid"] for u in users] == ["bob@pve"]
    assert curl(sim, "/access/acl", cookie=t).data == []
    r = curl(sim, "/access/users", headers=[tok()])
    assert len(r.data) == 6
    assert len(curl(sim, "/access/acl", headers=[tok()]).data) == 8


# ---------------------------------------------------- power and tasks
def test_start_stop_with_tasks(sim):
    h = [tok()]
    cur = curl(sim, "/nodes/pve2/qemu/102/status/current", node="pve2",
               headers=h)
    assert cur.data["status"] == "stopped"
    r = curl(sim, "/nodes/pve2/qemu/102/status/start", "POST", node="pve2",
             headers=h)
    assert r.status == 200
    upid = r.data
    assert upid_re("pve2", "qmstart", 102, TOKEN_ID).match(upid)
    st = curl(sim, "/nodes/pve2/tasks/%s/status" % urllib.parse.quote(upid),
              headers=h).data
    assert st["status"] == "stopped" and st["exitstatus"] == "OK"
    assert st["upid"] == upid and st["type"] == "qmstart"
    # a token's task: its user and the token id apart
    assert st["user"] == "root@pam" and st["tokenid"] == "hvb-hv"
    cur = curl(sim, "/nodes/pve2/qemu/102/status/current", headers=h)
    assert cur.data["status"] == "running" and cur.data["qmpstatus"] == \
        "running"
    # starting a running VM: the task fails, the POST does not
    r = curl(sim, "/nodes/pve2/qemu/102/status/start", "POST", headers=h)
    st = curl(sim, "/nodes/pve2/tasks/%s/status" % urllib.parse.quote(
        r.data), headers=h).data
    assert st["exitstatus"] == "VM 102 already running"
    r = curl(sim, "/nodes/pve2/qemu/102/status/stop", "POST", headers=h)
    stop_upid = r.data
    assert upid_re("pve2", "qmstop", 102, TOKEN_ID).match(stop_upid)
    assert curl(sim, "/nodes/pve2/qemu/102/status/current",
                headers=h).data["status"] == "stopped"
    tasks = curl(sim, "/nodes/pve2/tasks", headers=h).data
    assert [t["type"] for t in tasks[:3]] == ["qmstop", "qmstart",
                                              "qmstart"]
    assert [t["status"] for t in tasks[:3]] == [
        "OK", "VM 102 already running", "OK"]
    r = curl(sim, "/nodes/pve2/tasks/UPID:pve2:nope/status", headers=h)
    assert r.status == 400 and r.json()["errors"] == {
        "upid": "unable to parse worker upid"}
    log = curl(sim, "/nodes/pve2/tasks/%s/log" % urllib.parse.quote(
        stop_upid), headers=h).data
    assert log[-1] == {"n": len(log), "t": "TASK OK"}
    # bob sees only his own tasks on a node where he lacks Sys.Audit
    t, _ = full_login(sim, "bob@pve", "bob-pw")
    # a CSRF token is bound to the user name only: another login's works
    r = curl(sim, "/nodes/pve2/qemu/103/status/start", "POST", cookie=t,
             headers=["CSRFPreventionToken: %s" % full_login(
                 sim, "bob@pve", "bob-pw")[1]])
    assert r.status == 200
    mine = curl(sim, "/nodes/pve2/tasks", cookie=t).data
    assert [x["upid"] for x in mine] == [r.data]
    r = curl(sim, "/nodes/pve2/tasks/%s/status" % urllib.parse.quote(upid),
             cookie=t)
    assert r.status == 403


def test_power_refusals_before_and_in_the_task(sim):
    h = [tok()]
    # qemu: reboot of a stopped VM is refused before any task
    r = curl(sim, "/nodes/pve2/qemu/102/status/reboot", "POST", node="pve2",
             headers=h)
    assert (r.status, r.reason) == (500, "VM 102 not running")
    # ... stopping it again is a task that ends OK
    r = curl(sim, "/nodes/pve2/qemu/102/status/shutdown", "POST", headers=h)
    st = curl(sim, "/nodes/pve2/tasks/%s/status" % urllib.parse.quote(
        r.data), headers=h).data
    assert st["exitstatus"] == "OK"
    # lxc: refused before the task
    r = curl(sim, "/nodes/pve1/lxc/200/status/start", "POST", headers=h)
    assert (r.status, r.reason) == (500, "CT 200 already running")
    assert r.json() == {"data": None, "message": "CT 200 already running\n"}


def test_config_get_put_post(sim):
    t, csrf = full_login(sim, "bob@pve", "bob-pw")
    hb = ["CSRFPreventionToken: %s" % csrf]
    c = curl(sim, "/nodes/pve1/qemu/101/config", cookie=t).data
    assert c["name"] == "web1" and re.match(r"^[0-9a-f]{40}$", c["digest"])
    # PVEVMUser may not change memory
    r = curl(sim, "/nodes/pve1/qemu/101/config", "PUT", cookie=t,
             headers=hb, data={"memory": "4096"})
    assert r.status == 403
    assert r.json()["message"] == \
        "Permission check failed (/vms/101, VM.Config.Memory)\n"
    h = [tok()]
    r = curl(sim, "/nodes/pve1/qemu/101/config", "PUT", headers=h,
             data={"memory": "4096", "digest": c["digest"]})
    assert r.status == 200 and r.data is None
    r = curl(sim, "/nodes/pve1/qemu/101/config", "PUT", headers=h,
             data={"memory": "1024", "digest": c["digest"]})
    assert r.status == 500 and "detected modified configuration" in \
        r.json()["message"]
    r = curl(sim, "/nodes/pve1/qemu/101/config", "PUT", headers=h,
             data={"nosuchoption": "1"})
    assert r.status == 400 and "nosuchoption" in r.json()["errors"]
    r = curl(sim, "/nodes/pve1/qemu/101/config", "PUT", cookie=t,
             headers=hb, data={"args": "-no-reboot"})
    assert r.status == 500 and r.json()["message"] == \
        "only root can set 'args' config\n"
    r = curl(sim, "/nodes/pve1/qemu/101/config", "POST", headers=h,
             data={"description": "front end", "delete": "ostype"})
    assert upid_re("pve1", "qmconfig", 101, TOKEN_ID).match(r.data)
    c = curl(sim, "/nodes/pve1/qemu/101/config", headers=h).data
    assert c["memory"] == "4096" and c["description"] == "front end"
    assert "ostype" not in c


# --------------------------------------------------------- websocket
def _termproxy(sim, headers):
    r = curl(sim, "/nodes/pve1/termproxy", "POST", headers=headers)
    assert r.status == 200, r
    return r.data


def test_termproxy_websocket_round_trip(sim):
    d = _termproxy(sim, [tok()])
    assert d["user"] == TOKEN_ID and 5900 <= d["port"] <= 5999
    assert upid_re("pve1", "vncshell", "", TOKEN_ID).match(d["upid"])
    assert d["ticket"].startswith("PVEVNC:")
    _, addr, port = sim.node("pve1")
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    ws = WsClient.connect(addr, port, "/api2/json/nodes/pve1/vncwebsocket?"
                          + q, headers={"Authorization": tok()[15:]},
                          cafile=str(sim.cert_path("pve1")))
    assert ws.headers.get("sec-websocket-protocol") == "binary"
    ws.send(("%s:%s\n" % (d["user"], d["ticket"])).encode())
    assert ws.read_until(b"OK").startswith(b"OK")
    ws.read_until(b"# ")
    ws.send(term_resize(100, 30))
    ws.send(TERM_PING)
    ws.send(term_data("hostname\r"))
    out = ws.read_until(b"# ")
    assert b"hostname\r\npve1\r\n" in out
    ws.send(term_data("echo hello world\r"))
    assert b"hello world\r\n" in ws.read_until(b"# ")
    ws.send(term_data("stty size\r"))
    assert b"30 100" in ws.read_until(b"# ")
    ws.send(term_data("exit\r"))
    with pytest.raises(EOFError):
        ws.read_until(b"never")
    ws.close()


def test_websocket_refusals(sim):
    d = _termproxy(sim, [tok()])
    _, addr, port = sim.node("pve1")
    ca = str(sim.cert_path("pve1"))
    # a wrong vncticket: 401 from vncwebsocket
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": "PVEVNC:x"})
    with pytest.raises(HandshakeError) as e:
        WsClient.connect(addr, port, "/api2/json/nodes/pve1/vncwebsocket?"
                         + q, headers={"Authorization": tok()[15:]},
                         cafile=ca)
    assert e.value.status_line.startswith("HTTP/1.1 401 permission denied")
    # someone else's vncticket: no Sys.Console for bob
    t, _ = full_login(sim, "bob@pve", "bob-pw")
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    with pytest.raises(HandshakeError) as e:
        WsClient.connect(addr, port, "/api2/json/nodes/pve1/vncwebsocket?"
                         + q, headers={"Cookie": "PVEAuthCookie=" + t},
                         cafile=ca)
    assert e.value.status_line == \
        "HTTP/1.1 403 Permission check failed (/nodes/pve1, Sys.Console)"
    # a right handshake but a wrong first line: termproxy hangs up
    ws = WsClient.connect(addr, port, "/api2/json/nodes/pve1/vncwebsocket?"
                          + q, headers={"Authorization": tok()[15:]},
                          cafile=ca)
    ws.send(b"bob@pve:%s\n" % d["ticket"].encode())
    with pytest.raises(EOFError):
        ws.read_until(b"OK")
    ws.close()


def test_vncticket_endpoint(sim):
    """What termproxy asks the API before it says OK."""
    d = _termproxy(sim, [tok()])
    base = {"authid": d["user"], "vncticket": d["ticket"],
            "path": "/nodes/pve1", "privs": "Sys.Console"}
    r = curl(sim, "/access/vncticket", "POST",
             data=dict(base, port=d["port"]))
    assert r.status == 200 and r.data is None
    for bad in (dict(base, port=d["port"] + 1),
                dict(base, port=d["port"], path="/nodes/pve2"),
                dict(base, port=d["port"], authid="bob@pve")):
        r = curl(sim, "/access/vncticket", "POST", data=bad)
        assert (r.status, r.reason) == (401, "authentication failure")


def test_vncwebsocket_without_upgrade_is_plain_json(sim):
    d = _termproxy(sim, [tok()])
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    r = curl(sim, "/nodes/pve1/vncwebsocket?" + q, headers=[tok()])
    assert r.status == 200 and r.json() == {"data": {"port": str(d["port"])}}


def test_guest_vnc_websocket_speaks_rfb(sim):
    r = curl(sim, "/nodes/pve1/qemu/101/vncproxy", "POST", headers=[tok()],
             data={"websocket": "1"})
    assert r.status == 200, r
    d = r.data
    assert d["cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert upid_re("pve1", "vncproxy", 101, TOKEN_ID).match(d["upid"])
    _, addr, port = sim.node("pve1")
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    ws = WsClient.connect(addr, port, "/api2/json/nodes/pve1/qemu/101/"
                          "vncwebsocket?" + q,
                          headers={"Authorization": tok()[15:]},
                          cafile=str(sim.cert_path("pve1")))
    assert ws.recv() == (0x2, b"RFB 003.008\n")
    ws.close()
    # a stopped guest has no console
    r = curl(sim, "/nodes/pve2/qemu/102/vncproxy", "POST", node="pve2",
             headers=[tok()])
    assert r.status == 500 and r.json()["message"] == \
        "VM 102 not running\n"


def test_domains_without_login_and_uri_parameter_clash(sim):
    r = curl(sim, "/access/domains")
    assert r.status == 200
    assert [d["realm"] for d in r.data] == ["pam", "pve"]
    r = curl(sim, "/nodes/pve1/qemu/101/status/current?vmid=102",
             headers=[tok()])
    assert r.status == 400 and r.json()["errors"] == {
        "vmid": "duplicate parameter (already defined in URI) with "
                "conflicting values!"}


def test_websocket_handshake_errors(sim):
    d = _termproxy(sim, [tok()])
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    req = (b"GET /api2/json/nodes/pve1/vncwebsocket?%s HTTP/1.1\r\n"
           b"Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: "
           b"dGhlIHNhbXBsZSBub25jZQ==\r\n" % q.encode()) + AUTH + b"\r\n"
    r = raw_request(sim, req)
    assert r.startswith(b"HTTP/1.1 500 unsupported websocket-version '8'"
                        b"\r\n")
    r = raw_request(sim, req.replace(b"Sec-WebSocket-Version: 8",
                                     b"Sec-WebSocket-Version: 13")
                    .replace(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
                             b"\r\n", b""))
    assert r.startswith(b"HTTP/1.1 500 missing websocket-key\r\n")


def test_pools_and_node_storage(sim):
    h = [tok()]
    assert curl(sim, "/pools", headers=h).data == [{"poolid": "guests"}]
    members = curl(sim, "/pools/guests", headers=h).data["members"]
    assert sorted(m["id"] for m in members) == ["qemu/101", "qemu/103"]
    st = curl(sim, "/nodes/pve2/storage", node="pve2", headers=h).data
    assert sorted(x["storage"] for x in st) == ["local", "nfs1"]
    assert all(x["avail"] == x["total"] - x["used"] for x in st)
    t, _ = full_login(sim, "bob@pve", "bob-pw")
    assert curl(sim, "/pools", cookie=t).data == []
    assert curl(sim, "/pools/guests", cookie=t).status == 403
    assert curl(sim, "/nodes/pve2/storage", node="pve2", cookie=t).data == []


# ------------------------------------------------------------- limits
def raw_request(sim, data, node="pve1", read_all=True):
    _, addr, port = sim.node(node)
    ctx = ssl.create_default_context(cafile=str(sim.cert_path(node)))
    ctx.check_hostname = False
    with socket.create_connection((addr, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=node) as s:
            s.sendall(data)
            out = b""
            while True:
                try:
                    d = s.recv(65536)
                except (ConnectionError, ssl.SSLError):
                    break
                if not d:
                    break
                out += d
                if not read_all and b"\r\n\r\n" in out:
                    break
    return out


AUTH = ("Authorization: PVEAPIToken=%s=%s\r\n" % (TOKEN_ID, TOKEN_SECRET)
        ).encode()


def test_limits_methods_and_bodies(sim):
    r = raw_request(sim, b"PATCH /api2/json/version HTTP/1.1\r\nHost: x\r\n"
                    + AUTH + b"\r\n")
    assert r.startswith(b"HTTP/1.1 501 method 'PATCH' not available\r\n")
    r = raw_request(sim, b"POST /api2/json/nodes/pve1/qemu/101/config "
                    b"HTTP/1.1\r\nHost: x\r\n" + AUTH +
                    b"Transfer-Encoding: chunked\r\n\r\n5\r\nab=cd\r\n0\r\n"
                    b"\r\n")
    assert r.startswith(b"HTTP/1.1 501 chunked transfer encoding not "
                        b"supported\r\n")
    r = raw_request(sim, b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n"
                    + AUTH + b"Content-Length: 3\r\n\r\nabc")
    assert r.startswith(b"HTTP/1.1 501 Unexpected content for method "
                        b"'GET'\r\n")
    big = 512 * 1024 + 1
    r = raw_request(sim, b"PUT /api2/json/nodes/pve1/qemu/101/config "
                    b"HTTP/1.1\r\nHost: x\r\n" + AUTH +
                    b"Content-Length: %d\r\n\r\n" % big, read_all=True)
    assert r.startswith(b"HTTP/1.1 501 for data too large\r\n")
    r = raw_request(sim, b"POST /api2/json/nodes/pve1/qemu/101/config "
                    b"HTTP/1.1\r\nHost: x\r\n" + AUTH +
                    b"Content-Type: text/plain\r\nContent-Length: 3\r\n\r\n"
                    b"a=b")
    assert r.startswith(b"HTTP/1.1 506 upload 'Content-Type 'text/plain' "
                        b"not implemented\r\n")
    # an '@' before the first '/' of the request target
    r = raw_request(sim, b"GET evil@x/api2/json/version HTTP/1.1\r\n"
                    b"Host: x\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 400 invalid url\r\n")
    # an absolute URI is taken by its path, as HTTP::Request does
    r = raw_request(sim, b"GET https://evil.example/api2/json/version "
                    b"HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                    AUTH + b"\r\n")
    assert r.startswith(b"HTTP/1.1 200 OK\r\n")


def test_limits_headers(sim):
    def req(n, size=10):
        hs = b"".join(b"X-H%d: %s\r\n" % (i, b"a" * size) for i in range(n))
        return b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n" + AUTH + \
            b"Connection: close\r\n" + hs + b"\r\n"
    # 64 lines counting Host, Authorization, Connection and the empty
    # line: no answer at all
    assert raw_request(sim, req(60)) == b""
    assert raw_request(sim, req(59)).startswith(b"HTTP/1.1 200 OK\r\n")
    # 8 KiB of header lines: no answer either
    assert raw_request(sim, req(2, 4100)) == b""
    assert raw_request(sim, req(2, 3900)).startswith(b"HTTP/1.1 200 OK")


def test_keep_alive_and_gzip(sim):
    one = b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n"
    last = one.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
    r = raw_request(sim, one + one + last)
    assert r.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert r.count(b"Connection: Keep-Alive\r\n") == 2
    r = curl(sim, "/cluster/resources", headers=[tok()],
             extra=["--compressed"])
    assert r.header("content-encoding") == "gzip" and len(r.data) > 5


# ----------------------------------------------------- log, fingerprint
def test_request_log_names_identity(sim):
    mark = sim.log_mark()
    t, _ = full_login(sim, "bob@pve", "bob-pw")
    curl(sim, "/nodes/pve2/qemu?full=1", cookie=t, node="pve2")
    curl(sim, "/version", headers=[tok()])
    curl(sim, "/version")
    log = sim.requests_since(mark)
    assert log[0] == {"node": "pve1", "method": "POST",
                      "path": "/api2/json/access/ticket", "query": "",
                      "identity": None, "status": 200}
    assert log[1] == {"node": "pve2", "method": "GET",
                      "path": "/api2/json/nodes/pve2/qemu",
                      "query": "full=1", "identity": "bob@pve",
                      "status": 200}
    assert log[2]["identity"] == TOKEN_ID and log[2]["status"] == 200
    assert log[3]["identity"] is None and log[3]["status"] == 401


def test_fingerprint_matches_openssl(sim):
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint",
                          "-sha256", "-in", str(sim.cert_path("pve2"))],
                         stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    assert out.strip().split("=", 1)[1] == sim.fingerprint("pve2")
    cli = subprocess.run(["/usr/bin/python3", "tests/pvesim/pvesim.py",
                          "--print-fingerprint", str(sim.cert_path("pve2"))],
                         cwd=str(Path(__file__).resolve().parents[2]),
                         stdout=subprocess.PIPE, text=True, check=True)
    assert cli.stdout.strip() == sim.fingerprint("pve2")
