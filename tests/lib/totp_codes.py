"""TOTP codes for the tests' logins, computed with oathtool as a person's
authenticator app would.

A code is accepted once (RFC 6238 replay rule), so a test hands out codes
of successive time steps within the window the bastion accepts (one step
either side, pam_hvbastion's default) and waits for the clock when it runs
out.  The steps used are remembered per (secret), for the test process.
"""

import subprocess
import time

STEP = 30

_last_step = {}


def code_at(secret, step):
    return subprocess.run(
        ["oathtool", "--totp", "-b", secret, "--now",
         "@%d" % (step * STEP)], check=True, stdout=subprocess.PIPE,
        text=True).stdout.strip()


def fresh_code(secret):
    """A code of secret the bastion has not seen yet, inside the window."""
    while True:
        t = time.time()
        now = int(t) // STEP
        # The bastion takes the steps now-1..now+1 when it checks; the
        # previous step only while the login has half a window left
        # (late in a window it would expire on its way: a flake).
        oldest = now - 1 if t - now * STEP < STEP / 2 else now
        step = max(oldest, _last_step.get(secret, -1) + 1)
        if step <= now + 1:
            _last_step[secret] = step
            return code_at(secret, step)
        time.sleep(1)
