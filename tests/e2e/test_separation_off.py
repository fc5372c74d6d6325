"""The benchmark's separation switch (bench/sep_bench.py, BENCHMARKS.md):
HVB_TEST_SEPARATION=off in the environment of the test daemon
(build/hvbastiond-testhooks) makes a session child skip the sandbox and
connect and sign itself, without the key holder; the production daemon
ignores the variable (and does not contain it: test_sandbox.py).

The bench's OFF figures are only worth something if OFF is what it says:
this checks it serves, unsandboxed, with no key holder request, and that
the same variable leaves the production daemon's children sandboxed.
"""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import _finish, _new_bed, show, ssh, wait_for
import proctree
import testbed


@pytest.fixture(scope="module")
def bed(request):
    real_bin = Path(os.environ.get("HVB_BIN_DIR") or
                    testbed.default_bin_dir())
    th = real_bin / "hvbastiond-testhooks"
    if not os.access(th, os.X_OK):
        pytest.fail("%s missing: run `make unit-build`" % th)
    b = _new_bed("sepoff")
    failed_before = request.session.testsfailed
    env = dict(os.environ, HVB_TEST_SEPARATION="off")
    try:
        b.setup()
        # bed.bastion: the test daemon with the switch
        bindir = b.root / "bin"
        bindir.mkdir()
        for f in ("hvbastion", "pam_hvbastion.so"):
            os.symlink(real_bin / f, bindir / f)
        os.symlink(th, bindir / "hvbastiond")
        b.bastion.bin_dir = bindir
        b.bastion.env = lambda: env
        # and the production daemon, given the same variable
        prod = b.make_bastion("prod")
        prod.env = lambda: env
        b.start()
        prod.start()
        yield b
    finally:
        _finish(b, request, failed_before)


def _child_seccomp(bastion, argv):
    """Seccomp mode of the session child serving argv (`sleep 30`), once
    its command runs on the target (the child is set up by then)."""
    mark = bastion.log_mark()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert bastion.wait_log("detail=sleep 30", mark, timeout=30), \
            bastion.log_since(mark)
        def child():
            # the network child: under its monitor, the master's child
            # (ssh_monitor.h)
            for pid in testbed.process_tree(bastion.pid):
                try:
                    st = proctree.status(pid)
                except OSError:
                    continue
                if pid != bastion.pid and st["PPid"][0] != str(bastion.pid) \
                        and st["Name"] != ["hvb-keyholder"]:
                    return st["Seccomp"][0]
            return None
        found = wait_for(child, timeout=15)
        assert found is not None, "no session child under %d" % bastion.pid
        return found
    finally:
        proc.kill()
        proc.wait()


def test_off_serves_without_key_holder_and_sandbox(bed):
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice", "alice", "pve1", "echo", "off")
    assert cp.returncode == 0 and cp.stdout == b"off\n", show(cp)
    text = bed.bastion.log_since(mark)
    # the key holder was not asked for the target (ON logs "may use")
    assert "key holder: session" not in text, text
    argv = bed.ssh_argv("alice", "alice", "pve1", "sleep", "30")
    assert _child_seccomp(bed.bastion, argv) == "0"


def test_production_ignores_the_switch(bed):
    prod = bed.extra_bastions[0]
    mark = prod.log_mark()
    cp = subprocess.run(_for(bed, prod, "echo", "on"),
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=60)
    assert cp.returncode == 0 and cp.stdout == b"on\n", show(cp)
    assert prod.wait_log("key holder: session", mark), prod.log_since(mark)
    assert _child_seccomp(prod, _for(bed, prod, "sleep", "30")) == "2"


def _for(bed, bastion, *command):
    """bed.ssh_argv for alice, to another bastion of the bed."""
    return bed.ssh_argv("alice", "alice", "pve1", *command,
                        port=bastion.port, known_hosts=bastion.known_hosts)
