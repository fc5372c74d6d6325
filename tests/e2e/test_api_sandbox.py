"""Privilege separation of the Proxmox API front (issues #7 and #8): the
network child of an HTTPS connection is sandboxed before it reads a byte;
its monitor (bastion/api_monitor.c) runs PAM, holds the ticket key, checks
tokens, opens node connections; the key holder keeps the held secrets.

The bastion is the test daemon (build/hvbastiond-testhooks): a request
that carries "X-Hvb-Test-Hook: ACTION" makes the sandboxed child
misbehave once the request is authenticated, as a child taken over by a
hostile client would (bastion/testhooks.h). The production build honours
no such header (checked below).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import proctree  # noqa: E402
import testbed  # noqa: E402
from pvesim import PveSim  # noqa: E402

from conftest import NET, _new_bed, _finish, wait_for  # noqa: E402
from test_api import PASSWORDS, SECRET_GUEST, SECRET_HV, curl, login  # noqa: E402,E501

BASTION_ADDR = "%s.20" % NET
NODE_ADDR = "%s.31" % NET


def _bin_dir():
    return Path(os.environ.get("HVB_BIN_DIR") or testbed.default_bin_dir())


@pytest.fixture(scope="module")
def bed(request):
    th = _bin_dir() / "hvbastiond-testhooks"
    if not os.access(th, os.X_OK):
        pytest.fail("%s missing: run `make unit-build`" % th)
    b = _new_bed("apisep", mfa=True)
    failed_before = request.session.testsfailed
    sim = PveSim(b.root / "sim",
                 nodes=[("pve1", NODE_ADDR, testbed.free_port(NODE_ADDR))],
                 users={"root@pam": {"password": "root-password"}},
                 tokens={"root@pam!hvb-hv": {"secret": SECRET_HV},
                         "root@pam!hvb-guest": {"secret": SECRET_GUEST}},
                 acl=[{"path": "/", "ugid": "root@pam!hvb-hv",
                       "roleid": "Administrator", "propagate": 1},
                      {"path": "/pool/web", "ugid": "root@pam!hvb-guest",
                       "roleid": "PVEVMAdmin", "propagate": 1}],
                 pools={"web": [101]},
                 guests=[{"vmid": 101, "type": "qemu", "node": "pve1",
                          "name": "vm101", "status": "running"}])
    try:
        sim.setup()
        sim.start()
        nodes = [(n, a, p, sim.fingerprint("pve1")) for n, a, p in sim.nodes]
        b.enable_api(
            BASTION_ADDR, testbed.free_port(BASTION_ADDR), nodes,
            credentials={"pve-hv": ("root@pam!hvb-hv", SECRET_HV),
                         "pve-guest": ("root@pam!hvb-guest", SECRET_GUEST)},
            role_credentials={"hv-admins": "pve-hv",
                              "guest-admins": "pve-guest"},
            grants={"hv-admins": ['paths "/nodes/*" "/vms/*"',
                                  'roles "PVEVMAdmin" "PVEAuditor"'],
                    "guest-admins": ['paths "/pool/web"',
                                     'roles "PVEVMAdmin"']},
            passwords=PASSWORDS, failure_delay_ms=50)
        # an RSA key for this front (the other beds' are ECDSA), so that
        # both kinds of keyless handshake run (api_tls_key.h)
        b.api_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", "30", "-subj", "/CN=hvbastion-api", "-addext",
             "subjectAltName=IP:%s" % BASTION_ADDR,
             "-keyout", str(b.api_dir / "api.key"),
             "-out", str(b.api_dir / "api.crt")],
            check=True, capture_output=True, timeout=60)
        # the test daemon in a bin directory of its own
        bindir = b.root / "bin"
        bindir.mkdir(parents=True)
        for f in ("hvbastion", "pam_hvbastion.so"):
            os.symlink(_bin_dir() / f, bindir / f)
        os.symlink(th, bindir / "hvbastiond")
        b.bastion.bin_dir = bindir
        b.setup()
        b.start()
        testbed.wait_listen(BASTION_ADDR, b.api["port"], 15,
                            b.bastion.proc, b.bastion.log_path,
                            banner=False)
        b.sim = sim
        b.tickets = {p: login(b, p) for p in ("alice", "bob")}
        yield b
    finally:
        sim.stop()
        _finish(b, request, failed_before)


def _hook(bed, person, action):
    """One authenticated call whose child misbehaves; the log after it."""
    mark = bed.bastion.log_mark()
    ticket, _ = bed.tickets[person]
    cp = subprocess.run(
        ["curl", "-sS", "-i", "--cacert", str(bed.api_cert), "--max-time",
         "30", "-b", "PVEAuthCookie=" + ticket, "-H",
         "X-Hvb-Test-Hook: " + action,
         bed.api_url + "/api2/json/version"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    # the child ends (or is killed) without an answer
    assert b"HTTP/1.1" not in cp.stdout, cp.stdout
    assert bed.bastion.wait_log("test hook: api %s " % person, mark), \
        bed.bastion.log_since(mark)
    return mark


def _wait_outcome(bed, mark, needle):
    assert bed.bastion.wait_log(needle, mark), bed.bastion.log_since(mark)
    return bed.bastion.log_since(mark)


def _still_serving(bed):
    ticket, _ = bed.tickets["alice"]
    r = curl(bed, "GET", "/version", cookie=ticket)
    assert r.status == 200, r


def test_production_build_honours_no_hook_header():
    data = (_bin_dir() / "hvbastiond").read_bytes()
    assert b"X-Hvb-Test-Hook" not in data
    assert b"X-Hvb-Test-Hook" in \
        (_bin_dir() / "hvbastiond-testhooks").read_bytes()


def test_network_child_sandboxed_monitor_not(bed):
    """An open HTTPS connection: a monitor (no seccomp, holds no client
    socket) and its child (seccomp filter, no-new-privs), which holds no
    file of the state directory but the audit journal."""
    import socket
    import ssl
    ctx = ssl.create_default_context(cafile=str(bed.api_cert))
    before = set(proctree.children(bed.bastion.proc.pid))
    with socket.create_connection((BASTION_ADDR, bed.api["port"]),
                                  timeout=30) as s:
        with ctx.wrap_socket(s, server_hostname=BASTION_ADDR):
            def pair():
                for m in set(proctree.children(bed.bastion.proc.pid)) - before:
                    kids = proctree.children(m)
                    if kids:
                        return m, kids[0]
                return None
            found = wait_for(pair)
            assert found, "no monitor and child found"
            monitor, child = found
            ms, cs = proctree.status(monitor), proctree.status(child)
            assert cs["Seccomp"] == ["2"] and cs["NoNewPrivs"] == ["1"], cs
            assert ms["Seccomp"] == ["0"], ms
            links = []
            for fd in os.listdir("/proc/%d/fd" % child):
                try:
                    links.append(os.readlink("/proc/%d/fd/%s" % (child, fd)))
                except OSError:
                    pass
            state = str(bed.state_dir)
            # the daemon's log (stdout/stderr) and nss_wrapper's files
            # (the test bed's LD_PRELOAD) are inherited, no more
            harmless = {str(bed.bastion.log_path), str(bed.root / "passwd"),
                        str(bed.root / "group")}
            held = [p for p in links if p.startswith("/") and
                    not p.startswith("/dev/") and p not in harmless and
                    not (p.startswith(state + "/audit/"))]
            assert held == [], links
            assert not any(p.endswith(".token") or "seal.key" in p
                           for p in links), links
            # the monitor never holds the client's TCP socket: only the
            # child has TCP sockets
            mlinks = [os.readlink("/proc/%d/fd/%s" % (monitor, fd))
                      for fd in os.listdir("/proc/%d/fd" % monitor)]
            tcp = set()
            with open("/proc/net/tcp") as f:
                for line in f.readlines()[1:]:
                    tcp.add(line.split()[9])
            minodes = {re.sub(r"\D", "", p) for p in mlinks
                       if p.startswith("socket:")}
            assert not (minodes & tcp), mlinks


def test_reading_a_secret_file_is_refused(bed):
    mark = _hook(bed, "alice", "open-secret")
    log = _wait_outcome(bed, mark, "test hook: open: ")
    # the first api-credential's secret-file (testbed: NAME.token)
    assert re.search(r"test hook: open: /\S+\.token: refused: "
                     r"Permission denied", log), log
    assert "SUCCEEDED" not in log, log
    mark = _hook(bed, "alice", "open-file:%s" % (bed.state_dir / "seal.key"))
    log = _wait_outcome(bed, mark, "test hook: open: ")
    assert re.search(r"test hook: open: \S+/seal\.key: refused: "
                     r"Permission denied", log), log
    _still_serving(bed)


@pytest.mark.parametrize("action", ["exec", "socket"])
def test_exec_and_socket_kill_the_child(bed, action):
    mark = _hook(bed, "alice", action)
    log = bed.bastion.log_since(mark)
    m = re.search(r"hvbastiond\[(\d+)\]: info: [a-z_]+: test hook: api "
                  r"alice ", log)
    assert m, log
    killed = "process %s killed by signal 31 (SIGSYS" % m.group(1)
    assert wait_for(lambda: killed in bed.bastion.log_since(mark)), \
        bed.bastion.log_since(mark)
    after = bed.bastion.log_since(mark)
    assert "test hook: exec: returned" not in after, after
    assert "test hook: socket: returned" not in after, after
    _still_serving(bed)


def test_policy_generation_page_cannot_be_made_writable(bed):
    """The child reads the key holder's policy generation (its kept
    answers are keyed to it) from a sealed memfd mapped read-only: it
    cannot hold the counter still to outlive a reload."""
    mark = _hook(bed, "alice", "gen-write")
    log = _wait_outcome(bed, mark, "test hook: gen-write:")
    assert "test hook: gen-write: mprotect refused: Permission denied" \
        in log, log
    _still_serving(bed)


def test_held_token_only_where_the_policy_allows(bed):
    mark = _hook(bed, "alice", "mon-token:/vms/101:VM.PowerMgmt")
    log = _wait_outcome(bed, mark, "test hook: mon-token:")
    assert "test hook: mon-token: /vms/101: monitor GRANTED " \
        "PVEAPIToken=root@pam!hvb-hv" in log, log
    # a guest admin asks for a node console's token
    mark = _hook(bed, "bob", "mon-token:/nodes/pve1:Sys.Console")
    log = _wait_outcome(bed, mark, "test hook: mon-token:")
    assert "test hook: mon-token: /nodes/pve1: monitor refused" in log, log
    assert re.search(r"key holder: refused child \d+ \([^)]*\): API token "
                     r"for bob on /nodes/pve1", log), log
    assert "GRANTED" not in log, log
    # no secret ever reaches a log line
    everything = bed.bastion.log_since(0)
    assert SECRET_HV not in everything and SECRET_GUEST not in everything


def test_no_ticket_minted_for_another_person(bed):
    """A child with alice's ticket asks for a renewal as bob, then for a
    full ticket with a forged TFA challenge: the monitor refuses both."""
    mark = _hook(bed, "alice", "mon-renew:bob@pve")
    log = _wait_outcome(bed, mark, "test hook: mon-renew:")
    assert "test hook: mon-renew: monitor refused a ticket for bob@pve" \
        in log, log
    assert "login (renewal) refused for bob: invalid ticket for renewal" \
        in log, log
    mark = _hook(bed, "alice", "mon-tfa:alice@pve")
    log = _wait_outcome(bed, mark, "test hook: mon-tfa:")
    assert "test hook: mon-tfa: monitor refused a ticket for alice@pve" \
        in log, log
    assert "MINTED" not in bed.bastion.log_since(0)


def test_node_connections_only_to_configured_nodes(bed):
    mark = _hook(bed, "alice", "mon-connect:evil-node")
    log = _wait_outcome(bed, mark, "test hook: mon-connect:")
    assert "test hook: mon-connect: evil-node: monitor refused" in log, log
    assert "refused node connection for evil-node: not a configured node" \
        in log, log
    assert bed.bastion.wait_log("audit policy-denial person=alice", mark)


def test_network_child_holds_no_tls_key(bed):
    """The handshake's signature was the monitor's (RSA here), the child's
    context has no private part, and a second signature is refused."""
    mark = _hook(bed, "alice", "tls-key")
    log = _wait_outcome(bed, mark, "test hook: tls-key: second signature")
    assert "test hook: tls-key: private key here: no" in log, log
    assert "test hook: tls-key: second signature: refused" in log, log
    assert "refused TLS signature: this connection's handshake has had its " \
        "signature" in log, log
    out = subprocess.run(["openssl", "x509", "-noout", "-text", "-in",
                          str(bed.api_cert)], capture_output=True,
                         check=True).stdout
    assert b"rsaEncryption" in out
    _still_serving(bed)


def test_monitor_closes_on_an_unknown_request(bed):
    mark = _hook(bed, "alice", "mon-garbage")
    log = _wait_outcome(bed, mark, "test hook: mon-garbage:")
    assert "test hook: mon-garbage: monitor closed the socket" in log, log
    assert "refused request: malformed or unknown request; closing" in log
    assert bed.bastion.wait_log("audit policy-denial person=alice", mark)
    _still_serving(bed)
