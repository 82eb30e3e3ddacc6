"""What the CLI test scripts share (imported from their folder): checks that
record and print each failure, a run of the peertrace command, and the exit
status that says whether any check failed."""
import subprocess
import sys

failures = []


def check(cond, what):
    """Records `what` as failed (and prints it) unless cond holds."""
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def run_peertrace(pt, *args, timeout=30, env=None):
    """Runs the peertrace executable pt with args: (exit status, stdout,
    stderr) as text; env None keeps this process's environment."""
    p = subprocess.run([pt, *args], capture_output=True, text=True,
                       env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def exit_if_failed():
    """Exits 1, after a count, if any check failed; returns otherwise."""
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
