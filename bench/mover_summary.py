#!/usr/bin/env python3
"""Tables for bench/run.sh's page-mover scenarios (shift, movelat).

usage: mover_summary.py RESULTS.jsonl SCENARIOS [SELF(0|1)]

shift: one row per 10 s window, medians over rounds: hit ratio of both servers, evictions, slabs
moved so far, pages holding the large values, get p99 and max. Target: mcd's hit ratio at least
memcached's in every window.
movelat: per server and phase (idle: no page moves; moving: `slabs reassign A 0` at a fixed
pace), medians over rounds of get p50/p99/max, requests/s and the pages moved in the window; set
p99/max too when the run mixed in sets.
"""
import json
import statistics
import sys

SERVERS = ("mcd", "memcached")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def fmt(x, d=0):
    return "n/a" if x != x else f"{x:,.{d}f}"


def srv(w, key):
    s = w.get("srv") or {}
    return s.get(key)


def big_pages(w, value_size):
    """Pages of the classes whose chunks can hold a value of value_size bytes."""
    pages = w.get("pages") or {}
    return sum(p for c, p in pages.items() if int(c) >= value_size)


def shift(rows, verdicts):
    runs = {s: [r for r in rows if r["scenario"] == "shift" and r["server"] == s] for s in SERVERS}
    if not runs["mcd"] or not runs["memcached"]:
        missing = [s for s in SERVERS if not runs[s]]
        print(f"shift: no results for {', '.join(missing)}")
        verdicts.append(("shift: measured", False, "no results"))
        return
    nwin = min(len(r["windows"]) for s in SERVERS for r in runs[s])
    value_size = runs["mcd"][0]["value_size"]
    nrounds = {s: len(runs[s]) for s in SERVERS}

    def col(s, i, fn):
        return med([fn(r["windows"][i]) for r in runs[s]])

    print(f"\nshift: {value_size} B read-through under Zipf after a 100 B fill "
          f"(medians over {nrounds['mcd']}/{nrounds['memcached']} rounds; m = mcd, M = memcached)")
    print("| window | hit m | hit M | m >= M | evictions m | evictions M | slabs_moved m | "
          f"slabs_moved M | {value_size} B pages m | pages M | get p99/max ms m | get p99/max ms M |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    all_ok = True
    for i in range(nwin):
        h = {s: col(s, i, lambda w: w["hit_ratio"]) for s in SERVERS}
        ev = {s: col(s, i, lambda w: srv(w, "evictions")) for s in SERVERS}
        mv = {s: col(s, i, lambda w: srv(w, "slabs_moved_total")) for s in SERVERS}
        pg = {s: col(s, i, lambda w: big_pages(w, value_size)) for s in SERVERS}
        p99 = {s: col(s, i, lambda w: w["get_p99_us"]) / 1000 for s in SERVERS}
        mx = {s: col(s, i, lambda w: w["get_max_us"]) / 1000 for s in SERVERS}
        ok = h["mcd"] >= h["memcached"]
        all_ok = all_ok and ok
        end = runs["mcd"][0]["windows"][i]["end_s"]
        print(f"| {i + 1} (to {end:.0f} s) | {100 * h['mcd']:.1f}% | {100 * h['memcached']:.1f}% | "
              f"{'yes' if ok else 'NO'} | {fmt(ev['mcd'])} | {fmt(ev['memcached'])} | "
              f"{fmt(mv['mcd'])} | {fmt(mv['memcached'])} | {fmt(pg['mcd'])} | "
              f"{fmt(pg['memcached'])} | {p99['mcd']:.1f} / {mx['mcd']:.1f} | "
              f"{p99['memcached']:.1f} / {mx['memcached']:.1f} |")
        verdicts.append((f"shift window {i + 1}: hit ratio mcd >= memcached", ok,
                         f"{100 * h['mcd']:.1f}% vs {100 * h['memcached']:.1f}%"))
    for s in SERVERS:
        rs = runs[s]
        print(f"{s}: whole run hit ratio {100 * med([r['hit_ratio'] for r in rs]):.1f}%, "
              f"{fmt(med([r['ops_per_s'] for r in rs]))} requests/s "
              f"({fmt(med([1e6 * r['server_cpu_s'] / r['requests'] for r in rs if r.get('server_cpu_s') is not None and r['requests']]), 1)} µs server CPU each), "
              f"evictions during the fill {fmt(med([r.get('fill_evictions') for r in rs]))}, "
              f"errors {sum(r['errors'] for r in rs)}")
    verdicts.append(("shift: hit ratio mcd >= memcached in every window", all_ok, ""))


def movelat(rows, verdicts):
    sel = [r for r in rows if r["scenario"] == "movelat"]
    if not sel:
        print("movelat: no results")
        verdicts.append(("movelat: measured", False, "no results"))
        return
    nr = len({r["round"] for r in sel})
    with_sets = any(r["sets"] > 0 for r in sel)
    print(f"\nmovelat: requests on a hot set, no page moving (idle) vs `slabs reassign A 0` "
          f"(moving); medians over {nr} rounds")
    print("| server | phase | requests/s | get p50 µs | get p99 µs | get max µs | "
          + ("set p99 µs | set max µs | " if with_sets else "")
          + "hit ratio | pages moved | rescues | srv CPU µs/req |")
    print("|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if with_sets else ""))
    p99 = {}
    for s in SERVERS:
        for phase in ("idle", "moving"):
            rs = [r for r in sel if r["server"] == s and r["phase"] == phase]
            if not rs:
                continue
            cpu = med([1e6 * r["server_cpu_s"] / (r["ops_per_s"] * (r["window_s"] + 1))
                       for r in rs if r["ops_per_s"] > 0])
            p99[(s, phase)] = med([r["get_p99_us"] for r in rs])
            print(f"| {s} | {phase} | {fmt(med([r['ops_per_s'] for r in rs]))} | "
                  f"{fmt(med([r['get_p50_us'] for r in rs]))} | {fmt(p99[(s, phase)])} | "
                  f"{fmt(med([r['get_max_us'] for r in rs]))} | "
                  + (f"{fmt(med([r.get('set_p99_us') for r in rs]))} | "
                     f"{fmt(med([r.get('set_max_us') for r in rs]))} | " if with_sets else "")
                  + f"{med([r['hit_ratio'] for r in rs]):.4f} | "
                  f"{fmt(med([srv(r, 'slabs_moved') for r in rs]))} | "
                  f"{fmt(med([srv(r, 'slab_reassign_rescues') for r in rs]))} | {fmt(cpu, 1)} |")
    for s in SERVERS:
        if (s, "idle") in p99 and (s, "moving") in p99 and p99[(s, "idle")]:
            print(f"{s}: p99 moving / idle = {p99[(s, 'moving')] / p99[(s, 'idle')]:.2f}")
    refused = sum(r.get("reassign_other", 0) for r in sel)
    if refused:
        print(f"note: {refused} reassign requests were refused (see loadgen.err)")
    errs = sum(r["errors"] for r in sel)
    if errs:
        verdicts.append(("movelat: no errors", False, str(errs)))


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    rows = [r for r in rows if not r.get("failed")]
    wanted = sys.argv[2].split(",")
    self_cmp = len(sys.argv) > 3 and sys.argv[3] == "1"
    verdicts = []
    if "shift" in wanted:
        shift(rows, verdicts)
    if "movelat" in wanted:
        movelat(rows, verdicts)
    if verdicts:
        print()
        print("targets" + (" (compare-self: both sides are memcached)" if self_cmp else "") + ":")
        for name, ok, val in verdicts:
            print(f"  {'PASS' if ok else 'MISS'}  {name}" + (f"  ({val})" if val else ""))


if __name__ == "__main__":
    main()
