"""Test helper: the npm `proxmox-api` client (tests/pveclient/) installed
with `npm ci` into a cache directory and its scenario run against an API
URL (the simulator, or the bastion's API front).

    client = PveClient()            # build/pveclient, or $HVB_PVECLIENT_DIR
    client.install()                # npm ci once (reused while the lockfile
                                    # is unchanged)
    res = client.run("https://127.0.0.31:8006", ca="pve1.pem",
                     user="alice@pve", password="...", totp_secret="...",
                     steps=["login", "version", "power", "config"])
    res.rc, res.steps               # exit status, one dict per step
    res.step("login")               # the first line of that step

The client verifies the server's certificate through NODE_EXTRA_CA_CERTS
(the CA file given as `ca`), never by turning verification off.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "tests" / "pveclient"


class ScenarioResult:
    def __init__(self, rc, steps, stdout, stderr):
        self.rc = rc
        self.steps = steps
        self.stdout = stdout
        self.stderr = stderr

    def step(self, name):
        for s in self.steps:
            if s.get("step") == name:
                return s
        raise KeyError("no step %r in %s" % (name, self.stdout))

    def all(self, name):
        return [s for s in self.steps if s.get("step") == name]

    def __repr__(self):
        return "<scenario rc=%d %s %s>" % (self.rc, self.stdout,
                                           self.stderr[-2000:])


class PveClient:
    def __init__(self, cache_dir=None):
        self.dir = Path(cache_dir or os.environ.get("HVB_PVECLIENT_DIR") or
                        REPO / "build" / "pveclient")

    def _lock_digest(self):
        h = hashlib.sha256()
        for f in ("package.json", "package-lock.json"):
            h.update((SRC / f).read_bytes())
        return h.hexdigest()

    def installed(self):
        stamp = self.dir / ".installed"
        return (stamp.exists() and stamp.read_text().strip() ==
                self._lock_digest() and
                (self.dir / "node_modules" / "proxmox-api").is_dir())

    def install(self, timeout=600):
        """npm ci into the cache directory unless the same lockfile is
        installed there already; the scenario is copied in every time."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            if not self.installed():
                for f in ("package.json", "package-lock.json"):
                    shutil.copyfile(SRC / f, self.dir / f)
                proc = subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund",
                     "--loglevel=error"], cwd=str(self.dir),
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    text=True, timeout=timeout)
                if proc.returncode != 0:
                    raise RuntimeError("npm ci failed in %s:\n%s"
                                       % (self.dir, proc.stdout[-4000:]))
                (self.dir / ".installed").write_text(self._lock_digest())
            shutil.copyfile(SRC / "scenario.mjs", self.dir / "scenario.mjs")
        return self

    def run(self, url, ca=None, user=None, password=None, totp_secret=None,
            totp_code=None, token_id=None, token_secret=None, vmid=None,
            steps=None, timeout=120, extra_env=None):
        self.install()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("HVB_API_")}
        env.pop("NODE_TLS_REJECT_UNAUTHORIZED", None)
        env["HVB_API_URL"] = url
        pairs = {"HVB_API_USER": user, "HVB_API_PASSWORD": password,
                 "HVB_API_TOTP_SECRET": totp_secret,
                 "HVB_API_TOTP_CODE": totp_code,
                 "HVB_API_TOKEN_ID": token_id,
                 "HVB_API_TOKEN_SECRET": token_secret,
                 "HVB_API_VMID": None if vmid is None else str(vmid),
                 "HVB_API_STEPS": ",".join(steps) if steps else None,
                 "NODE_EXTRA_CA_CERTS": None if ca is None else str(ca)}
        for k, v in pairs.items():
            if v is not None:
                env[k] = v
        env.update(extra_env or {})
        proc = subprocess.run(["node", "scenario.mjs"], cwd=str(self.dir),
                              env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              timeout=timeout)
        lines = []
        for ln in proc.stdout.splitlines():
            ln = ln.strip()
            if ln.startswith("{"):
                lines.append(json.loads(ln))
        return ScenarioResult(proc.returncode, lines, proc.stdout,
                              proc.stderr)
