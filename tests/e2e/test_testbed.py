"""The test bed itself: sshd targets reachable with the credential keys and
only with them (so that a test through the bastion proves the bastion used
the right credential)."""

import subprocess

from conftest import show


def run(argv, timeout=30):
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        stdin=subprocess.DEVNULL, timeout=timeout)
    cp.argv = argv
    return cp


def test_targets_accept_their_credentials(targets_bed):
    bed = targets_bed
    for target, cred, login in (("pve1", "pve1-admin", "hvbpve"),
                                ("pve1", "pve1-aux", "hvbguest"),
                                ("vm101", "vm101-admin", "hvbguest")):
        cp = run(bed.target_ssh_argv(target, cred, "id -un; hostname"))
        assert cp.returncode == 0, show(cp)
        assert cp.stdout.split(b"\n")[0] == login.encode(), show(cp)


def test_targets_refuse_other_keys(targets_bed):
    bed = targets_bed
    # a credential of vm101 does not open pve1, a user key opens nothing
    argv = bed.target_ssh_argv("pve1", "pve1-admin", "true")
    i = argv.index("-i")
    for key in (bed.credential("vm101-admin").key, bed.users["alice"].key):
        a = list(argv)
        a[i + 1] = str(key)
        cp = run(a)
        assert cp.returncode == 255, show(cp)
        assert b"Permission denied" in cp.stderr, show(cp)


def test_targets_accept_env(targets_bed):
    bed = targets_bed
    argv = bed.target_ssh_argv("vm101", None, 'echo "[$HVB_T]"')
    argv[1:1] = ["-o", "SendEnv=HVB_T"]
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        stdin=subprocess.DEVNULL, timeout=30,
                        env={"PATH": "/usr/bin:/bin", "HVB_T": "x1"})
    cp.argv = argv
    assert cp.stdout == b"[x1]\n", show(cp)


def test_bastion_config_names_every_target(targets_bed):
    text = targets_bed.conf.read_text()
    for t in targets_bed.targets.values():
        assert 'target "%s" {' % t.target in text
        assert t.host_pub.split()[1] in text
    for u in targets_bed.users.values():
        assert 'user "%s" {' % u.name in text
