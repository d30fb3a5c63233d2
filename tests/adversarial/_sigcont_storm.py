# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of tls_gate_sigcont_before_probes (not a case): runs ARGV and,
from the moment it exists, sends it SIGCONT in a tight loop until it exits
(whatever stops it is undone at once); exits with its status."""
import os
import signal
import subprocess
import sys

c = subprocess.Popen(sys.argv[1:])
storm = os.fork()
if storm == 0:
    while True:
        try:
            os.kill(c.pid, signal.SIGCONT)
        except ProcessLookupError:
            os._exit(0)
rc = c.wait()
os.kill(storm, signal.SIGKILL)
os.waitpid(storm, 0)
sys.exit(rc if rc >= 0 else 128 - rc)
