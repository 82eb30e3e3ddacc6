#!/usr/bin/env python3
"""Re-runs the examples of docs/cli.md and puts their real output in.

Usage: python3 scripts/update-cli-doc.py BUILD_DIR
Every fenced block whose first line is "$ <command using peertrace>" is run (through
sh, in a scratch directory holding the sample dumps of
tests/make_sample_dumps.c, plus flipped.ptd and short.ptd, two damaged
copies, and skewed/ with the same on clocks that disagree) and its output
replaced.  The RS bytes of qlog records are dropped.
"""
import os
import re
import subprocess
import sys
import tempfile

build = os.path.abspath(sys.argv[1])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
doc = os.path.join(root, "docs", "cli.md")
work = tempfile.mkdtemp(prefix="pt-cli-doc.")
subprocess.run([os.path.join(build, "tests", "make_sample_dumps"), work],
               check=True)
os.mkdir(os.path.join(work, "skewed"))
subprocess.run([os.path.join(build, "tests", "make_sample_dumps"),
                os.path.join(work, "skewed"), "--skewed"], check=True)
data = bytearray(open(os.path.join(work, "client.ptd"), "rb").read())
data[600] ^= 0xFF
open(os.path.join(work, "flipped.ptd"), "wb").write(data)
open(os.path.join(work, "short.ptd"), "wb").write(data[:300])
env = dict(os.environ, PATH=os.path.join(build, "tools") + ":" +
           os.environ["PATH"], NO_COLOR="1")


def rerun(match):
    command = match.group(1)
    out = subprocess.run(command, shell=True, cwd=work, env=env,
                         capture_output=True, text=True, errors="replace")
    text = (out.stdout + out.stderr).replace("\x1e", "")
    return "```\n$ " + command + "\n" + text + "```"


text = open(doc).read()
text = re.sub(r"```\n\$ ([^\n]*peertrace[^\n]*)\n.*?```", rerun, text,
              flags=re.S)
open(doc, "w").write(text)
print("updated", doc, "(scratch:", work + ")")
