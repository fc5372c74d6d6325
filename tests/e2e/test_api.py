"""The Proxmox API through the bastion (issue 7), end to end: curl against
hvbastiond's HTTPS front, in front of the API simulator (tests/pvesim).

The simulator's request log is the proof of what was (and was not)
forwarded; the daemon log holds the audit events.  TOTP codes are used
once each (the store refuses a replay), so every person logs in once per
module with the current code, and a second login uses the next step's.
"""

import hashlib
import hmac
import json
import re
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import testbed  # noqa: E402
from pvesim import PveSim  # noqa: E402
import totp_codes  # noqa: E402

from conftest import NET, _new_bed, _finish  # noqa: E402

BASTION_ADDR = "%s.20" % NET
NODE_ADDRS = {"pve1": "%s.31" % NET, "pve2": "%s.32" % NET}
PASSWORDS = {"alice": "alice-api-pw", "bob": "bob-api-pw",
             "carol": "carol-api-pw"}
SECRET_HV = "5f1bd7c4-8a7e-4c44-9d0f-0c7f1c0e8a11"
SECRET_GUEST = "2d6c9a4e-3b1f-4f55-8e2a-7a9b0c1d2e33"
# a query parameter that makes the simulated node send a stray answer
STRAY_MARKER = "hvb-test-stray"

GUESTS = [
    {"vmid": 101, "type": "qemu", "node": "pve1", "name": "vm101",
     "status": "running"},
    {"vmid": 102, "type": "qemu", "node": "pve1", "name": "vm102",
     "status": "stopped"},
    {"vmid": 103, "type": "qemu", "node": "pve1", "name": "vm103",
     "status": "running"},
]


@pytest.fixture(scope="module")
def api(request):
    """The simulator (pve1 pinned right, pve2 pinned WRONG) and the bed."""
    bed = _new_bed("api", mfa=True)
    failed_before = request.session.testsfailed
    sim = PveSim(bed.root / "sim",
                 nodes=[("pve1", NODE_ADDRS["pve1"],
                         testbed.free_port(NODE_ADDRS["pve1"])),
                        ("pve2", NODE_ADDRS["pve2"],
                         testbed.free_port(NODE_ADDRS["pve2"]))],
                 users={"root@pam": {"password": "root-password"}},
                 tokens={"root@pam!hvb-hv": {"secret": SECRET_HV},
                         "root@pam!hvb-guest": {"secret": SECRET_GUEST}},
                 acl=[{"path": "/", "ugid": "root@pam!hvb-hv",
                       "roleid": "Administrator", "propagate": 1},
                      {"path": "/pool/web", "ugid": "root@pam!hvb-guest",
                       "roleid": "PVEVMAdmin", "propagate": 1},
                      # Pool.Audit: the bastion learns the guests' pools
                      {"path": "/pool/web", "ugid": "root@pam!hvb-guest",
                       "roleid": "PVEPoolUser", "propagate": 1}],
                 pools={"web": [101]}, guests=GUESTS,
                 storage=[{"storage": "local", "node": "pve1",
                           "type": "dir"}],
                 stray_answer_marker=STRAY_MARKER)
    try:
        sim.setup()
        sim.start()
        nodes = [(n, a, p, sim.fingerprint("pve1")) for n, a, p in sim.nodes]
        bed.enable_api(
            BASTION_ADDR, testbed.free_port(BASTION_ADDR), nodes,
            credentials={"pve-hv": ("root@pam!hvb-hv", SECRET_HV),
                         "pve-guest": ("root@pam!hvb-guest", SECRET_GUEST)},
            role_credentials={"hv-admins": "pve-hv",
                              "guest-admins": "pve-guest"},
            grants={"hv-admins": ['paths "/nodes/*" "/storage/*" "/vms/*"'
                                  ' "/cluster"',
                                  'roles "PVEVMAdmin" "PVEAuditor"',
                                  'privileges "Sys.Console"'],
                    "guest-admins": ['paths "/pool/web"',
                                     'roles "PVEVMAdmin"']},
            passwords=PASSWORDS, failure_delay_ms=50)
        bed.setup()
        bed.start()
        testbed.wait_listen(BASTION_ADDR, bed.api["port"], 15,
                            bed.bastion.proc, bed.bastion.log_path,
                            banner=False)
        bed.sim = sim
        bed.tickets = {}
        yield bed
    finally:
        sim.stop()
        _finish(bed, request, failed_before)


# --------------------------------------------------------------------------
# clients

class Resp:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason = status, reason
        self.headers, self.body = headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:300])


def curl(bed, method, path, data=None, cookie=None, csrf=None,
         headers=(), json_body=None, raw=(), target=None):
    """curl through the bastion; path is under /api2/json."""
    url = bed.api_url + "/api2/json" + path
    argv = ["curl", "-sS", "-i", "--path-as-is", "--cacert",
            str(bed.api_cert), "-X", method, "--max-time", "30"]
    if cookie:
        argv += ["-b", "PVEAuthCookie=" + cookie]
    if csrf:
        argv += ["-H", "CSRFPreventionToken: " + csrf]
    for h in headers:
        argv += ["-H", h]
    for k, v in (data or {}).items():
        argv += ["--data-urlencode", "%s=%s" % (k, v)]
    if json_body is not None:
        argv += ["-H", "Content-Type: application/json",
                 "--data-binary", json.dumps(json_body)]
    if target:
        argv += ["--request-target", target]
    argv += list(raw) + [url]
    cp = subprocess.run(argv, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=60)
    assert cp.returncode == 0, "curl %s: %s" % (argv, cp.stderr)
    head, _, body = cp.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d+) ?(.*)", lines[0])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return Resp(int(m.group(1)), m.group(2), hdrs, body.decode())


def raw_request(bed, data, read=True):
    """Bytes over TLS to the front; the answer (b"" when it drops us)."""
    ctx = ssl.create_default_context(cafile=str(bed.api_cert))
    with socket.create_connection((BASTION_ADDR, bed.api["port"]),
                                  timeout=30) as s:
        with ctx.wrap_socket(s, server_hostname=BASTION_ADDR) as t:
            t.sendall(data)
            out = b""
            while read:
                try:
                    chunk = t.recv(65536)
                except (ssl.SSLError, ConnectionResetError):
                    break
                if not chunk:
                    break
                out += chunk
            return out


def fresh_code(bed, person):
    """A code the bastion has not seen yet for person (totp_codes.py):
    the store takes a code once, and only a newer step after it."""
    return totp_codes.fresh_code(bed.users[person].totp_secret)


def second_step(bed, person, code):
    """The two-step login with this TOTP code; the second step's answer."""
    user = "%s@pve" % person
    r = curl(bed, "POST", "/access/ticket",
             data={"username": user, "password": PASSWORDS[person]})
    assert r.status == 200, r
    d = r.json()["data"]
    assert d["NeedTFA"] == 1 and d["ticket"].startswith("PVE:!tfa!"), d
    return curl(bed, "POST", "/access/ticket",
                data={"username": user, "tfa-challenge": d["ticket"],
                      "password": "totp:" + code})


def login(bed, person):
    """The two-step login; (ticket, csrf)."""
    user = "%s@pve" % person
    r = second_step(bed, person, fresh_code(bed, person))
    assert r.status == 200, r
    d = r.json()["data"]
    assert d["username"] == user and "NeedTFA" not in d
    return d["ticket"], d["CSRFPreventionToken"]


def session(bed, person):
    if person not in bed.tickets:
        bed.tickets[person] = login(bed, person)
    return bed.tickets[person]


def forwarded(bed, mark):
    return bed.sim.requests_since(mark)


def audit_lines(bed, mark, kind="api-call"):
    return [line for line in bed.bastion.log_since(mark).splitlines()
            if "audit %s " % kind in line]


# --------------------------------------------------------------------------
# login

def test_login_two_steps_and_calls(api):
    mark = api.bastion.log_mark()
    ticket, csrf = session(api, "alice")
    assert re.match(r"^PVE:alice@pve:[0-9A-F]{8}::[0-9A-F]{64}$", ticket)
    assert re.match(r"^[0-9A-F]{8}:[0-9A-F]{64}$", csrf)
    log = api.bastion.log_since(mark)
    assert "audit auth-success person=alice" in log, log
    r = curl(api, "GET", "/version", cookie=ticket)
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    assert "version" in r.json()["data"]


def test_wrong_password_is_401_delayed_and_audited(api):
    mark = api.bastion.log_mark()
    smark = api.sim.log_mark()
    r = curl(api, "POST", "/access/ticket",
             data={"username": "alice@pve", "password": "wrong"})
    assert r.status == 401 and r.reason == "authentication failure", r
    assert r.json()["data"] is None
    assert "audit auth-failure person=alice" in api.bastion.log_since(mark)
    assert forwarded(api, smark) == []


def test_unknown_person_and_partial_ticket_alone(api):
    r = curl(api, "POST", "/access/ticket",
             data={"username": "mallory@pve", "password": "x"})
    assert r.status == 401, r
    r = curl(api, "POST", "/access/ticket",
             data={"username": "bob@pve", "password": PASSWORDS["bob"]})
    partial = r.json()["data"]["ticket"]
    # the partial ticket opens nothing
    r = curl(api, "GET", "/version", cookie=partial)
    assert r.status == 401, r
    # nor does a wrong second factor
    r = curl(api, "POST", "/access/ticket",
             data={"username": "bob@pve", "tfa-challenge": partial,
                   "password": "totp:000000"})
    assert r.status == 401, r


def test_totp_code_works_once(api):
    """One code, one login: the TOTP store's replay protection holds for
    the API as for SSH."""
    code = fresh_code(api, "carol")
    r = second_step(api, "carol", code)
    assert r.status == 200, r
    r = second_step(api, "carol", code)
    assert r.status == 401, r


def test_ticket_renewal(api):
    ticket, _ = session(api, "alice")
    r = curl(api, "POST", "/access/ticket",
             data={"username": "alice@pve", "password": ticket})
    assert r.status == 200, r
    fresh = r.json()["data"]["ticket"]
    assert fresh.startswith("PVE:alice@pve:")
    assert curl(api, "GET", "/version", cookie=fresh).status == 200
    # not for someone else's name
    r = curl(api, "POST", "/access/ticket",
             data={"username": "bob@pve", "password": ticket})
    assert r.status == 401, r


def test_forged_and_expired_tickets(api):
    ticket, _ = session(api, "alice")
    forged = ticket[:-1] + ("0" if ticket[-1] != "0" else "1")
    r = curl(api, "GET", "/version", cookie=forged)
    assert r.status == 401 and r.reason == "Authentication failed!", r
    other = ticket.replace("alice@pve", "bob@pve")
    assert curl(api, "GET", "/version", cookie=other).status == 401
    # a well-signed ticket from 3 hours ago (the key is the bed's own)
    key = (api.state_dir / "seal.key").read_bytes()
    tkey = hmac.new(key, b"hvbastion api ticket v1", hashlib.sha256).digest()
    t = "%08X" % int(time.time() - 3 * 3600)
    mac = hmac.new(tkey, b"ticket\0alice@pve\0" + t.encode() + b"\0",
                   hashlib.sha256).hexdigest().upper()
    good_form = "PVE:alice@pve:%s::%s" % (
        "%08X" % int(time.time()), hmac.new(
            tkey, b"ticket\0alice@pve\0" + ("%08X" % int(time.time()))
            .encode() + b"\0", hashlib.sha256).hexdigest().upper())
    assert curl(api, "GET", "/version", cookie=good_form).status == 200
    r = curl(api, "GET", "/version", cookie="PVE:alice@pve:%s::%s" % (t, mac))
    assert r.status == 401, r


def test_ticket_in_authorization_header(api):
    ticket, _ = session(api, "alice")
    r = curl(api, "GET", "/version",
             headers=["Authorization: PVEAuthCookie=" + ticket])
    assert r.status == 200, r


def test_no_ticket(api):
    r = curl(api, "GET", "/version")
    assert r.status == 401 and r.reason == "No ticket", r
    assert r.body == ""


# --------------------------------------------------------------------------
# calls: forwarding, CSRF, policy

def test_start_stop_and_config(api):
    ticket, csrf = session(api, "alice")
    smark = api.sim.log_mark()
    mark = api.bastion.log_mark()
    r = curl(api, "POST", "/nodes/pve1/qemu/102/status/start",
             cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    assert r.json()["data"].startswith("UPID:pve1:")
    r = curl(api, "GET", "/nodes/pve1/qemu/102/status/current",
             cookie=ticket)
    assert r.json()["data"]["status"] == "running", r
    r = curl(api, "POST", "/nodes/pve1/qemu/102/status/stop",
             cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    r = curl(api, "PUT", "/nodes/pve1/qemu/102/config", cookie=ticket,
             csrf=csrf, data={"description": "set through the bastion"})
    assert r.status == 200, r
    r = curl(api, "GET", "/nodes/pve1/qemu/102/config", cookie=ticket)
    assert r.json()["data"]["description"] == "set through the bastion"
    reqs = forwarded(api, smark)
    assert [(q["method"], q["path"]) for q in reqs] == [
        ("POST", "/api2/json/nodes/pve1/qemu/102/status/start"),
        ("GET", "/api2/json/nodes/pve1/qemu/102/status/current"),
        ("POST", "/api2/json/nodes/pve1/qemu/102/status/stop"),
        ("PUT", "/api2/json/nodes/pve1/qemu/102/config"),
        ("GET", "/api2/json/nodes/pve1/qemu/102/config")], reqs
    # with the role's held token, never the person's ticket
    assert {q["identity"] for q in reqs} == {"root@pam!hvb-hv"}
    calls = audit_lines(api, mark)
    assert len(calls) == 5, calls
    assert all("person=alice role=hv-admins" in c and "target=pve1" in c
               for c in calls), calls
    assert "action=POST\\x20/nodes/pve1/qemu/102/status/start" in \
        calls[0] or "action=POST /nodes/pve1/qemu/102/status/start" in \
        calls[0], calls[0]


def test_missing_or_wrong_csrf(api):
    ticket, csrf = session(api, "alice")
    smark = api.sim.log_mark()
    r = curl(api, "POST", "/nodes/pve1/qemu/102/status/start", cookie=ticket)
    assert r.status == 401, r
    assert r.reason == "Permission denied - invalid csrf token"
    _, bob_csrf = session(api, "bob")
    r = curl(api, "POST", "/nodes/pve1/qemu/102/status/start",
             cookie=ticket, csrf=bob_csrf)
    assert r.status == 401, r
    assert forwarded(api, smark) == []


def test_guest_admin_scope(api):
    ticket, csrf = session(api, "bob")
    smark = api.sim.log_mark()
    mark = api.bastion.log_mark()
    # a node endpoint: denied, never forwarded
    r = curl(api, "GET", "/nodes/pve1/status", cookie=ticket)
    assert r.status == 403, r
    assert r.reason.startswith("Permission check failed (/nodes/pve1")
    assert r.json()["data"] is None
    # a VM outside the scope
    r = curl(api, "POST", "/nodes/pve1/qemu/103/status/stop",
             cookie=ticket, csrf=csrf)
    assert r.status == 403, r
    denied = [q for q in forwarded(api, smark)
              if "/status" in q["path"]]
    assert denied == [], denied
    assert len(audit_lines(api, mark, "policy-denial")) == 2
    # its own VM, reached through its pool's grant
    r = curl(api, "GET", "/nodes/pve1/qemu/101/status/current",
             cookie=ticket)
    assert r.status == 200, r
    # the pool was learnt with the guest role's token
    reqs = forwarded(api, smark)
    assert reqs[-1]["identity"] == "root@pam!hvb-guest", reqs


def test_guest_admin_lists_only_its_vms(api):
    ticket, _ = session(api, "bob")
    r = curl(api, "GET", "/cluster/resources", cookie=ticket)
    assert r.status == 200, r
    vmids = sorted(x.get("vmid") for x in r.json()["data"])
    assert vmids == [101], r.json()
    r = curl(api, "GET", "/nodes/pve1/qemu", cookie=ticket)
    assert r.status == 200, r
    assert sorted(x["vmid"] for x in r.json()["data"]) == [101]


def test_hv_admin_list_pools_cut(api):
    """alice (no grant on /pool: the stream filter's case) sees every
    guest and node, but neither the pool nor the guests' "pool" member
    (Pool.Audit, as in Proxmox); the list is read over the node's bytes,
    with no fall-back to the tree filter."""
    ticket, _ = session(api, "alice")
    mark = api.bastion.log_mark()
    r = curl(api, "GET", "/cluster/resources", cookie=ticket)
    assert r.status == 200, r
    data = r.json()["data"]
    assert sorted(x["vmid"] for x in data if "vmid" in x) == [101, 102,
                                                             103], data
    assert [x for x in data if x.get("type") == "pool" or "pool" in x] \
        == [], data
    assert sorted(x["node"] for x in data if x.get("type") == "node") == \
        ["pve1", "pve2"], data
    assert "filtered as a tree" not in api.bastion.log_since(mark)


def test_auditor_without_api_role(api):
    ticket, _ = session(api, "carol")
    smark = api.sim.log_mark()
    assert curl(api, "GET", "/version", cookie=ticket).status == 403
    assert curl(api, "GET", "/nodes/pve1/status",
                cookie=ticket).status == 403
    assert forwarded(api, smark) == []


def test_unknown_path_and_access_denied(api):
    ticket, _ = session(api, "alice")
    smark = api.sim.log_mark()
    assert curl(api, "GET", "/nodes/pve1/execute",
                cookie=ticket).status == 403
    assert curl(api, "GET", "/access/users", cookie=ticket).status == 403
    assert forwarded(api, smark) == []


def test_pin_mismatch_sends_nothing(api):
    ticket, _ = session(api, "alice")
    smark = api.sim.log_mark()
    mark = api.bastion.log_mark()
    r = curl(api, "GET", "/nodes/pve2/status", cookie=ticket)
    assert r.status == 502, r
    assert forwarded(api, smark) == []
    assert "outcome=pin-mismatch" in api.bastion.log_since(mark)


# --------------------------------------------------------------------------
# header, SSRF and HTTP limit cases

def test_identity_headers_are_not_passed(api):
    ticket, _ = session(api, "alice")
    smark = api.sim.log_mark()
    r = curl(api, "GET", "/version", cookie=ticket,
             headers=["X-Forwarded-For: 10.0.0.1", "PVEClientIP: 10.0.0.1",
                      "X-Forwarded-User: root@pam"])
    assert r.status == 200, r
    assert [q["identity"] for q in forwarded(api, smark)] == [
        "root@pam!hvb-hv"]


def test_foreign_authorization_refused(api):
    smark = api.sim.log_mark()
    for h in ("Authorization: Basic YWxpY2U6eA==",
              "Authorization: PVEAPIToken=root@pam!hvb-hv=" + SECRET_HV):
        r = curl(api, "GET", "/version", headers=[h])
        assert r.status == 401, (h, r)
    assert forwarded(api, smark) == []


def test_path_tricks(api):
    ticket, _ = session(api, "bob")
    smark = api.sim.log_mark()
    for p in ("/nodes/pve1/qemu/101/../../../nodes/pve1/status",
              "/nodes/pve1/qemu/101/%2e%2e/%2e%2e/status",
              "/nodes//pve1/status", "/nodes/pve1%00/status",
              "/nodes/pve1/qemu/101/status/current%ff"):
        r = curl(api, "GET", p, cookie=ticket)
        assert r.status == 400, (p, r)
    for target in ("https://evil.example/api2/json/version", "*",
                   "/api2/extjs/version"):
        r = curl(api, "GET", "/version", cookie=ticket, target=target)
        assert r.status in (400, 501), (target, r)
    r = raw_request(api, b"GET /api2/json/version HTTP/1.1\r\n"
                    b"Host: a.example\r\nHost: b.example\r\n"
                    b"Cookie: PVEAuthCookie=" + ticket.encode() +
                    b"\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 400 "), r
    assert forwarded(api, smark) == []


def test_http_limits(api):
    ticket, csrf = session(api, "alice")
    smark = api.sim.log_mark()
    # 70 header lines, then 9 KiB of header: dropped without an answer
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(70))
    assert raw_request(api, b"GET /api2/json/version HTTP/1.1\r\n"
                       b"Host: x\r\n" + many + b"\r\n") == b""
    big = b"X-Big: " + b"a" * 9000 + b"\r\n"
    assert raw_request(api, b"GET /api2/json/version HTTP/1.1\r\n"
                       b"Host: x\r\n" + big + b"\r\n") == b""
    r = raw_request(api, b"PATCH /api2/json/version HTTP/1.1\r\n"
                    b"Host: x\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 501 method 'PATCH' not available"), r
    r = raw_request(api, b"CONNECT evil.example:443 HTTP/1.1\r\n"
                    b"Host: evil.example:443\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 501 "), r
    r = raw_request(api, b"POST /api2/json/access/ticket HTTP/1.1\r\n"
                    b"Host: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"3\r\nabc\r\n0\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 501 chunked transfer encoding not"
                        b" supported"), r
    r = raw_request(api, b"POST /api2/json/access/ticket HTTP/1.1\r\n"
                    b"Host: x\r\nContent-Length: %d\r\n\r\n"
                    % (512 * 1024 + 1))
    assert r.startswith(b"HTTP/1.1 501 for data too large"), r
    r = raw_request(api, b"GET /api2/json/version HTTP/1.1\r\n"
                    b"Host: x\r\nContent-Length: 3\r\n\r\nabc")
    assert r.startswith(b"HTTP/1.1 501 Unexpected content for method"
                        b" 'GET'"), r
    r = curl(api, "PUT", "/nodes/pve1/qemu/102/config", cookie=ticket,
             csrf=csrf, headers=["Content-Type: text/plain"],
             raw=["--data-binary", "description=x"])
    assert r.status == 506, r
    assert forwarded(api, smark) == []


def test_keep_alive_and_pipelining(api):
    ticket, _ = session(api, "alice")
    one = (b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n"
           b"Cookie: PVEAuthCookie=" + ticket.encode() + b"\r\n\r\n")
    out = raw_request(api, one + one + one.replace(
        b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n"))
    assert out.count(b"HTTP/1.1 200 OK") == 3, out


def test_pipelined_requests_in_records_of_one_segment(api):
    """Pipelined requests each in its own TLS record, all in one TCP
    segment: the front reads them ahead in one read() and answers each
    (its read loop never waits on the socket while OpenSSL holds bytes)."""
    from wsclient import send_records
    ticket, _ = session(api, "alice")
    one = (b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n"
           b"Cookie: PVEAuthCookie=" + ticket.encode() + b"\r\n\r\n")
    last = one.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
    ctx = ssl.create_default_context(cafile=str(api.api_cert))
    with socket.create_connection((BASTION_ADDR, api.api["port"]),
                                  timeout=30) as s:
        with ctx.wrap_socket(s, server_hostname=BASTION_ADDR) as t:
            # the first request split across two records, then two whole
            send_records(t, [one[:20], one[20:], one, last])
            out = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                out += chunk
    assert out.count(b"HTTP/1.1 200 OK") == 3, out


def test_node_bytes_after_an_answer_are_not_the_next_answer(api):
    """A node that sends an answer nobody asked for right after the real
    one (its own TLS record, same TCP segment: read ahead with the real
    answer): the kept-alive node connection is not used again, so the
    next call gets its own answer, not the stray one."""
    ticket, _ = session(api, "alice")
    one = (b"GET /api2/json/version%s HTTP/1.1\r\nHost: x\r\n"
           b"Cookie: PVEAuthCookie=" + ticket.encode() + b"\r\n\r\n")
    smark = api.sim.log_mark()
    # both calls on one client connection: the same child and node pool
    out = raw_request(api, one % (b"?" + STRAY_MARKER.encode() + b"=1") +
                      (one % b"").replace(b"Host: x\r\n",
                                          b"Host: x\r\nConnection: close\r\n"))
    assert out.count(b"HTTP/1.1 200 OK") == 2, out
    assert b"stray" not in out, out
    assert out.count(b'"release":"8.4"') == 2, out
    assert [q["path"] for q in forwarded(api, smark)] == [
        "/api2/json/version"] * 2


# --------------------------------------------------------------------------
# personal API tokens

def test_personal_api_token(api):
    hvb = [str(api.bin_dir / "hvbastion"), "-f", str(api.conf)]
    cp = testbed.run(hvb + ["api-token", "create", "alice", "ci"])
    secret = cp.stdout.strip().splitlines()[-1].split()[-1]
    assert re.match(r"^[0-9a-f-]{36}$", secret), cp.stdout
    smark = api.sim.log_mark()
    for h in ("Authorization: PVEAPIToken=alice@pve!ci=" + secret,
              "Authorization: PVEAPIToken alice@pve!ci=" + secret):
        r = curl(api, "GET", "/nodes/pve1/qemu/102/status/current",
                 headers=[h])
        assert r.status == 200, (h, r)
    # no CSRF token needed with an API token (as Proxmox)
    r = curl(api, "POST", "/nodes/pve1/qemu/102/status/start",
             headers=["Authorization: PVEAPIToken=alice@pve!ci=" + secret])
    assert r.status == 200, r
    assert {q["identity"] for q in forwarded(api, smark)} == {
        "root@pam!hvb-hv"}
    # bound to its person
    r = curl(api, "GET", "/version",
             headers=["Authorization: PVEAPIToken=bob@pve!ci=" + secret])
    assert r.status == 401, r
    cp = testbed.run(hvb + ["api-token", "list", "alice"])
    assert "ci" in cp.stdout and secret not in cp.stdout
    testbed.run(hvb + ["api-token", "revoke", "alice", "ci"])
    r = curl(api, "GET", "/version",
             headers=["Authorization: PVEAPIToken=alice@pve!ci=" + secret])
    assert r.status == 401, r


# --------------------------------------------------------------------------
# the log

def test_every_call_is_audited(api):
    ticket, _ = session(api, "alice")
    mark = api.bastion.log_mark()
    for _ in range(3):
        curl(api, "GET", "/version", cookie=ticket)
    curl(api, "GET", "/access/users", cookie=ticket)
    calls = audit_lines(api, mark)
    assert len(calls) == 4, calls
    assert sum("outcome=denied" in c for c in calls) == 1, calls


# --------------------------------------------------------------------------
# the npm proxmox-api client through the bastion

def test_npm_proxmox_api_client(api):
    from pveclient import PveClient
    smark = api.sim.log_mark()
    mark = api.bastion.log_mark()
    code = fresh_code(api, "alice")
    res = PveClient().install().run(
        api.api_url, ca=api.api_cert, user="alice@pve",
        password=PASSWORDS["alice"], totp_code=code, vmid=102)
    assert res.rc == 0, res
    assert res.step("login")["needTFA"] is True
    assert res.step("version")["release"] == "8.4"
    assert res.step("qemu")["vmids"] == [101, 102, 103], res
    assert res.step("stop")["status"] == "stopped"
    assert res.step("start")["status"] == "running"
    assert res.step("config")["ok"] is True
    reqs = forwarded(api, smark)
    assert reqs and {q["identity"] for q in reqs} == {"root@pam!hvb-hv"}
    assert len(audit_lines(api, mark)) >= len(reqs)


# --------------------------------------------------------------------------
# the node console (termproxy over a websocket), recorded

def _end_console(ws, api, mark):
    """Leaves the node shell; the console's session id from the log."""
    from wsclient import term_data
    ws.send(term_data("exit\r"))
    with pytest.raises(EOFError):
        ws.read_until(b"never")
    ws.close()
    log = api.bastion.wait_log("API console", mark, timeout=10)
    m = re.search(r"API console (\S+) ended: alice on pve1", log)
    assert m, log
    return m.group(1)


def test_node_console_through_the_bastion_is_recorded(api):
    import urllib.parse
    from wsclient import WsClient, term_data, term_resize
    ticket, csrf = session(api, "alice")
    r = curl(api, "POST", "/nodes/pve1/termproxy", cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    d = r.json()["data"]
    mark = api.bastion.log_mark()
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    ws = WsClient.connect(BASTION_ADDR, api.api["port"],
                          "/api2/json/nodes/pve1/vncwebsocket?" + q,
                          headers={"Cookie": "PVEAuthCookie=" + ticket},
                          cafile=str(api.api_cert))
    assert ws.headers.get("sec-websocket-protocol") == "binary"
    ws.send(("%s:%s\n" % (d["user"], d["ticket"])).encode())
    assert ws.read_until(b"OK").startswith(b"OK")
    ws.read_until(b"# ")
    ws.send(term_resize(100, 30))
    ws.send(term_data("hostname\r"))
    assert b"pve1\r\n" in ws.read_until(b"# ")
    ws.send(term_data("echo recorded-through-hvb\r"))
    ws.read_until(b"# ")
    sid = _end_console(ws, api, mark)
    hvb = [str(api.bin_dir / "hvbastion"), "-f", str(api.conf)]
    cp = testbed.run(hvb + ["sessions", "--json", "--person", "alice"])
    rows = [json.loads(x) for x in cp.stdout.splitlines() if x.strip()] \
        if not cp.stdout.lstrip().startswith("[") else json.loads(cp.stdout)
    row = [x for x in rows if x["id"] == sid]
    assert row and row[0]["targets"] == ["pve1"], cp.stdout
    cp = testbed.run(hvb + ["replay", sid, "--cat"])
    assert "recorded-through-hvb" in cp.stdout, cp.stdout
    # the credential line (the VNC ticket) is not in the recording
    cast = (api.recordings_dir / ("%s-c0.cast" % sid)).read_text()
    assert d["ticket"] not in cast
    # input (record-input yes) and the resize are in it too
    assert '"i", "echo recorded' in cast or '"i","echo recorded' in cast, \
        cast[:2000]
    assert '"100x30"' in cast, cast[:2000]


def _termproxy(api, person="alice"):
    """A node shell's console ticket: (person's ticket, termproxy data)."""
    ticket, csrf = session(api, person)
    r = curl(api, "POST", "/nodes/pve1/termproxy", cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    return ticket, r.json()["data"]


def test_console_passes_on_records_that_arrive_together(api):
    """TLS records that arrive in one TCP segment are read ahead by the
    bastion in one read(); every one must still be passed on, both ways.
    A relay that waited on poll() while OpenSSL held the rest would stall
    here (and the client's read would time out): client to node, the
    ticket line and a command in two records of one segment, then two
    commands so; node to client, the simulated node sends each answer's
    frames (echo, output, prompt) as records of one segment."""
    import urllib.parse
    from wsclient import WsClient, term_data
    ticket, d = _termproxy(api)
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    ws = WsClient.connect(BASTION_ADDR, api.api["port"],
                          "/api2/json/nodes/pve1/vncwebsocket?" + q,
                          headers={"Cookie": "PVEAuthCookie=" + ticket},
                          cafile=str(api.api_cert))
    ws.send_together([("%s:%s\n" % (d["user"], d["ticket"])).encode(),
                      term_data("hostname\r")])
    out = ws.read_until(b"pve1\r\n")
    assert out.startswith(b"OK"), out
    ws.read_until(b"# ")
    ws.send_together([term_data("echo one\r"), term_data("echo two\r")])
    # (the shell echoes the command line first: "echo two\r\n")
    out = ws.read_until(b"\r\ntwo\r\n")
    assert b"\r\none\r\n" in out, out
    ws.read_until(b"# ")
    ws.send(term_data("exit\r"))
    with pytest.raises(EOFError):
        ws.read_until(b"never")
    ws.close()


def test_console_frames_sent_before_the_101_are_passed_on(api):
    """A client that does not wait for the 101: its ticket line comes in
    the upgrade request's own TLS record (bytes the HTTP reader already
    holds when the console starts) and a command in the next record of
    the same segment (read ahead by OpenSSL).  Both reach the node, in
    order, the ticket line still swapped for the node's."""
    import urllib.parse
    from wsclient import WsClient, frame, term_data
    ticket, d = _termproxy(api)
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    mark = api.bastion.log_mark()
    ws = WsClient.connect(BASTION_ADDR, api.api["port"],
                          "/api2/json/nodes/pve1/vncwebsocket?" + q,
                          headers={"Cookie": "PVEAuthCookie=" + ticket},
                          cafile=str(api.api_cert),
                          early=[frame("%s:%s\n" % (d["user"], d["ticket"])),
                                 frame(term_data("echo early-bird\r"))])
    out = ws.read_until(b"\r\nearly-bird\r\n")
    assert out.startswith(b"OK"), out
    ws.read_until(b"# ")
    sid = _end_console(ws, api, mark)
    cast = (api.recordings_dir / ("%s-c0.cast" % sid)).read_text()
    assert "early-bird" in cast and d["ticket"] not in cast, cast[:2000]


def test_console_needs_the_console_privilege(api):
    import urllib.parse
    from wsclient import WsClient, HandshakeError
    ticket, _ = session(api, "bob")
    smark = api.sim.log_mark()
    q = urllib.parse.urlencode({"port": 5900, "vncticket": "PVEVNC:x"})
    with pytest.raises(HandshakeError) as e:
        WsClient.connect(BASTION_ADDR, api.api["port"],
                         "/api2/json/nodes/pve1/vncwebsocket?" + q,
                         headers={"Cookie": "PVEAuthCookie=" + ticket},
                         cafile=str(api.api_cert))
    assert " 403 " in e.value.status_line, e.value.status_line
    assert forwarded(api, smark) == []


def test_delete_is_decided_and_forwarded(api):
    """DELETE goes through the same decision; the simulator has no DELETE
    handler and answers pveproxy's 501, passed back as it is."""
    ticket, csrf = session(api, "alice")
    bticket, bcsrf = session(api, "bob")
    smark = api.sim.log_mark()
    r = curl(api, "DELETE", "/nodes/pve1/qemu/103", cookie=bticket,
             csrf=bcsrf)
    assert r.status == 403, r
    # only the bastion's own look-up of the guest's pool went out
    assert [(q["method"], q["path"]) for q in forwarded(api, smark)] == [
        ("GET", "/api2/json/cluster/resources")]
    smark = api.sim.log_mark()
    r = curl(api, "DELETE", "/nodes/pve1/qemu/103", cookie=ticket)
    assert r.status == 401, r       # no CSRF token
    r = curl(api, "DELETE", "/nodes/pve1/qemu/103", cookie=ticket,
             csrf=csrf)
    assert r.status == 501, r
    assert [(q["method"], q["path"], q["identity"])
            for q in forwarded(api, smark)] == [
        ("DELETE", "/api2/json/nodes/pve1/qemu/103", "root@pam!hvb-hv")]


# --------------------------------------------------------------------------
# console tickets bound to the person, the path, the port and the node
# that answered (api_vncbind.h)

def _parse_http(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d+) ?(.*)", lines[0])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return Resp(int(m.group(1)), m.group(2), hdrs, body.decode())


def sim_get(api, node, path, token=("root@pam!hvb-hv", SECRET_HV)):
    """A GET straight to the simulator (what pveproxy itself answers)."""
    _, addr, port = api.sim.node(node)
    cp = subprocess.run(
        ["curl", "-sS", "-i", "-k", "--max-time", "30", "-H",
         "Authorization: PVEAPIToken=%s=%s" % token,
         "https://%s:%d/api2/json%s" % (addr, port, path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert cp.returncode == 0, cp.stderr
    return _parse_http(cp.stdout)


def _shape(r):
    return (r.status, r.reason, r.headers.get("content-type"), r.json())


def test_console_ticket_is_bound_to_person_path_and_port(api):
    import urllib.parse
    from wsclient import WsClient, HandshakeError
    ticket, csrf = session(api, "alice")
    r = curl(api, "POST", "/nodes/pve1/termproxy", cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    d = r.json()["data"]
    bound = d["ticket"]
    assert re.match(r"^PVEVNC:\S+:HVB1:pve1:t:[0-9A-F]{8}:[0-9A-F]{64}$",
                    bound), bound
    node_ticket = bound[:bound.index(":HVB1:")]
    port = int(d["port"])

    def ws_get(person_ticket, path, p, vt):
        q = urllib.parse.urlencode({"port": p, "vncticket": vt})
        return curl(api, "GET", path + "?" + q, cookie=person_ticket)

    # what pveproxy answers to a VNC ticket it did not issue
    pve = sim_get(api, "pve1", "/nodes/pve1/vncwebsocket?" +
                  urllib.parse.urlencode({"port": port,
                                          "vncticket": "PVEVNC:0::x"}))
    assert pve.status == 401, pve
    smark = api.sim.log_mark()
    mark = api.bastion.log_mark()
    # the node's own ticket (not bound), another port, another node's
    # path: refused by the bastion alone, in pveproxy's shape
    for path, p, vt in [("/nodes/pve1/vncwebsocket", port, node_ticket),
                        ("/nodes/pve1/vncwebsocket", port + 1, bound),
                        ("/nodes/pve2/vncwebsocket", port, bound)]:
        assert _shape(ws_get(ticket, path, p, vt)) == _shape(pve), (path, p)
    # and the same refusal before a websocket upgrade
    q = urllib.parse.urlencode({"port": port, "vncticket": node_ticket})
    with pytest.raises(HandshakeError) as e:
        WsClient.connect(BASTION_ADDR, api.api["port"],
                         "/api2/json/nodes/pve1/vncwebsocket?" + q,
                         headers={"Cookie": "PVEAuthCookie=" + ticket},
                         cafile=str(api.api_cert))
    assert " 401 " in e.value.status_line, e.value.status_line
    assert forwarded(api, smark) == []
    log = api.bastion.log_since(mark)
    assert log.count("console ticket not issued to this person here") == 4
    assert log.count("outcome=denied") == 8, log     # and each api-call

    # a termproxy's first message must repeat the ticket it was opened
    # with: another one ends the console before the node sees it
    q = urllib.parse.urlencode({"port": port, "vncticket": bound})
    ws = WsClient.connect(BASTION_ADDR, api.api["port"],
                          "/api2/json/nodes/pve1/vncwebsocket?" + q,
                          headers={"Cookie": "PVEAuthCookie=" + ticket},
                          cafile=str(api.api_cert))
    ws.send(("%s:%s\n" % (d["user"], node_ticket)).encode())
    with pytest.raises(EOFError):
        ws.read_until(b"OK")
    ws.close()
    assert "bad console ticket line" in api.bastion.wait_log(
        "bad console ticket line", mark, timeout=10)
    # (a termproxy ticket is good once: the next test asks for another)
    r = curl(api, "POST", "/nodes/pve1/termproxy", cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    d = r.json()["data"]
    bound = d["ticket"]
    node_ticket = bound[:bound.index(":HVB1:")]
    port = int(d["port"])
    smark = api.sim.log_mark()

    # the right ticket: the node gets its own ticket back
    r = ws_get(ticket, "/nodes/pve1/vncwebsocket", port, bound)
    assert r.status == 200 and r.json() == {"data": {"port": str(port)}}, r
    reqs = forwarded(api, smark)
    assert [(x["node"], x["path"]) for x in reqs] == [
        ("pve1", "/api2/json/nodes/pve1/vncwebsocket")], reqs
    assert urllib.parse.parse_qs(reqs[0]["query"]) == {
        "port": [str(port)], "vncticket": [node_ticket]}, reqs[0]


def test_guest_console_ticket_is_not_another_persons(api):
    """bob's VNC ticket (his guest's vncproxy) opens nothing for alice,
    although alice may open consoles of every guest herself."""
    import urllib.parse
    bticket, bcsrf = session(api, "bob")
    aticket, _ = session(api, "alice")
    r = curl(api, "POST", "/nodes/pve1/qemu/101/vncproxy", cookie=bticket,
             csrf=bcsrf, data={"websocket": "1"})
    assert r.status == 200, r
    d = r.json()["data"]
    assert ":HVB1:pve1:v:" in d["ticket"], d
    # a qemu VNC password is cut at 8 characters: those stay the node's
    assert d["ticket"][:8] == "PVEVNC:" + d["ticket"][7]
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    path = "/nodes/pve1/qemu/101/vncwebsocket?" + q
    smark = api.sim.log_mark()
    r = curl(api, "GET", path, cookie=aticket)
    assert (r.status, r.reason) == (
        401, "permission denied - invalid PVEVNC ticket"), r
    assert forwarded(api, smark) == []
    r = curl(api, "GET", path, cookie=bticket)
    assert r.status == 200, r
    # (the bastion's look-up of the guest's pool goes out too)
    assert [(x["path"], x["identity"]) for x in forwarded(api, smark)
            if x["path"].endswith("/vncwebsocket")] == [
        ("/api2/json/nodes/pve1/qemu/101/vncwebsocket", "root@pam!hvb-guest")]
