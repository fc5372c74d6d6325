#!/usr/bin/python3
"""hvbastion API benchmark, the bastion side: hvbastiond's API front
(authentication with a personal API token, policy, list filtering, an
audit line per call, the held token upstream on kept-alive pinned TLS)
against nginx as a plain TLS reverse proxy, both in front of the same
API simulator, same machine, same run (bench/api_bench.py does the
measuring: wrk, medians of 3 runs, interleaved sides).

    /usr/bin/python3 bench/api_bastion.py [--quick] [--net 127.0.0]
        [--json FILE]

Environment: HVB_BIN_DIR (default REPO/build) says where hvbastiond is.
Everything lives under bench/run/ and is stopped at the end.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "lib"))

import api_bench  # noqa: E402
import testbed  # noqa: E402

RUN = HERE / "run" / "api-bastion"


def bastion_bed(net, info):
    """A bastion with the API front wired to the bench's simulator; alice
    (hv-admins) gets a personal API token.  (bed, url, header)"""
    if RUN.exists():
        shutil.rmtree(RUN)
    RUN.mkdir(parents=True)
    os.chmod(RUN, 0o755)
    addr = "%s.52" % net
    bed = testbed.TestBed(RUN, bastion=(addr, testbed.free_port(addr)),
                          target_addresses={"pve1": "%s.53" % net,
                                            "vm101": "%s.54" % net})
    bed.enable_api(
        addr, testbed.free_port(addr),
        [(info["node"], info["address"], info["port"], info["fingerprint"])],
        credentials={"pve-bench": (info["token_id"], info["token_secret"])},
        role_credentials={"hv-admins": "pve-bench"},
        grants={"hv-admins": ['paths "/nodes/*" "/storage/*" "/vms/*"'
                              ' "/cluster"',
                              'roles "PVEAuditor"']},
        passwords={"alice": "bench-alice-pw"})
    # wrk opens its 16 connections at once, from one address
    bed.policy_extra = "max-startups 100:30:200\nmax-startups-per-source 100"
    bed.setup()
    bed.bastion.start()
    cp = testbed.run([str(bed.bin_dir / "hvbastion"), "-f", str(bed.conf),
                      "api-token", "create", "alice", "bench"])
    m = re.search(r"^Authorization: (PVEAPIToken=\S+)$", cp.stdout, re.M)
    if not m:
        raise api_bench.BenchError("no token: %s" % cp.stdout)
    return bed, bed.api_url, "Authorization: " + m.group(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--net", default=os.environ.get("HVB_BENCH_NET",
                                                    "127.0.0"))
    ap.add_argument("--json", help="write the summary here")
    a = ap.parse_args()
    for tool in ("wrk", "curl", "openssl", "nginx"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            api_bench.log("%s is missing (make deps installs it)" % tool)
            return 2
    b = api_bench.ApiBench(a.net, a.quick)
    bed = None

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        b.setup()
        bed, url, header = bastion_bed(a.net, b.info())
        api_bench.log("bastion API front on %s" % url)
        res = b.measure((url, header, str(bed.api_cert)),
                        bastion_pid=bed.bastion.pid)
        summary = api_bench.summarize(res)
        api_bench.print_table(summary)
        calls = bed.bastion.log_text().count("audit api-call ")
        api_bench.log("%d API calls audited by the bastion" % calls)
        if a.json:
            Path(a.json).write_text(json.dumps({"summary": summary,
                                                "runs": res}, indent=1))
        return 0
    except api_bench.BenchError as e:
        api_bench.log("FAILED: %s" % e)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if bed is not None:
            bed.stop()
        b.stop()


if __name__ == "__main__":
    sys.exit(main())
