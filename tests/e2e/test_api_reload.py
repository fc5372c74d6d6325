"""The API front across SIGHUP, and its realms (issue 7's last gaps).

One bed, one simulator with two nodes (both pinned right), the bastion
first knowing only pve1 (so that pve1's pveproxy answers for pve2 too, as
a real cluster's pveproxy proxies), with api-realms "pve" "corp":

* a console opened through pve1 for pve2's shell keeps going to pve1 even
  after a reload that gives pve2 its own address: the websocket follows
  the node that answered the termproxy POST, not the path;
* the realms of api-realms are accepted at login and in tickets, others
  refused as pveproxy refuses an unknown realm; a reload that drops a
  realm makes its tickets worthless;
* the TLS certificate and key are reloaded on SIGHUP, running connections
  keep theirs, and a broken new pair leaves the old one serving.

The simulator's request log (its "node" is the front that was asked)
shows where each call went.
"""

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import testbed  # noqa: E402
from pvesim import PveSim  # noqa: E402
import totp_codes  # noqa: E402

from conftest import NET, _new_bed, _finish  # noqa: E402
from test_api import Resp, _parse_http, curl  # noqa: E402

BASTION_ADDR = "%s.20" % NET
NODE_ADDRS = {"pve1": "%s.31" % NET, "pve2": "%s.32" % NET}
PASSWORDS = {"alice": "alice-api-pw", "bob": "bob-api-pw",
             "carol": "carol-api-pw"}
SECRET_HV = "5f1bd7c4-8a7e-4c44-9d0f-0c7f1c0e8a11"


@pytest.fixture(scope="module")
def bed(request):
    bed = _new_bed("apireload", mfa=True)
    failed_before = request.session.testsfailed
    sim = PveSim(bed.root / "sim",
                 nodes=[(n, a, testbed.free_port(a))
                        for n, a in sorted(NODE_ADDRS.items())],
                 users={"root@pam": {"password": "root-password"}},
                 tokens={"root@pam!hvb-hv": {"secret": SECRET_HV}},
                 acl=[{"path": "/", "ugid": "root@pam!hvb-hv",
                       "roleid": "Administrator", "propagate": 1}],
                 guests=[{"vmid": 101, "type": "qemu", "node": "pve1",
                          "name": "vm101", "status": "running"}])
    try:
        sim.setup()
        sim.start()
        bed.all_nodes = [(n, a, p, sim.fingerprint(n))
                         for n, a, p in sim.nodes]
        bed.enable_api(
            BASTION_ADDR, testbed.free_port(BASTION_ADDR),
            [x for x in bed.all_nodes if x[0] == "pve1"],
            credentials={"pve-hv": ("root@pam!hvb-hv", SECRET_HV)},
            role_credentials={"hv-admins": "pve-hv"},
            grants={"hv-admins": ['paths "/nodes/*" "/vms/*" "/cluster"',
                                  'roles "PVEVMAdmin" "PVEAuditor"',
                                  'privileges "Sys.Console"']},
            passwords=PASSWORDS, failure_delay_ms=50,
            realms=["pve", "corp"])
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


def reload(bed, needle="configuration reloaded"):
    """Rewrites the configuration, SIGHUPs the daemon, waits for needle
    (and for the certificate's outcome, which comes after it)."""
    bed.write_bastion_config()
    mark = bed.bastion.log_mark()
    os.kill(bed.bastion.pid, signal.SIGHUP)
    # "SIGHUP: API certificate ... reloaded" or "... was not reloaded"
    log = bed.bastion.wait_log("API certificate", mark, timeout=10)
    assert "API certificate" in log and needle in log, log
    return log


def login(bed, userid, person="alice", realm=None):
    """The two-step login as userid (name@realm, or a name and realm);
    (ticket, csrf), kept for the module.  Each login takes a code the
    bastion has not seen yet (totp_codes.py)."""
    key = (userid, realm)
    if key in bed.tickets:
        return bed.tickets[key]
    first = {"username": userid, "password": PASSWORDS[person]}
    if realm:
        first["realm"] = realm
    r = curl(bed, "POST", "/access/ticket", data=first)
    assert r.status == 200, r
    d = r.json()["data"]
    assert d["NeedTFA"] == 1, d
    code = totp_codes.fresh_code(bed.users[person].totp_secret)
    second = {"username": userid, "tfa-challenge": d["ticket"],
              "password": "totp:" + code}
    if realm:
        second["realm"] = realm
    r = curl(bed, "POST", "/access/ticket", data=second)
    assert r.status == 200, r
    bed.tickets[key] = (r.json()["data"]["ticket"],
                        r.json()["data"]["CSRFPreventionToken"])
    return bed.tickets[key]


# --------------------------------------------------------------------------
# the console's websocket goes to the node that answered its POST

def test_console_follows_the_node_that_answered(bed):
    from wsclient import WsClient
    ticket, csrf = login(bed, "alice@pve")
    smark = bed.sim.log_mark()
    r = curl(bed, "POST", "/nodes/pve2/termproxy", cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    d = r.json()["data"]
    # pve2 has no address at the bastion yet: pve1's front answered
    assert [(x["node"], x["path"]) for x in bed.sim.requests_since(smark)] \
        == [("pve1", "/api2/json/nodes/pve2/termproxy")]
    assert ":HVB1:pve1:t:" in d["ticket"], d

    # now the bastion learns pve2's own address
    bed.api["nodes"] = list(bed.all_nodes)
    reload(bed)
    smark = bed.sim.log_mark()
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    ws = WsClient.connect(BASTION_ADDR, bed.api["port"],
                          "/api2/json/nodes/pve2/vncwebsocket?" + q,
                          headers={"Cookie": "PVEAuthCookie=" + ticket},
                          cafile=None)
    ws.send(("%s:%s\n" % (d["user"], d["ticket"])).encode())
    assert ws.read_until(b"OK").startswith(b"OK")
    ws.read_until(b"# ")
    ws.send(b"0:9:hostname\r")
    assert b"pve2\r\n" in ws.read_until(b"# ")
    ws.close()
    reqs = [(x["node"], x["path"], x["status"])
            for x in bed.sim.requests_since(smark)]
    # the websocket went where the console was opened, not by its path
    assert reqs[0] == ("pve1", "/api2/json/nodes/pve2/vncwebsocket", 101), \
        reqs

    # a console opened now is pve2's own, and so is its websocket
    smark = bed.sim.log_mark()
    r = curl(bed, "POST", "/nodes/pve2/termproxy", cookie=ticket, csrf=csrf)
    assert r.status == 200, r
    d = r.json()["data"]
    assert ":HVB1:pve2:t:" in d["ticket"], d
    q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    r = curl(bed, "GET", "/nodes/pve2/vncwebsocket?" + q, cookie=ticket)
    assert r.status == 200, r
    assert [(x["node"], x["path"]) for x in bed.sim.requests_since(smark)] \
        == [("pve2", "/api2/json/nodes/pve2/termproxy"),
            ("pve2", "/api2/json/nodes/pve2/vncwebsocket")]


# --------------------------------------------------------------------------
# realms

def test_realms_accepted_and_refused(bed):
    # what pveproxy answers for a realm it does not have
    _, addr, port = bed.sim.node("pve1")
    cp = subprocess.run(
        ["curl", "-sS", "-i", "-k", "--max-time", "30", "--data-urlencode",
         "username=root@nosuch", "--data-urlencode", "password=x",
         "https://%s:%d/api2/json/access/ticket" % (addr, port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    pve = _parse_http(cp.stdout)
    assert (pve.status, pve.reason) == (401, "authentication failure"), pve

    # api-realms "pve" "corp": both work, as name@realm or name + realm
    t_pve, _ = login(bed, "alice@pve")
    t_corp, _ = login(bed, "alice", realm="corp")
    assert t_corp.startswith("PVE:alice@corp:"), t_corp
    for t in (t_pve, t_corp):
        r = curl(bed, "GET", "/version", cookie=t)
        assert r.status == 200, r
    # pam is not listed here; nosuch is no realm; "x!y" not a realm id
    mark = bed.bastion.log_mark()
    for user in ("alice@pam", "alice@nosuch", "alice@x!y", "alice@9corp"):
        r = curl(bed, "POST", "/access/ticket",
                 data={"username": user, "password": PASSWORDS["alice"]})
        assert (r.status, r.reason, r.headers.get("content-type"),
                r.json()) == (pve.status, pve.reason,
                              pve.headers.get("content-type"), pve.json()), \
            (user, r)
    log = bed.bastion.log_since(mark)
    assert log.count("realm not accepted (api-realms)") == 2, log

    # a personal API token: the person's, under any accepted realm
    hvb = [str(bed.bin_dir / "hvbastion"), "-f", str(bed.conf)]
    cp = testbed.run(hvb + ["api-token", "create", "alice", "ci"])
    assert "PVEAPIToken=alice@pve!ci=" in cp.stdout, cp.stdout
    secret = cp.stdout.strip().splitlines()[-1].split()[-1]

    def with_token(userid):
        return curl(bed, "GET", "/version", headers=[
            "Authorization: PVEAPIToken=%s!ci=%s" % (userid, secret)])
    assert with_token("alice@corp").status == 200
    r = with_token("alice@pam")
    assert (r.status, r.reason) == (401, "Authentication failed!"), r

    # a reload without corp: its tickets and tokens open nothing any more
    bed.api["realms"] = ["pve"]
    reload(bed)
    r = curl(bed, "GET", "/version", cookie=t_corp)
    assert (r.status, r.reason) == (401, "Authentication failed!"), r
    r = with_token("alice@corp")
    assert (r.status, r.reason) == (401, "Authentication failed!"), r
    r = curl(bed, "GET", "/version", cookie=t_pve)
    assert r.status == 200, r
    assert with_token("alice@pve").status == 200


def test_bad_realms_are_configuration_errors(bed):
    conf = bed.root / "realms-check.conf"
    text = bed.bastion_config_text().replace(
        'api-realms "pve"', 'api-realms "pve" "bad realm" "p"')
    assert "bad realm" in text
    conf.write_text(text)
    cp = bed.bastion.check_config(conf)
    assert cp.returncode != 0, cp.stdout
    assert '"bad realm" does not look like a valid realm' in cp.stdout
    assert '"p" does not look like a valid realm' in cp.stdout


def test_api_key_checked_by_config_test(bed):
    """`hvbastiond -n` loads the API certificate and key as the start
    does: a key type the monitor cannot sign with for its child (Ed25519),
    and a key others may read, are errors before any start."""
    crt = bed.root / "ed.crt"
    key = bed.root / "ed.key"
    testbed.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes",
                 "-days", "30", "-subj", "/CN=ed", "-keyout", str(key),
                 "-out", str(crt)], timeout=60)
    os.chmod(key, 0o600)
    text = bed.bastion_config_text()
    conf = bed.root / "key-check.conf"
    conf.write_text(re.sub(r'api-private-key "[^"]*"',
                           'api-private-key "%s"' % key,
                           re.sub(r'api-certificate "[^"]*"',
                                  'api-certificate "%s"' % crt, text)))
    cp = bed.bastion.check_config(conf)
    assert cp.returncode == 1, cp.stdout
    assert "api-private-key %s: an ECDSA or RSA key is required" % key \
        in cp.stdout, cp.stdout
    assert "configuration OK" not in cp.stdout
    # the bed's own pair passes, and fails once others may read the key
    cp = bed.bastion.check_config()
    assert cp.returncode == 0 and "configuration OK" in cp.stdout, cp.stdout
    own = bed.api_dir / "api.key"
    os.chmod(own, 0o640)
    try:
        cp = bed.bastion.check_config()
    finally:
        os.chmod(own, 0o600)
    assert cp.returncode == 1 and "readable by its owner only" in \
        cp.stdout, cp.stdout


# --------------------------------------------------------------------------
# the certificate, reloaded on SIGHUP

def _served_cert(bed):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((BASTION_ADDR, bed.api["port"]),
                                  timeout=30) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


def _der(pem_path):
    return ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())


def _new_pair(bed, name):
    crt, key = bed.root / ("%s.crt" % name), bed.root / ("%s.key" % name)
    testbed.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                 "-subj", "/CN=%s" % name, "-addext",
                 "subjectAltName=IP:%s" % BASTION_ADDR, "-keyout", str(key),
                 "-out", str(crt)], timeout=60)
    return crt, key


class KeepAlive:
    """One TLS connection, requests one after the other on it."""

    def __init__(self, bed):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((BASTION_ADDR, bed.api["port"]),
                                       timeout=30)
        self.t = ctx.wrap_socket(raw)

    def _recv(self, so_far):
        chunk = self.t.recv(65536)
        assert chunk, "the connection closed after %r" % so_far
        return chunk

    def get_ticket_page(self):
        return self.get("/access/ticket")

    def get(self, path, ticket=None, header=None):
        cookie = b"" if ticket is None else (
            b"Cookie: PVEAuthCookie=" + ticket.encode() + b"\r\n")
        if header is not None:
            cookie += header.encode() + b"\r\n"
        self.t.sendall(b"GET /api2/json" + path.encode() + b" HTTP/1.1\r\n"
                       b"Host: x\r\n" + cookie + b"\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self._recv(buf)
        head, _, body = buf.partition(b"\r\n\r\n")
        n = int([h for h in head.split(b"\r\n")
                 if h.lower().startswith(b"content-length:")][0]
                .split(b":")[1])
        while len(body) < n:
            body += self._recv(buf + body)
        r = _parse_http(head + b"\r\n\r\n" + body)
        assert isinstance(r, Resp)
        return r


def test_certificate_reloaded_on_sighup(bed):
    crt, key = bed.api_dir / "api.crt", bed.api_dir / "api.key"
    old = _der(crt)
    assert _served_cert(bed) == old
    running = KeepAlive(bed)
    assert running.get_ticket_page().status == 200
    assert running.t.getpeercert(binary_form=True) == old

    # a renewed pair: written over the files (mode and owner kept)
    ncrt, nkey = _new_pair(bed, "renewed")
    key.write_bytes(nkey.read_bytes())
    crt.write_bytes(ncrt.read_bytes())
    log = reload(bed)
    assert "SIGHUP: API certificate %s and key reloaded" % crt in log, log
    new = _der(crt)
    assert new != old and _served_cert(bed) == new
    # the connection that was open keeps going, with its certificate
    r = running.get_ticket_page()
    assert r.status == 200 and r.json() == {"data": None}, r
    assert running.t.getpeercert(binary_form=True) == old
    running.t.close()

    # a broken certificate: the renewed pair keeps serving
    crt.write_text("-----BEGIN CERTIFICATE-----\nbroken\n"
                   "-----END CERTIFICATE-----\n")
    log = reload(bed)
    assert "the API certificate was not reloaded" in log and \
        "the old certificate and key stay in use" in log, log
    assert _served_cert(bed) == new
    # a certificate that does not match the key: the same
    ocrt, _ = _new_pair(bed, "other")
    crt.write_bytes(ocrt.read_bytes())
    log = reload(bed)
    assert "the API certificate was not reloaded" in log, log
    assert _served_cert(bed) == new
    # the files say again what is served (for the tests after this one)
    crt.write_bytes(ncrt.read_bytes())
    r = curl(bed, "GET", "/access/ticket")
    assert r.status == 200 and r.json() == {"data": None}, r


# --------------------------------------------------------------------------
# a grant taken back by a reload: the next call of a running connection
# is refused (the API monitor keeps a granted held token for the rest of
# the second, only while the key holder's policy generation stays)

def test_reload_takes_a_grant_back_on_a_running_connection(bed):
    ticket, _ = login(bed, "alice@pve")
    running = KeepAlive(bed)
    # twice: the second one may come from the monitor's kept grant
    for _ in range(2):
        r = running.get("/nodes/pve1/status", ticket)
        assert r.status == 200, r
    saved = bed.api["grants"]["hv-admins"]
    bed.api["grants"]["hv-admins"] = [
        'paths "/vms/*" "/cluster"' if x.startswith("paths ") else x
        for x in saved]
    assert bed.api["grants"]["hv-admins"] != saved
    try:
        mark = bed.bastion.log_mark()
        reload(bed)
        bed.bastion.wait_log("key holder: keys and policy re-read", mark)
        r = running.get("/nodes/pve1/status", ticket)
        # the key holder refuses the held token (the running child's own
        # decision is the configuration it started with): a 500
        assert r.status == 500, r
        log = bed.bastion.log_since(mark)
        assert "key holder: refused child" in log and \
            'API token for alice on /nodes/pve1' in log, log
    finally:
        bed.api["grants"]["hv-admins"] = saved
        mark = bed.bastion.log_mark()
        reload(bed)
        bed.bastion.wait_log("key holder: keys and policy re-read", mark)
    running.t.close()
    # given back (the 500 closed that connection: a new one)
    r = curl(bed, "GET", "/nodes/pve1/status", cookie=ticket)
    assert r.status == 200, r


# --------------------------------------------------------------------------
# the network child keeps its monitor's answer for the rest of the second
# (bastion/api_verdict.h): a personal API token revoked while a connection
# that uses it stays open is refused on it from the next second on

def test_revoked_token_refused_on_a_running_connection(bed):
    hvb = [str(bed.bin_dir / "hvbastion"), "-f", str(bed.conf)]
    cp = testbed.run(hvb + ["api-token", "create", "alice", "kept"])
    secret = cp.stdout.strip().splitlines()[-1].split()[-1]
    header = "Authorization: PVEAPIToken=alice@pve!kept=" + secret
    running = KeepAlive(bed)
    try:
        for _ in range(3):
            r = running.get("/nodes/pve1/status", header=header)
            assert r.status == 200, r
        testbed.run(hvb + ["api-token", "revoke", "alice", "kept"])
        revoked = int(time.time())
        # a condition, not a delay: the second the revocation happened in
        # is over (an answer kept within it may still be served)
        while int(time.time()) <= revoked:
            time.sleep(0.05)
        r = running.get("/nodes/pve1/status", header=header)
        assert (r.status, r.reason) == (401, "Authentication failed!"), r
    finally:
        running.t.close()
