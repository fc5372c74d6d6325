"""Port forwards through the bastion (-L, -W), policed and recorded: the
login names the target, the destination is as that target sees it, and a
grant's `forward` lines list what may be reached.  ProxyJump (-J, which is
`-W host:22` on a login without a target) and remote forwards (-R) are
refused: the bastion cannot record what they would carry."""

import hashlib
import re
import socket
import socketserver
import subprocess
import threading

import pytest

from conftest import NET, ssh, show, started_bed, wait_for
from test_policy import _events

ECHO_ADDR = "%s.23" % NET


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


@pytest.fixture(scope="module")
def echo():
    srv = socketserver.ThreadingTCPServer((ECHO_ADDR, 0), _Echo)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def bed(request, echo):
    roles = {
        "hv-admins": {"side": "hypervisor", "grants": [
            {"targets": ['"pve1"'], "channels": "shell exec port-forward",
             "forward": ["%s:%d" % (ECHO_ADDR, echo)]}]},
        "guest-admins": {"side": "guest", "grants": [
            {"targets": ["vmid 101"], "channels": "shell exec"}]},
        "auditors": {"side": "audit", "grants": []},
    }
    yield from started_bed(request, roles=roles)


def _forward_ends(bed):
    return [e for e in _events(bed, "channel_end")
            if e.get("kind") == "port-forward"]


def test_stdio_forward_allowed_and_recorded(bed, echo):
    before = len(_forward_ends(bed))
    payload = b"through the bastion\n" * 100
    cp = ssh(bed, "alice+pve1", "alice", input=payload,
             opts=("-W", "%s:%d" % (ECHO_ADDR, echo)))
    assert cp.returncode == 0, show(cp)
    assert cp.stdout == payload, show(cp)
    assert wait_for(lambda: len(_forward_ends(bed)) > before)
    end = _forward_ends(bed)[-1]
    assert end["destination"] == "%s:%d" % (ECHO_ADDR, echo)
    assert end["target"] == "pve1"
    assert end["bytes_to_target"] == len(payload)
    assert end["bytes_to_client"] == len(payload)
    digest = hashlib.sha256(payload).hexdigest()
    assert end["sha256_to_target"] == digest
    assert end["sha256_to_client"] == digest
    allowed = [e for e in _events(bed, "decision")
               if e.get("kind") == "port-forward" and
               e.get("decision") == "allow"]
    assert allowed and "grant" in allowed[-1]["rule"]


def test_local_forward_allowed(bed, echo):
    lport = socket.socket()
    lport.bind(("127.0.0.1", 0))
    port = lport.getsockname()[1]
    lport.close()
    argv = bed.ssh_argv("alice+pve1", "alice", opts=(
        "-N", "-L", "127.0.0.1:%d:%s:%d" % (port, ECHO_ADDR, echo),
        "ExitOnForwardFailure=yes"))
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def connect():
            try:
                return socket.create_connection(("127.0.0.1", port), 1)
            except OSError:
                return None
        c = wait_for(connect, timeout=15)
        assert c is not None, "ssh -L did not listen"
        with c:
            c.sendall(b"ping")
            c.settimeout(10)
            got = b""
            while len(got) < 4:
                chunk = c.recv(16)
                if not chunk:
                    break
                got += chunk
        assert got == b"ping"
    finally:
        p.terminate()
        p.wait(timeout=10)


# Test ids must not depend on the addresses (pytest-xdist workers each
# take their own): "{net}" is filled in by the test.
@pytest.mark.parametrize("person,login,dest", [
    ("alice", "alice+pve1", "{net}.23:22"),         # not listed
    ("alice", "alice+pve1", "localhost:8006"),      # exact text only
    ("bob", "bob+vm101", "{net}.21:8006"),          # guest to a node
])
def test_forward_not_granted_is_refused_and_logged(bed, person, login, dest):
    dest = dest.format(net=NET)
    mark = bed.bastion.log_mark()
    cp = ssh(bed, login, person, input=b"x", opts=("-W", dest))
    assert cp.returncode != 0, show(cp)
    assert b"forwarding failed" in cp.stderr, show(cp)
    host, port = dest.rsplit(":", 1)
    deny = "deny %s port-forward to %s port %s" % (person, host, port)
    assert deny in bed.bastion.wait_log(deny, mark), \
        bed.bastion.log_since(mark)
    # the audit event names the target and the destination asked for
    # (no login: the login name chose none, and the policy gave none)
    target = login.split("+")[1]
    audit = re.compile(
        r"audit policy-denial person=%s .*target=%s login=- "
        r"action=port-forward outcome=denied .*detail=%s\n" % (
            person, target, re.escape(dest)))
    log = bed.bastion.wait_log("audit policy-denial", mark)
    assert audit.search(log), log


def test_proxyjump_is_refused(bed):
    """-J is `-W host:22` on a login that names no target."""
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice", "alice", input=b"",
             opts=("-W", "%s:22" % bed.targets["pve1"].address))
    assert cp.returncode != 0, show(cp)
    why = "ProxyJump is not supported"
    assert why in bed.bastion.wait_log(why, mark), \
        bed.bastion.log_since(mark)


def test_remote_forward_is_refused(bed):
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+pve1", "alice", opts=(
        "-N", "-R", "0:127.0.0.1:9", "ExitOnForwardFailure=yes"),
        timeout=30)
    assert cp.returncode != 0, show(cp)
    why = "remote forward (-R); refused"
    assert why in bed.bastion.wait_log(why, mark), \
        bed.bastion.log_since(mark)
