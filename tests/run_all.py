#!/usr/bin/python3
"""Runs every test of hvbastion and prints one closing line.

Arguments: the unit test binaries (cmocka).  Then the end-to-end suite
(pytest, tests/e2e) runs against the binaries in $HVB_BIN_DIR.  The closing
line is "N passed, N failed"; the exit status is non-zero when anything
failed or when a runner could not report its counts.
"""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_fuzz_corpus(binary):
    """A fuzz target's regression run over its seed corpus: one test."""
    name = os.path.basename(binary)[len("run_"):]
    corpus = os.path.join(REPO, "tests", "fuzz", "corpus", name)
    proc = subprocess.run([binary, corpus], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    sys.stdout.write(proc.stdout)
    return (1, 0) if proc.returncode == 0 else (0, 1)


def run_unit(binary):
    if os.path.basename(binary).startswith("run_"):
        return run_fuzz_corpus(binary)
    proc = subprocess.run([binary], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    sys.stdout.write(proc.stdout)
    passed = failed = 0
    m = re.search(r"\[  PASSED  \] (\d+) test", proc.stdout)
    if m:
        passed = int(m.group(1))
    m = re.search(r"\[  FAILED  \] (\d+) test", proc.stdout)
    if m:
        failed = int(m.group(1))
    if proc.returncode != 0 and failed == 0:
        print(f"{binary}: exited {proc.returncode} without a count")
        failed = 1
    return passed, failed


def run_golden():
    """Golden outputs (policy explain): tests/golden/run.py."""
    proc = subprocess.run(["/usr/bin/python3", "tests/golden/run.py"],
                          cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    sys.stdout.write(proc.stdout)
    m = re.search(r"^(\d+) passed, (\d+) failed$", proc.stdout, re.M)
    if not m:
        print("golden: no count")
        return 0, 1
    passed, failed = int(m.group(1)), int(m.group(2))
    if proc.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed


def e2e_workers():
    """HVB_E2E_WORKERS (default 2) pytest-xdist workers, when installed.

    --dist loadfile keeps a module on one worker: its test bed is a
    module fixture.  Each worker takes its own loopback addresses
    (tests/e2e/conftest.py), so two beds never meet."""
    try:
        n = int(os.environ.get("HVB_E2E_WORKERS", "2"))
    except ValueError:
        n = 2
    if n <= 1:
        return []
    probe = subprocess.run(["/usr/bin/python3", "-c", "import xdist"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        print("pytest-xdist not installed: the e2e suite runs serially")
        return []
    return ["-n", str(n), "--dist", "loadfile"]


def run_e2e():
    cmd = ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "-o", "console_output_style=classic"] + e2e_workers() + \
        ["tests/e2e"]
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(proc.stdout)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|error)",
                                                last)}
    passed = counts.get("passed", 0)
    failed = counts.get("failed", 0) + counts.get("error", 0)
    if proc.returncode != 0 and failed == 0:
        print(f"pytest exited {proc.returncode} without failures counted")
        failed = 1
    if passed + failed == 0:
        print("pytest ran no test")
        failed = 1
    return passed, failed


def main():
    total_passed = total_failed = 0
    for binary in sys.argv[1:]:
        p, f = run_unit(binary)
        total_passed += p
        total_failed += f
    p, f = run_golden()
    total_passed += p
    total_failed += f
    p, f = run_e2e()
    total_passed += p
    total_failed += f
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
