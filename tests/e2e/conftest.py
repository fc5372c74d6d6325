"""End-to-end fixtures: one test bed per test module, in a directory under
/tmp, on 127.0.0.2x addresses and free ports (so a running demo on
127.0.0.1:2222 / 127.0.0.11-12:22 is left alone).

Environment:
  HVB_BIN_DIR            where hvbastiond is (default REPO/build)
  HVB_E2E_NET            the first three bytes of the loopback addresses
                         (default 127.0.0: bastion .20, targets .21 and
                         .22), so that two runs on one machine do not
                         meet
  HVB_E2E_WORKERS        pytest-xdist workers for tests/run_all.py (default
                         2; each takes its own addresses, see _net())
  HVB_KEEP_TESTBED=1     keep the test bed directories (they are kept
                         anyway when a test of the module failed)

There is no skip here: a missing daemon is an error of every test that
needs it.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import testbed  # noqa: E402
import totp_codes  # noqa: E402

def _net():
    """HVB_E2E_NET, moved by 100 in its third byte per pytest-xdist worker
    (gw0: as given, gw1: +100, ...), so that parallel modules never share
    an address."""
    base = os.environ.get("HVB_E2E_NET") or "127.0.0"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    try:
        n = int(worker[2:])
    except ValueError:
        n = 0
    a, b, c = base.split(".")
    return "%s.%s.%d" % (a, b, (int(c) + 100 * n) % 256)


NET = _net()
BASTION_ADDR = "%s.20" % NET
TARGET_ADDRS = {"pve1": "%s.21" % NET, "vm101": "%s.22" % NET}


def _new_bed(prefix, **kw):
    root = tempfile.mkdtemp(prefix="hvb-e2e-%s-" % prefix, dir="/tmp")
    os.chmod(root, 0o755)
    ports = {n: testbed.free_port(a) for n, a in TARGET_ADDRS.items()}
    bed = testbed.TestBed(
        root, bastion=(BASTION_ADDR, testbed.free_port(BASTION_ADDR)),
        target_addresses=TARGET_ADDRS, target_ports=ports,
        login_grace_time=60, **kw)
    return bed


SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
                          r"runtime error: |WARNING: AddressSanitizer")


def _sanitizer_reports(bed):
    out = []
    for b in bed.extra_bastions + [bed.bastion]:
        for line in b.log_text().splitlines():
            if SANITIZER_RE.search(line):
                out.append("%s: %s" % (b.log_path.name, line))
    return out


def _finish(bed, request, failed_before):
    bed.stop()
    reports = _sanitizer_reports(bed)
    failed = request.session.testsfailed > failed_before or bool(reports)
    if failed or os.environ.get("HVB_KEEP_TESTBED"):
        sys.stderr.write("\n[hvbastion e2e] test bed kept in %s\n" % bed.root)
    else:
        shutil.rmtree(bed.root, ignore_errors=True)
    # a sanitizer build (HVB_BIN_DIR=build/san) reports to the daemon log:
    # any report is an error of the module, even when every test passed
    assert not reports, "sanitizer reports in the daemon log (%s):\n%s" % (
        bed.root, "\n".join(reports[:20]))


def started_bed(request, prefix=None, bed=None, **kw):
    """A started test bed for a module's `bed` fixture (yield from it);
    kw goes to TestBed (mfa=True, roles=...); or bed, made already."""
    b = bed or _new_bed(prefix or request.module.__name__.split(".")[-1],
                        **kw)
    failed_before = request.session.testsfailed
    try:
        b.setup()
        b.start()
        yield b
    finally:
        _finish(b, request, failed_before)


@pytest.fixture(scope="module")
def bed(request):
    """Targets and hvbastiond, started."""
    yield from started_bed(request)


@pytest.fixture(scope="module")
def targets_bed(request):
    """Targets only (no bastion): checks of the test bed itself."""
    b = _new_bed(request.module.__name__.split(".")[-1])
    failed_before = request.session.testsfailed
    try:
        b.setup()
        b.start(bastion=False)
        yield b
    finally:
        _finish(b, request, failed_before)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    b = item.funcargs.get("bed") if hasattr(item, "funcargs") else None
    if b is None:
        return
    tail = b.bastion.log_text().splitlines()[-40:]
    rep.sections.append(("hvbastiond log (tail)", "\n".join(tail)))


# --------------------------------------------------------------------------
# helpers shared by the tests

def ssh(bed, login, key, *command, input=None, timeout=60, **kw):
    """Run the stock ssh client through the bastion; bytes out."""
    argv = bed.ssh_argv(login, key, *command, **kw)
    cp = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=timeout,
                        stdin=None if input is not None else subprocess.DEVNULL)
    cp.argv = argv
    return cp


def fresh_code(bed, person):
    """A TOTP code the bastion has not seen yet for person
    (totp_codes.py)."""
    return totp_codes.fresh_code(bed.users[person].totp_secret)


def askpass(bed, code, name="askpass"):
    """An SSH_ASKPASS program that answers code."""
    path = bed.root / ("%s-%s" % (name, code or "empty"))
    path.write_text("#!/bin/sh\necho '%s'\n" % code)
    os.chmod(path, 0o755)
    return path


def mfa_ssh(bed, person, code, *command, port=None, known_hosts=None,
            timeout=40):
    """The stock ssh client, person's key then the prompt (the TOTP code)
    answered through SSH_ASKPASS."""
    argv = bed.ssh_argv(person, person, *command, batch=False, port=port,
                        known_hosts=known_hosts,
                        opts=("NumberOfPasswordPrompts=1",
                              "KbdInteractiveAuthentication=yes",
                              "PasswordAuthentication=no"))
    env = dict(os.environ, SSH_ASKPASS=str(askpass(bed, code)),
               SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=timeout, env=env)
    cp.argv = argv
    return cp


def show(cp):
    """A failure message: the command and what it printed."""
    return "command: %s\nexit: %s\nstdout: %r\nstderr: %r" % (
        " ".join(map(str, getattr(cp, "argv", cp.args))), cp.returncode,
        cp.stdout[-2000:] if cp.stdout else cp.stdout,
        cp.stderr[-2000:] if cp.stderr else cp.stderr)


def refusal_lines(stderr):
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    return [l for l in stderr.splitlines() if l.startswith("hvbastion: ")]


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


PROMPT_RE = rb"hvb(pve|guest)@[^\r\n]*[$#] "


def spawn_env(bed):
    env = dict(os.environ)
    env["TERM"] = "xterm-256color"
    env["LANG"] = "C.UTF-8"
    env["ASCIINEMA_CONFIG_HOME"] = str(bed.root / "asciinema")
    env.pop("SSH_AUTH_SOCK", None)
    return env


def first_number_for(listing, name):
    """In a menu listing, the number on the line that names `name`."""
    if isinstance(listing, bytes):
        listing = listing.decode(errors="replace")
    for line in listing.splitlines():
        if re.search(r"(^|[^A-Za-z0-9._-])%s($|[^A-Za-z0-9._-])"
                     % re.escape(name), line):
            m = re.search(r"\b(\d+)\b", line)
            if m:
                return m.group(1)
    return None
