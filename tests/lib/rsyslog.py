"""rsyslog as the log store, for the tests, the benchmark and the demo.

Rsyslog(root, address, port, tls=True, ca=DemoCA(...)) writes its own
configuration under ROOT/rsyslog/ and runs `rsyslogd -n -f CONF -i PIDFILE`
in the foreground (its own work directory, no system socket, no kernel
log): imtcp on ADDRESS:PORT, with the OpenSSL stream driver when tls is
set (or, with relp=True, imrelp: RELP, over TLS through librelp's OpenSSL
when tls is set), every message written in RFC 5424 form
(RSYSLOG_SyslogProtocol23Format) to ROOT/rsyslog/logstore.log.

DemoCA(dir) makes a throw-away CA with openssl(1), a server certificate
for an IP address and, when asked, a client certificate.

Standard library and tests/lib/testbed.py only.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import testbed  # noqa: E402

RSYSLOGD = "/usr/sbin/rsyslogd"
OPENSSL = "/usr/bin/openssl"


def _run(argv):
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, timeout=60)
    if cp.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), cp.stderr))


class DemoCA:
    """A CA, a server certificate for ip, client certificates on demand."""

    def __init__(self, directory, ip, days=30):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        # The daemon's user (testbed.RUN_USER) reads the CA certificate and
        # its client key; the CA's own key stays root's (0600).
        for d in [self.dir] + list(self.dir.parents)[:1]:
            os.chmod(d, 0o755)
        self.ca = self.dir / "ca.pem"
        self.ca_key = self.dir / "ca.key"
        self.ip = ip
        if not self.ca.exists():
            _run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                  str(self.ca_key), "-out", str(self.ca), "-days", str(days),
                  "-subj", "/CN=hvbastion demo log store CA",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self.server_cert, self.server_key = self.issue(
            "server", "subjectAltName=IP:%s" % ip, "serverAuth")

    def issue(self, name, san, usage):
        cert = self.dir / ("%s.pem" % name)
        key = self.dir / ("%s.key" % name)
        if cert.exists():
            return cert, key
        csr = self.dir / ("%s.csr" % name)
        ext = self.dir / ("%s.ext" % name)
        ext.write_text("%s\nextendedKeyUsage=%s\n"
                       "basicConstraints=CA:FALSE\n" % (san, usage))
        _run([OPENSSL, "req", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
              "-out", str(csr), "-subj", "/CN=%s" % name])
        _run([OPENSSL, "x509", "-req", "-in", str(csr), "-CA", str(self.ca),
              "-CAkey", str(self.ca_key), "-CAcreateserial", "-out",
              str(cert), "-days", "30", "-extfile", str(ext)])
        os.chmod(key, 0o600)
        return cert, key

    def client(self, name="bastion"):
        """A client certificate and key; the key belongs to the daemon's
        user (it refuses a key file others own or can read)."""
        cert, key = self.issue("client-" + name, "subjectAltName=DNS:%s" %
                               name, "clientAuth")
        testbed.give_to_run_user(key)
        return cert, key


class Rsyslog:
    """rsyslogd in the foreground with its own configuration."""

    def __init__(self, root, address, port, tls=True, ca=None,
                 client_auth=False, relp=False):
        self.dir = Path(root) / "rsyslog"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.address = address
        self.port = port
        self.tls = tls
        self.ca = ca
        self.client_auth = client_auth
        self.relp = relp
        self.conf = self.dir / "rsyslog.conf"
        self.pid_file = self.dir / "rsyslogd.pid"
        self.work = self.dir / "work"
        self.work.mkdir(exist_ok=True)
        self.log_path = self.dir / "rsyslogd.log"
        self.store = self.dir / "logstore.log"
        self.proc = None
        self.write_conf()

    def write_conf(self):
        L = ['global(workDirectory="%s" maxMessageSize="64k")' % self.work]
        if self.relp:
            L += self._relp_input()
        elif self.tls:
            L.append('global(defaultNetstreamDriver="ossl"'
                     ' defaultNetstreamDriverCAFile="%s"'
                     ' defaultNetstreamDriverCertFile="%s"'
                     ' defaultNetstreamDriverKeyFile="%s")' % (
                         self.ca.ca, self.ca.server_cert,
                         self.ca.server_key))
            L.append('module(load="imtcp" streamDriver.name="ossl"'
                     ' streamDriver.mode="1" streamDriver.authMode="%s")' % (
                         "x509/certvalid" if self.client_auth else "anon"))
        else:
            L.append('module(load="imtcp")')
        if not self.relp:
            L.append('input(type="imtcp" address="%s" port="%d")' % (
                self.address, self.port))
        # the main queue is drained on shutdown (rsyslog's default gives
        # it 1.5 s): whatever was received reaches the file; one worker,
        # so that the file's order is the order of arrival (a test checks
        # it)
        L.append('main_queue(queue.timeoutShutdown="20000"'
                 ' queue.workerThreads="1")')
        L.append('*.* action(type="omfile" file="%s"'
                 ' template="RSYSLOG_SyslogProtocol23Format")' % self.store)
        self.conf.write_text("\n".join(L) + "\n")

    def _relp_input(self):
        """imrelp (rsyslog-relp) on ADDRESS:PORT."""
        if not self.tls:
            return ['module(load="imrelp")',
                    'input(type="imrelp" address="%s" port="%d")' % (
                        self.address, self.port)]
        auth = ' tls.authMode="certvalid"' if self.client_auth else ""
        return ['module(load="imrelp" tls.tlslib="openssl")',
                'input(type="imrelp" address="%s" port="%d" tls="on"'
                ' tls.cacert="%s" tls.mycert="%s" tls.myprivkey="%s"%s)' % (
                    self.address, self.port, self.ca.ca,
                    self.ca.server_cert, self.ca.server_key, auth)]

    def start(self, timeout=15):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [RSYSLOGD, "-n", "-f", str(self.conf), "-i",
                 str(self.pid_file)], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        import socket
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("rsyslogd exited %s: %s" % (
                    self.proc.returncode, self.log_path.read_text()[-2000:]))
            try:
                socket.create_connection((self.address, self.port),
                                         timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("rsyslogd does not listen on %s:%d"
                                       % (self.address, self.port))
                time.sleep(0.05)

    def stop(self):
        """SIGTERM and wait: rsyslog writes out its queue before it
        exits."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def lines(self):
        try:
            return self.store.read_text(errors="surrogateescape").splitlines()
        except FileNotFoundError:
            return []

    def wait_for(self, pred, timeout=30.0):
        """Waits until pred(lines) is true; returns the lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if pred(lines):
                return lines
            if time.monotonic() > deadline:
                return lines
            time.sleep(0.1)


SD_RE = re.compile(r'\[hvbastion@32473((?: [a-z_]+="(?:[^"\\\]]|\\.)*")*)\]')
PARAM_RE = re.compile(r' ([a-z_]+)="((?:[^"\\\]]|\\.)*)"')


def parse_event(line):
    """The hvbastion SD element of an RFC 5424 line -> {name: value} with
    the RFC 5424 escapes undone (the %HH value encoding is kept); None if
    the line carries none."""
    m = SD_RE.search(line)
    if m is None:
        return None
    ev = {}
    for k, v in PARAM_RE.findall(m.group(1)):
        ev[k] = re.sub(r'\\(["\\\]])', r"\1", v)
    fields = line.split(" ", 6)
    ev["_header"] = fields[:6]
    return ev


def decode(value):
    """%HH -> bytes: what the client really sent."""
    return re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  value.encode())
