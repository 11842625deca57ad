#!/usr/bin/env python3
"""The child processes of one k0slua run, from a stand-in transcript (Tests/StandIns, one JSON
object a line: a start line per call, an `end` line with the same pid). Prints one line:

    WALL OVERHEAD CALLS BUSY

WALL is END - START; OVERHEAD the part of it while no child process ran (the union of the
children's intervals, clipped to [START, END], subtracted); CALLS how many calls of TOOL finished
and BUSY their summed time (0 0 without --tool). Shared by up-bench.sh and fleet-bench.sh.

usage: intervals.py TRANSCRIPT START END [--tool TOOL]
"""
import json
import sys


def main(path, start, end, tool=None):
    begins, intervals, calls, busy = {}, [], 0, 0.0
    for line in open(path):
        e = json.loads(line)
        if "signal" in e or "event" in e:
            continue
        if e.get("end"):
            if e["pid"] in begins:
                name, began = begins.pop(e["pid"])
                intervals.append((began, e["time"]))
                if name == tool:
                    calls += 1
                    busy += e["time"] - began
        else:
            begins[e["pid"]] = (e["tool"], e["time"])
    intervals.sort()
    covered, cursor = 0.0, start
    for a, b in intervals:
        a, b = max(a, cursor), min(b, end)
        if b > a:
            covered += b - a
            cursor = b
    print(f"{end - start:.3f} {end - start - covered:.3f} {calls} {busy:.3f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    tool = None
    if "--tool" in args:
        i = args.index("--tool")
        tool = args[i + 1]
        del args[i:i + 2]
    if len(args) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(args[0], float(args[1]), float(args[2]), tool)
