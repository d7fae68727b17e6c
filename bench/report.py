#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Turns bench/run's per-run lines into the report: a table on stdout,
JSON (--out), and a PNG chart next to it when gnuplot is installed.

results.tsv columns: kind mode socket run messages seconds cpu_ticks
peak_rss_kb message_bytes machine_busy_ticks machine_total_ticks.
big.tsv: size bytes rss_before_kb rss_after_kb.

Throughput is messages accepted by Postfix per second of smtp-source
wall time (every message passed through the milter before Postfix
answered its DATA); the median of the runs is reported with the range.
The machine's CPU time per message (every process: Postfix, the milter,
smtp-source, smtp-sink, the kernel) over the same time is steadier than
throughput on a machine whose disk latency varies; pass CPU / mode CPU
is the share of pass-through capacity a mode keeps when CPU is the
limit.

Each mode is also compared with its floor, the cheapest filter that does
the same kind of work for Postfix: pass-through and verification with
the do-nothing filter (null), signing and encrypting with the filter
that replaces the body (null-edit), encryption to five recipients with
pass-through to five (pass5). The goals are ratios of one interleaved
run; the report says for each whether it was met.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

MODE_ORDER = ["none", "null-plain", "null-data", "null-nodelay", "null", "null-edit-nagle",
              "null-edit", "null-edit5", "pass", "pass5", "verify", "sign",
              "sign-inproc", "sign-p256", "signing-milter", "enc1", "enc5",
              "enc5-inproc"]
# The floor of each mode (see the module's comment).
FLOOR = {"pass": "null", "verify": "null", "sign": "null-edit",
         "sign-p256": "null-edit", "signing-milter": "null-edit",
         "enc1": "null-edit", "enc5": "pass5", "sign-inproc": "null-edit",
         "enc5-inproc": "pass5"}
# Goals: (mode, floor, least ratio); and inet:/unix: for every mode.
GOALS = [("sign", "null-edit", 0.90), ("enc5", "pass5", 0.85),
         ("pass", "null", 0.97)]
# The key process against private keys used in the milter itself
# (mode, in-process mode, least ratio of throughputs).
KEY_PROCESS_GOALS = [("sign", "sign-inproc", 0.95), ("enc5", "enc5-inproc", 0.95)]
INET_GOAL = 0.95
CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_runs(path):
    cells = {}
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            kind, mode, sock, _run, n, secs, ticks, rss, size = fields[:9]
            busy, total = (fields[9:11] if len(fields) >= 11
                           else ("0", "0"))
            cell = cells.setdefault((kind, mode, sock), {
                "kind": kind, "mode": mode, "socket": sock,
                "message_bytes": int(size), "runs": []})
            cell["runs"].append({"messages": int(n), "seconds": float(secs),
                                 "cpu_ticks": int(ticks),
                                 "peak_rss_kb": int(rss),
                                 "machine_busy_ticks": int(busy),
                                 "machine_total_ticks": int(total)})
    return cells


def summarize(cell):
    rates = [r["messages"] / r["seconds"] for r in cell["runs"]]
    cpu = [r["cpu_ticks"] * 1000.0 / CLK_TCK / r["messages"]
           for r in cell["runs"]]
    machine = [r["machine_busy_ticks"] * 1000.0 / CLK_TCK / r["messages"]
               for r in cell["runs"] if r["machine_total_ticks"] > 0]
    busy = [r["machine_busy_ticks"] / r["machine_total_ticks"]
            for r in cell["runs"] if r["machine_total_ticks"] > 0]
    filtered = cell["mode"] != "none"
    cell.update({
        "machine_cpu_ms_per_msg":
            round(statistics.median(machine), 3) if machine else None,
        "machine_busy": round(statistics.median(busy), 3) if busy else None,
        "msgs_per_s": round(statistics.median(rates), 1),
        "msgs_per_s_min": round(min(rates), 1),
        "msgs_per_s_max": round(max(rates), 1),
        "milter_cpu_ms_per_msg":
            round(statistics.median(cpu), 3) if filtered else None,
        "milter_peak_rss_kb":
            max(r["peak_rss_kb"] for r in cell["runs"]) if filtered else None,
    })


def add_ratios(cells):
    for (kind, mode, sock), cell in cells.items():
        none = cells.get((kind, "none", "-"))
        passthru = cells.get((kind, "pass", sock))
        cell["ratio_to_no_milter"] = (
            round(cell["msgs_per_s"] / none["msgs_per_s"], 3) if none else None)
        cell["ratio_to_pass"] = (
            round(cell["msgs_per_s"] / passthru["msgs_per_s"], 3)
            if passthru and mode != "none" else None)
        cell["cpu_ratio_to_pass"] = (
            round(passthru["machine_cpu_ms_per_msg"] /
                  cell["machine_cpu_ms_per_msg"], 3)
            if passthru and mode != "none" and
            passthru["machine_cpu_ms_per_msg"] and
            cell["machine_cpu_ms_per_msg"] else None)
        plain = mode.split("@")[0]
        floor = cells.get((kind, FLOOR.get(plain), sock))
        cell["floor"] = FLOOR.get(plain) if floor else None
        cell["ratio_to_floor"] = (
            round(cell["msgs_per_s"] / floor["msgs_per_s"], 3)
            if floor else None)
        base = cells.get((kind, mode + "@base", sock))
        cell["ratio_to_base"] = (
            round(cell["msgs_per_s"] / base["msgs_per_s"], 3)
            if base else None)
        if base:
            cell["base_cpu_ms_per_msg"] = base["milter_cpu_ms_per_msg"]
        unix = cells.get((kind, mode, "unix"))
        cell["ratio_inet_to_unix"] = (
            round(cell["msgs_per_s"] / unix["msgs_per_s"], 3)
            if sock == "inet" and unix else None)


def ordered(cells):
    def key(c):
        plain = c["mode"].split("@")[0]
        return (c["kind"], MODE_ORDER.index(plain)
                if plain in MODE_ORDER else 99, c["mode"], c["socket"])
    return sorted(cells.values(), key=key)


def fmt(value, pattern):
    return "-" if value is None else pattern % value


def print_table(rows, big):
    head = ("message", "mode", "socket", "msg/s", "range", "cpu ms/msg",
            "peak RSS MB", "vs none", "vs pass", "vs floor", "inet/unix",
            "host ms/msg", "busy", "cpu vs pass")
    print("%-11s %-15s %-6s %8s %13s %10s %11s %7s %7s %19s %9s %11s %5s %11s"
          % head)
    for c in rows:
        rss = c["milter_peak_rss_kb"]
        floor = ("%.2f (%s)" % (c["ratio_to_floor"], c["floor"])
                 if c["ratio_to_floor"] is not None else "-")
        print("%-11s %-15s %-6s %8.0f %13s %10s %11s %7s %7s %19s %9s %11s "
              "%5s %11s" % (
                  c["kind"], c["mode"], c["socket"], c["msgs_per_s"],
                  "%.0f-%.0f" % (c["msgs_per_s_min"], c["msgs_per_s_max"]),
                  fmt(c["milter_cpu_ms_per_msg"], "%.2f"),
                  fmt(rss / 1024 if rss else None, "%.1f"),
                  fmt(c["ratio_to_no_milter"], "%.2f"),
                  fmt(c["ratio_to_pass"], "%.2f"), floor,
                  fmt(c["ratio_inet_to_unix"], "%.2f"),
                  fmt(c["machine_cpu_ms_per_msg"], "%.2f"),
                  fmt(c["machine_busy"], "%.2f"),
                  fmt(c["cpu_ratio_to_pass"], "%.2f")))
    if big:
        print("big message: %(bytes)d bytes signed; milter peak RSS "
              "%(rss_after_kb)d kB (%(rss_before_kb)d kB before it)" % big)


def goals(cells):
    """Each goal that this run's cells can judge: its ratio and whether
    it was met."""
    out = []
    kinds = sorted({k for (k, _, _) in cells})
    for kind in kinds:
        for mode, floor, least in GOALS:
            for sock in ("unix", "inet"):
                c = cells.get((kind, mode, sock))
                if c and c.get("floor") == floor:
                    out.append({"goal": "%s/%s" % (mode, floor),
                                "kind": kind, "socket": sock,
                                "ratio": c["ratio_to_floor"],
                                "least": least,
                                "met": c["ratio_to_floor"] >= least})
        for mode, inproc, least in KEY_PROCESS_GOALS:
            for sock in ("unix", "inet"):
                c, base = (cells.get((kind, mode, sock)),
                           cells.get((kind, inproc, sock)))
                if c and base:
                    ratio = round(c["msgs_per_s"] / base["msgs_per_s"], 3)
                    out.append({"goal": "%s/%s" % (mode, inproc),
                                "kind": kind, "socket": sock,
                                "ratio": ratio, "least": least,
                                "met": ratio >= least})
        for (k, mode, sock), c in sorted(cells.items()):
            if k == kind and sock == "inet" and "@" not in mode and \
                    c["ratio_inet_to_unix"] is not None:
                out.append({"goal": "%s inet/unix" % mode, "kind": kind,
                            "socket": "inet",
                            "ratio": c["ratio_inet_to_unix"],
                            "least": INET_GOAL,
                            "met": c["ratio_inet_to_unix"] >= INET_GOAL})
    return out


def print_bases(rows):
    """With --compare: each mode against the other build (MODE@base)."""
    lines = [c for c in rows if c.get("ratio_to_base") is not None]
    if not lines:
        return
    print("this build against the base build (--compare), msg/s and "
          "milter CPU ms/msg:")
    for c in lines:
        print("  %-11s %-10s %-5s %5.2f  %s vs %s ms/msg" % (
            c["kind"], c["mode"], c["socket"], c["ratio_to_base"],
            fmt(c["milter_cpu_ms_per_msg"], "%.2f"),
            fmt(c.get("base_cpu_ms_per_msg"), "%.2f")))


def print_goals(judged):
    if not judged:
        return
    print("goals (ratio of medians in this run, least wanted):")
    for g in judged:
        print("  %-11s %-24s %-5s %5.2f >= %.2f  %s" % (
            g["kind"], g["goal"], g["socket"], g["ratio"], g["least"],
            "met" if g["met"] else "NOT met"))


def read_big(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        size, nbytes, before, after = f.read().split()
    return {"size": size, "bytes": int(nbytes), "rss_before_kb": int(before),
            "rss_after_kb": int(after)}


def chart(rows, png):
    """A bar chart of messages/s per mode and socket, one group per kind."""
    if shutil.which("gnuplot") is None:
        print("(no gnuplot: chart skipped; apt-get install gnuplot-nox)",
              file=sys.stderr)
        return None
    data = png[:-4] + ".dat"
    with open(data, "w") as f:
        for c in rows:
            f.write('"%s %s %s" %.1f\n' % (c["kind"], c["mode"],
                                           c["socket"], c["msgs_per_s"]))
    script = (
        'set terminal pngcairo size 1400,600\n'
        'set output "%s"\nset style fill solid\nset boxwidth 0.8\n'
        'set ylabel "messages/s"\nset xtics rotate by -60 font ",8"\n'
        'set grid ytics\nset yrange [0:*]\nunset key\n'
        'plot "%s" using 0:2:xtic(1) with boxes\n' % (png, data))
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    os.unlink(data)
    return png


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--big")
    ap.add_argument("--out", default="-")
    ap.add_argument("--chart", default="1")
    ap.add_argument("--meta", nargs="*", default=[])
    args = ap.parse_args()
    cells = read_runs(args.tsv) if os.path.exists(args.tsv) else {}
    for cell in cells.values():
        summarize(cell)
    add_ratios(cells)
    rows = ordered(cells)
    big = read_big(args.big)
    print_table(rows, big)
    print_bases(rows)
    judged = goals(cells)
    print_goals(judged)
    if args.out == "-":
        return
    meta = dict(kv.split("=", 1) for kv in args.meta)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "results": rows, "goals": judged,
                   "big_message": big}, f,
                  indent=1)
        f.write("\n")
    print("JSON: %s" % args.out)
    if args.chart == "1" and rows and args.out.endswith(".json"):
        png = chart(rows, args.out[:-5] + ".png")
        if png:
            print("chart: %s" % png)


if __name__ == "__main__":
    main()
