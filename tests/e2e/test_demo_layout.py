"""The demo's layout (issue 4, scope 5) through the real client: alice,
hypervisor admin, reaches pve1 as root; bob, guest admin, reaches vm101 as
admin; carol, auditor, reaches no target; neither admin crosses to the other
side.  The same DEMO_TARGETS that `make demo` uses, on the test addresses."""

import sys
from pathlib import Path

import pytest

from conftest import show, ssh, started_bed

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demo"))

import demo  # noqa: E402


@pytest.fixture(scope="module")
def bed(request):
    yield from started_bed(request, targets=demo.DEMO_TARGETS)


@pytest.mark.parametrize("person,target,login", [
    ("alice", "pve1", "root"),
    ("bob", "vm101", "admin"),
])
def test_admin_reaches_own_side_with_held_login(bed, person, target, login):
    cp = ssh(bed, person, person, target, "id", "-un")
    assert cp.returncode == 0, show(cp)
    assert cp.stdout.strip() == login.encode(), show(cp)


@pytest.mark.parametrize("person,target", [
    ("alice", "vm101"), ("bob", "pve1"), ("carol", "pve1"),
    ("carol", "vm101"),
])
def test_other_side_and_auditor_refused(bed, person, target):
    cp = ssh(bed, person, person, target, "id")
    assert cp.returncode != 0, show(cp)
    assert b"uid=" not in cp.stdout, show(cp)
