#!/usr/bin/python3
"""hvbastion API benchmark: a Proxmox API front against nginx as a plain
TLS reverse proxy to the same API simulator, same machine, same run.

    /usr/bin/python3 bench/api_bench.py [--quick] [--net 127.0.0]
        [--bastion-url https://HOST:PORT --bastion-auth 'HEADER: VALUE'
         [--bastion-ca FILE]] [--json FILE]

    simulator  tests/pvesim/pvesim.py, one node (NET.51), an API token with
               Administrator on /, 40 guests (cluster/resources is ~9 KB)
    anchor     wrk -> nginx (NET.50, TLS, `proxy_pass https://` with a
               keep-alive upstream, the simulator's certificate verified)
               -> simulator
    bastion    wrk -> the URL given with --bastion-url (the bastion's API
               front, wired to the same simulator: see --serve) ->
               simulator; without it only the anchor (and the simulator
               direct, as the ceiling) are measured
    direct     wrk -> simulator (the ceiling both sides share)

Measures, for GET /api2/json/version and GET /api2/json/cluster/resources:
requests per second and p99 latency with wrk (2 threads, 16 keep-alive
connections, a Lua `done` hook reading wrk's latency histogram), median of
3 runs of 8 s per side (--quick: 1 run of 3 s), the sides interleaved so
that drift hits both. Every answer must be a 200 (wrk counts the others):
a run with non-2xx answers or socket errors fails the bench. When the
bench started the simulator and knows the proxy's pid (nginx always;
the bastion when measure() is given bastion_pid), also the CPU time per
call of the proxy's process tree and of the simulator, from /proc over
the middle of each run.

Wiring the bastion in, two ways:
  * from Python (bench/bench.py): b = ApiBench(net); b.setup();
    b.api_nodes() and b.api_credential() (or b.info()) give the
    simulator's node, address, port, certificate fingerprint and an
    Administrator token, in the shapes of testbed's enable_api(); start
    the bastion with them (a role with that credential and an api-grant
    covering /, /nodes/*, /vms/*, /storage/* with Sys.Audit, VM.Audit,
    Datastore.Audit; a person with a personal API token); then
    summary = summarize(b.measure(bastion=(url, header, ca)));
    print_table(summary); b.stop().
  * from the shell: `api_bench.py --serve` starts simulator and nginx,
    writes bench/run/api/serve.json (the same info) and waits; start the
    bastion against it, then `api_bench.py --attach bench/run/api/serve.json
    --bastion-url ... --bastion-auth ...` measures without starting
    anything.

Everything lives under bench/run/api/ (re-created each run); every process
started is stopped at the end, on error and on SIGINT/SIGTERM too.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "lib"))

import proctree  # noqa: E402
from pvesim import PveSim, gen_cert, wait_port  # noqa: E402

RUN = HERE / "run" / "api"
TOKEN_ID = "root@pam!bench"
TOKEN_SECRET = "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b"
PATHS = ["/api2/json/version", "/api2/json/cluster/resources"]
WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"non2xx":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
"""


def log(msg):
    print("api-bench: %s" % msg, flush=True)


class BenchError(Exception):
    pass


def free_port(addr):
    import socket
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


NGINX_CONF = """\
# nginx as a plain TLS reverse proxy in front of the API simulator: the
# anchor of the API benchmark (bench/api_bench.py).
worker_processes 2;
daemon off;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {run}/nginx-access.log combined buffer=64k flush=1s;
    client_body_temp_path {run}/nginx-tmp/body;
    proxy_temp_path {run}/nginx-tmp/proxy;
    fastcgi_temp_path {run}/nginx-tmp/fastcgi;
    uwsgi_temp_path {run}/nginx-tmp/uwsgi;
    scgi_temp_path {run}/nginx-tmp/scgi;
    keepalive_requests 1000;
    upstream pve {{
        server {sim_addr}:{sim_port};
        keepalive 64;
    }}
    server {{
        listen {addr}:{port} ssl;
        ssl_certificate {run}/nginx.pem;
        ssl_certificate_key {run}/nginx.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 512k;
        location / {{
            proxy_pass https://pve;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {sim_cert};
            proxy_ssl_name pve1;
            proxy_ssl_session_reuse on;
        }}
    }}
}}
"""


class ApiBench:
    def __init__(self, net="127.0.0", quick=False):
        self.quick = quick
        self.net = net
        self.sim_addr = "%s.51" % self.net
        self.nginx_addr = "%s.50" % self.net
        self.sim = None
        self.nginx = None
        self.attached = None

    # ------------------------------------------------------------ setup
    def setup(self):
        if RUN.exists():
            shutil.rmtree(RUN)
        RUN.mkdir(parents=True)
        os.chmod(RUN, 0o755)
        guests = [{"vmid": 100 + i, "type": "qemu" if i % 4 else "lxc",
                   "node": "pve1", "name": "guest%d" % i,
                   "status": "running" if i % 3 else "stopped"}
                  for i in range(40)]
        self.sim = PveSim(
            RUN, nodes=[("pve1", self.sim_addr, free_port(self.sim_addr))],
            users={"root@pam": {"password": "bench-root-pw"}},
            tokens={TOKEN_ID: {"secret": TOKEN_SECRET}},
            acl=[{"path": "/", "ugid": TOKEN_ID,
                  "roleid": "Administrator"}],
            pools={"bench": [100, 101, 102]},
            guests=guests,
            storage=[{"storage": "local", "type": "dir"},
                     {"storage": "local-lvm", "type": "lvmthin"}],
            idle_timeout=30)
        self.sim.start()
        log("simulator on https://%s:%d" % self.sim.node("pve1")[1:])
        self.start_nginx()

    def start_nginx(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            raise BenchError("nginx is missing (make deps installs it)")
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (RUN / "nginx-tmp" / d).mkdir(parents=True, exist_ok=True)
        gen_cert(RUN / "nginx.pem", RUN / "nginx.key", "bench-nginx",
                 [self.nginx_addr])
        self.nginx_port = free_port(self.nginx_addr)
        _, sim_addr, sim_port = self.sim.node("pve1")
        conf = NGINX_CONF.format(run=RUN, addr=self.nginx_addr,
                                 port=self.nginx_port, sim_addr=sim_addr,
                                 sim_port=sim_port,
                                 sim_cert=self.sim.cert_path("pve1"))
        (RUN / "nginx.conf").write_text(conf)
        subprocess.run([nginx, "-t", "-p", str(RUN), "-c",
                        str(RUN / "nginx.conf")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out = open(RUN / "nginx.out", "wb")
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(RUN), "-c", str(RUN / "nginx.conf")],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        out.close()
        if not wait_port(self.nginx_addr, self.nginx_port):
            raise BenchError("nginx did not listen (see %s)" %
                             (RUN / "nginx-error.log"))
        log("nginx on https://%s:%d" % (self.nginx_addr, self.nginx_port))

    def stop(self):
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)   # graceful shutdown
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
                self.nginx.wait()
        self.nginx = None
        if self.sim is not None:
            self.sim.stop()

    # ---------------------------------------------------------- measure
    def check_answer(self, base, header, ca=None):
        """One curl per path before measuring: a 200 with the API's JSON
        content type through this side."""
        for path in PATHS:
            argv = ["curl", "-sS", "-o", "/dev/null", "-w",
                    "%{http_code} %{content_type}", "-H", header]
            argv += ["--cacert", str(ca)] if ca else ["-k"]
            r = subprocess.run(argv + [base + path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=30)
            if r.stdout.strip() != "200 application/json;charset=UTF-8":
                raise BenchError("%s%s answers %r %s" % (
                    base, path, r.stdout, r.stderr.strip()))

    def wrk(self, url, header, seconds, roots=None):
        """One wrk run; with roots ({name: pid}), also the CPU time per
        call of each process tree, over the middle of the run (from 1 s
        in to 1 s before the end: connections set up, none closing)."""
        lua = RUN / "p99.lua"
        lua.write_text(WRK_LUA)
        argv = ["wrk", "-t2", "-c16", "-d%ds" % seconds, "--timeout", "10s",
                "-s", str(lua), "-H", header, url]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        window = None
        if roots and seconds > 2:
            time.sleep(1)
            t0, a = time.monotonic(), proctree.table()
            time.sleep(seconds - 2)
            t1, b = time.monotonic(), proctree.table()
            window = (t1 - t0, {n: proctree.tree_ticks(b, pid) -
                                proctree.tree_ticks(a, pid)
                                for n, pid in roots.items()})
        try:
            out = p.communicate(timeout=seconds + 60)[0]
        except subprocess.TimeoutExpired:
            p.kill()
            raise BenchError("wrk did not end")
        for line in out.splitlines():
            if line.startswith("WRKJSON "):
                d = json.loads(line[len("WRKJSON "):])
                if d["non2xx"] or d["errors"]:
                    raise BenchError("%s: %d non-2xx answers, %d socket "
                                     "errors" % (url, d["non2xx"],
                                                 d["errors"]))
                d["rps"] = d["requests"] / (d["duration_us"] / 1e6)
                if window is not None:
                    hz = os.sysconf("SC_CLK_TCK")
                    calls = d["rps"] * window[0]
                    d["cpu_us"] = {n: t / hz / calls * 1e6
                                   for n, t in window[1].items()}
                return d
        raise BenchError("wrk printed no result:\n%s" % out[-2000:])

    def info(self):
        """What a bastion needs to reach the simulator, and the URLs."""
        if self.attached:
            return dict(self.attached)
        _, sa, sp = self.sim.node("pve1")
        return {"node": "pve1", "address": sa, "port": sp,
                "fingerprint": self.sim.fingerprint("pve1"),
                "cert": str(self.sim.cert_path("pve1")),
                "token_id": TOKEN_ID, "token_secret": TOKEN_SECRET,
                "direct": "https://%s:%d" % (sa, sp),
                "nginx": "https://%s:%d" % (self.nginx_addr,
                                            self.nginx_port),
                "nginx_cert": str(RUN / "nginx.pem"),
                "request_log": str(self.sim.request_log)}

    def api_nodes(self):
        """[(name, address, port, fingerprint)]: the shape of the test
        bed's enable_api(nodes=...) (api-node blocks)."""
        inf = self.info()
        return [(inf["node"], inf["address"], inf["port"],
                 inf["fingerprint"])]

    def api_credential(self):
        """(token id, secret): an Administrator token on the simulator,
        for the bastion's api-credential (enable_api(credentials=...))."""
        inf = self.info()
        return (inf["token_id"], inf["token_secret"])

    def attach(self, serve_json):
        self.attached = json.loads(Path(serve_json).read_text())

    def cpu_roots(self, side, bastion_pid):
        """The process trees whose CPU a run of side is charged: the
        proxy's (nginx's master and workers; the bastion's daemon and
        everything below it) and the simulator's."""
        if self.attached or self.sim is None or self.sim.proc is None:
            return None
        proxy = {"nginx": self.nginx.pid if self.nginx else None,
                 "bastion": bastion_pid}.get(side)
        if proxy is None:
            return None
        return {"proxy": proxy, "simulator": self.sim.proc.pid}

    def measure(self, bastion=None, bastion_pid=None):
        """bastion: (url, header, ca or None); bastion_pid: its daemon's
        pid, for its CPU per call (every process below it: children,
        monitors, key holder). Returns the raw runs."""
        inf = self.info()
        tok = "Authorization: PVEAPIToken=%s=%s" % (inf["token_id"],
                                                    inf["token_secret"])
        sides = {"direct": (inf["direct"], tok),
                 "nginx": (inf["nginx"], tok)}
        self.check_answer(inf["direct"], tok, inf["cert"])
        self.check_answer(inf["nginx"], tok, inf["nginx_cert"])
        if bastion:
            url, header, ca = bastion
            sides["bastion"] = (url.rstrip("/"), header)
            self.check_answer(sides["bastion"][0], header, ca)
        runs = 1 if self.quick else 3
        seconds = 3 if self.quick else 8
        order = [s for s in ("nginx", "bastion") if s in sides]
        res = {}
        for path in PATHS:
            res[path] = {s: [] for s in sides}
            d = self.wrk(sides["direct"][0] + path, tok, seconds)
            res[path]["direct"].append(d)
            for i in range(runs):
                for side in (order if i % 2 == 0 else order[::-1]):
                    base, header = sides[side]
                    d = self.wrk(base + path, header, seconds,
                                 self.cpu_roots(side, bastion_pid))
                    res[path][side].append(d)
                    cpu = d.get("cpu_us", {})
                    log("%-28s %-8s %8.0f req/s  p99 %6.1f ms%s" % (
                        path, side, d["rps"], d["p99_us"] / 1000,
                        "  CPU/call: proxy %.0f us, simulator %.0f us" % (
                            cpu["proxy"], cpu["simulator"])
                        if "proxy" in cpu else ""))
        return res


def _median_cpu(runs, who):
    got = [r["cpu_us"][who] for r in runs if who in r.get("cpu_us", {})]
    return statistics.median(got) if got else None


def summarize(res):
    out = {}
    for path, sides in res.items():
        out[path] = {}
        for side, runs in sides.items():
            if not runs:
                continue
            out[path][side] = {
                "rps": statistics.median(r["rps"] for r in runs),
                "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
                "cpu_us": _median_cpu(runs, "proxy"),
                "sim_cpu_us": _median_cpu(runs, "simulator"),
                "runs": len(runs)}
        if "bastion" in out[path]:
            out[path]["ratio_rps"] = (out[path]["bastion"]["rps"] /
                                      out[path]["nginx"]["rps"])
            out[path]["ratio_p99"] = (out[path]["bastion"]["p99_ms"] /
                                      out[path]["nginx"]["p99_ms"])
            if out[path]["bastion"]["cpu_us"] and \
                    out[path]["nginx"]["cpu_us"]:
                out[path]["ratio_cpu"] = (out[path]["bastion"]["cpu_us"] /
                                          out[path]["nginx"]["cpu_us"])
    return out


def print_table(summary):
    print()
    print("%-30s %-8s %12s %10s %14s %14s" % (
        "request", "side", "req/s", "p99 ms", "proxy CPU/call",
        "sim CPU/call"))
    for path, sides in summary.items():
        for side in ("direct", "nginx", "bastion"):
            if side in sides:
                c, sc = sides[side].get("cpu_us"), sides[side].get(
                    "sim_cpu_us")
                print("%-30s %-8s %12.0f %10.1f %14s %14s" % (
                    "GET " + path.replace("/api2/json", ""), side,
                    sides[side]["rps"], sides[side]["p99_ms"],
                    "%.0f us" % c if c else "-",
                    "%.0f us" % sc if sc else "-"))
        if "ratio_rps" in sides:
            print("%-30s %-8s %11.2fx %9.2fx %13s" % (
                "", "ratio", sides["ratio_rps"], sides["ratio_p99"],
                "%.2fx" % sides["ratio_cpu"] if "ratio_cpu" in sides
                else "-"))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one 3-second run per side")
    ap.add_argument("--net", default=os.environ.get("HVB_BENCH_NET",
                                                    "127.0.0"),
                    help="first three bytes of the loopback addresses "
                    "(simulator .51, nginx .50)")
    ap.add_argument("--bastion-url", help="https://HOST:PORT of the "
                    "bastion's API front, wired to the simulator")
    ap.add_argument("--bastion-auth", help="the header the bastion side "
                    "sends, e.g. 'Authorization: PVEAPIToken=u@r!id=S'")
    ap.add_argument("--bastion-ca", help="CA file for the bastion's "
                    "certificate (default: not verified by the check)")
    ap.add_argument("--serve", action="store_true",
                    help="start simulator and nginx, print their "
                    "parameters as JSON and wait for SIGINT/SIGTERM")
    ap.add_argument("--attach", metavar="SERVE_JSON",
                    help="measure against a running --serve instead of "
                    "starting simulator and nginx")
    ap.add_argument("--json", help="write the summary here")
    a = ap.parse_args()
    for tool in ("wrk", "curl", "openssl"):
        if not shutil.which(tool):
            log("%s is missing (make deps installs it)" % tool)
            return 2
    b = ApiBench(a.net, a.quick)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if a.attach:
            b.attach(a.attach)
        else:
            b.setup()
        if a.serve:
            info = b.info()
            (RUN / "serve.json").write_text(json.dumps(info, indent=1))
            print(json.dumps(info, indent=1), flush=True)
            while True:
                time.sleep(3600)
        bastion = None
        if a.bastion_url:
            if not a.bastion_auth:
                raise BenchError("--bastion-url needs --bastion-auth")
            bastion = (a.bastion_url, a.bastion_auth, a.bastion_ca)
        res = b.measure(bastion)
        summary = summarize(res)
        print_table(summary)
        if a.json:
            Path(a.json).write_text(json.dumps({"summary": summary,
                                                "runs": res}, indent=1))
        return 0
    except BenchError as e:
        log("FAILED: %s" % e)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        b.stop()

if __name__ == "__main__":
    sys.exit(main())
