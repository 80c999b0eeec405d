#!/usr/bin/env python3
"""Writes target/bench/REPORT.md from the raw data scripts/bench.sh collected."""
import datetime
import json
import os
import platform
import subprocess
import sys

out = sys.argv[1]


def read(name):
    with open(os.path.join(out, name)) as f:
        return f.read()


def load(name):
    return json.loads(read(name))


def kb(n):
    return f"{n / 1000:.1f} kB"


wire = load("wire.json")
cold, navigation = wire["cold"], wire["navigation"]


def oha_figures(name):
    path = os.path.join(out, f"oha-{name}.json")
    if not os.path.exists(path):
        return None
    o = json.load(open(path))
    return {
        "rps": o["summary"]["requestsPerSec"],
        "p50": o["latencyPercentiles"]["p50"] * 1000,
        "p90": o["latencyPercentiles"]["p90"] * 1000,
        "p99": o["latencyPercentiles"]["p99"] * 1000,
        "success": o["summary"]["successRate"],
        "statuses": o.get("statusCodeDistribution", {}),
    }


page, server_fn, baseline = oha_figures("page"), oha_figures("server-fn"), oha_figures("baseline-page")
rss_samples = [int(x) for x in read("rss-samples.txt").split() if x.strip().isdigit()]
rss_peak_kib = max(rss_samples) if rss_samples else 0
vmhwm_kib = int(read("vmhwm.txt").strip() or 0)
before, after = load("idp-before.json"), load("idp-after.json")
server_calls = ["discovery", "jwks", "authorization_code_grants", "refresh_token_grants", "userinfo"]
delta = {k: after[k] - before[k] for k in after}
calls_per_sign_in = sum(delta[k] for k in server_calls) / 10
session_memory = dict(line.split("=", 1) for line in read("session-memory.txt").split() if "=" in line)
bytes_per_session = float(session_memory["bytes_per_session"])
crit = {}
for name in ["current_session_fresh_token", "no_session_cookie"]:
    path = f"target/criterion/auth_overhead_{name}/new/estimates.json"
    with open(path) as f:
        crit[name] = json.load(f)["median"]["point_estimate"]

rps, p50, p99 = page["rps"], page["p50"], page["p99"]
client_gzip = cold["/client-profile gzip"]["js_plus_wasm"]
worst_gzip = max(v["js_plus_wasm"] for k, v in cold.items() if k.endswith("gzip"))


def crates():
    """Code and data of the wasm by crate, from twiggy's CSV."""
    import collections
    import csv
    import re

    sizes = collections.Counter()
    with open(os.path.join(out, "twiggy.csv")) as f:
        for row in csv.DictReader(f):
            name, size = row["Name"], int(row["ShallowSize"])
            if "function names" in name or "custom section" in name:
                continue
            found = re.findall(r"(?:^|[<\s&(,])(?:mut )?([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::", name)
            sizes[found[0] if found else ("static data" if "data segment" in name else "other")] += size
    total = sum(sizes.values())
    rows = [f"| {name} | {size:,} B | {100 * size / total:.1f} % |" for name, size in sizes.most_common(12)]
    return [f"By crate ({total:,} B of code and data before wasm-opt):", "", "| crate | bytes | share |", "|---|---|---|"] + rows


def verdict(ok):
    return "**met**" if ok else "**not met**"


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip()

rows = [
    ("gzip JS+wasm of a cold load of /client-profile (Chromium's count)", "138–141 kB", "≤ 100 kB",
     kb(client_gzip), client_gzip <= 100_000),
    ("… of the heaviest route, cold", "138–141 kB", "< 140 kB", kb(worst_gzip), worst_gzip < 140_000),
    ("GET /server-profile, signed in, c=32, 15 s: throughput", "58 req/s", "≥ 1 160 req/s (20×)",
     f"{rps:,.0f} req/s", rps >= 1160),
    ("… p50 / p99 latency", "542 / 961 ms", "p99 ≤ 48 ms", f"{p50:.1f} / {p99:.1f} ms", p99 <= 48),
    ("peak RSS of the server during that load", "393 MiB", "≤ 39 MiB",
     f"{rss_peak_kib / 1024:.1f} MiB (lifetime peak {vmhwm_kib / 1024:.1f} MiB)", vmhwm_kib / 1024 <= 39),
    ("IdP calls per sign-in after warm-up", "—", "exactly 1 (token)",
     f"{calls_per_sign_in:g} ({', '.join(f'{k} {delta[k]}' for k in server_calls)} over 10 sign-ins)",
     calls_per_sign_in == 1 and delta["authorization_code_grants"] == 10),
    ("memory per held session (memory store, 100 000 sessions)", "—", "≤ 2 KiB",
     f"{bytes_per_session:,.0f} B", bytes_per_session <= 2048),
]
if baseline:
    rows.insert(4, ("GET /server-profile vs the baseline build, same run", "—", "within 10 %",
                    f"{rps / baseline['rps'] * 100 - 100:+.1f} % req/s, p99 {p99 / baseline['p99'] * 100 - 100:+.1f} %",
                    rps >= 0.9 * baseline["rps"] and p99 <= 1.1 * baseline["p99"]))


def route_rows(table, keys):
    lines = ["| | JS+wasm gzip | JS+wasm brotli | JS+wasm raw | everything (gzip) | requests |", "|---|---|---|---|---|---|"]
    for key in keys:
        g, b = table[f"{key} gzip"], table[f"{key} br"]
        lines.append(f"| `{key}` | {kb(g['js_plus_wasm'])} | {kb(b['js_plus_wasm'])} | {kb(g['js_plus_wasm_raw'])} | "
                     f"{kb(g['total'])} | {len(g['files'])} |")
    return lines


def file_list(entry):
    return ", ".join(f"`{f['url']}` {kb(f['bytes'])}" for f in entry["files"])


def load_lines(title, figures):
    if not figures:
        return []
    return [f"- {title}: {figures['rps']:,.1f} req/s; p50 {figures['p50']:.2f} ms, p90 {figures['p90']:.2f} ms, "
            f"p99 {figures['p99']:.2f} ms; success {figures['success'] * 100:.2f} %; statuses {figures['statuses']}"]


lines = [
    "# asgardeo-leptos benchmark report",
    "",
    f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    f"- machine: {os.cpu_count()} CPUs (`nproc`), {cpu}, {platform.system()} {platform.release()}",
    f"- commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
    "- command: `make bench` (scripts/bench.sh; raw data in target/bench/)",
    "- everything on loopback on this one machine: server, built-in development IdP, load generator, Chromium",
    "",
    "| figure | Next.js + Auth.js | goal | asgardeo-leptos | |",
    "|---|---|---|---|---|",
] + [f"| {a} | {b} | {c} | {d} | {verdict(e)} |" for a, b, c, d, e in rows] + [
    "",
    "## 1. Bytes over the wire (Chromium)",
    "",
    "Counted by Chromium's DevTools protocol: the encoded length of each response of the app's",
    "origin (headers included), once with `Accept-Encoding: gzip` and once with `br`; raw is the",
    "decoded length. Static files are precompressed (zopfli, brotli -q 11). The wasm is split: the",
    "main module (router, hydration, auth context) plus one chunk set per lazy route.",
    "",
    "### Cold load of each route (empty cache, until hydrated)",
    "",
] + route_rows(cold, ["/ (signed out)", "/", "/client-profile", "/server-profile"]) + [
    "",
    f"- `/client-profile`, gzip: {file_list(cold['/client-profile gzip'])}",
    "",
    "### What each client-side navigation adds (from a cold `/`, cache on)",
    "",
] + route_rows(navigation, ["/ → /client-profile", "/client-profile → /", "/ → /server-profile", "/server-profile → /"]) + [
    "",
    f"- `/ → /server-profile`, gzip: {file_list(navigation['/ → /server-profile gzip'])}",
    "",
    "### The files (raw / gzip / brotli bytes on disk)",
    "",
    "```",
    read("files.txt").rstrip(),
    "```",
    "",
    "Largest contributors to the main wasm module (twiggy, on its wasm-bindgen output, before wasm-opt):",
    "",
] + crates() + [
    "",
    "Largest items:",
    "",
    "```",
    read("twiggy.txt").rstrip(),
    "```",
    "",
    "## 2–3. Load: GET /server-profile and the server function",
    "",
    "`oha -z 15s -c 32` with a signed-in session cookie after a 3 s warm-up; each request renders",
    "the page on the server (or runs the server function) and calls the development IdP's",
    "scim2/Me over HTTP.",
    "",
] + load_lines("GET /server-profile (server-rendered page)", page) + load_lines(
    "POST /api/server_profile (the server function, as the browser calls it on a client-side navigation)", server_fn
) + (load_lines(f"baseline ({read('baseline-commit.txt').strip()}), GET /server-profile, run just before", baseline) if baseline else []) + [
    f"- server RSS, sampled every 100 ms during the page load: peak {rss_peak_kib / 1024:.1f} MiB; "
    f"VmHWM (peak over the whole process life) {vmhwm_kib / 1024:.1f} MiB. The server process "
    "includes the built-in development IdP.",
    "",
    "## 4. Memory per held session",
    "",
    f"`cargo run --release -p server --example session_memory 100000`: resident memory grew by "
    f"{int(session_memory['resident_growth_bytes']) / 1048576:.1f} MiB for {session_memory['sessions']} "
    f"signed-in sessions: **{bytes_per_session:,.0f} bytes each**, tokens included (a 958-byte ID "
    "token, kept for `id_token_hint`, is most of it).",
    "",
    "## 5. IdP calls per sign-in",
    "",
    "After one warm-up sign-in (discovery and JWKS are fetched once at start-up and cached), 10",
    f"sign-ins made these calls from the server to the IdP: {', '.join(f'{k} {delta[k]}' for k in server_calls)}.",
    f"Browser-facing requests in the same window: authorize {delta['authorize']}, logins {delta['logins']}.",
    "",
    "## 6. Per-request auth overhead (criterion)",
    "",
    "`cargo bench -p server --bench auth_overhead`: `AuthService::current`, as every handler calls",
    "it — session looked up in the memory store (10 001 sessions) and decoded, lifetimes,",
    "back-channel logout mark and token freshness checked.",
    "",
    f"- signed-in session, fresh token: median {crit['current_session_fresh_token'] / 1000:.2f} µs",
    f"- no session cookie: median {crit['no_session_cookie']:.0f} ns",
    "",
]
def flood_lines():
    """Section 7: floods and slow clients, for this build and the baseline when there is one."""
    result = []
    for name, title in [("baseline", "baseline"), ("current", "this build")]:
        flood, slow = oha_figures(f"{name}-c1000"), oha_figures(f"{name}-slow")
        if not flood:
            continue
        def peak(file):
            samples = [int(x) for x in read(file).split() if x.strip().isdigit()]
            return max(samples) / 1024 if samples else 0
        heads = json.loads(read(f"slow-heads-{name}.json"))
        held = sorted(heads["open_each_second"])
        result += [
            f"- {title}, GET /server-profile at c=1000 for 10 s: {flood['rps']:,.0f} req/s, "
            f"p50 {flood['p50']:.1f} ms, p99 {flood['p99']:.1f} ms, statuses {flood['statuses']}, "
            f"peak RSS {peak(f'rss-{name}-c1000.txt'):.1f} MiB",
            f"- {title}, c=32 while 1000 slow request heads are held (reopened when closed): "
            f"{slow['rps']:,.0f} req/s, p50 {slow['p50']:.1f} ms, p99 {slow['p99']:.1f} ms, statuses "
            f"{slow['statuses']}, peak RSS {peak(f'rss-{name}-slow.txt'):.1f} MiB; slow heads the "
            f"attacker held open, median over its {heads['seconds']:.0f} s: {held[len(held) // 2] if held else 0}; "
            f"closed by the server: {heads['closed']} (median after "
            f"{(heads['closed_after_p50'] or 0):.1f} s)",
        ]
    return result


lines += [
    "## 7. Floods and slow clients",
    "",
    "`oha -z 10s -c 1000` on GET /server-profile, signed in; then `scripts/slow_heads.py` holds",
    "1000 connections that each send part of a request head and never the rest (reopening any",
    "the server closes) while `oha -c 32` loads the page. RSS sampled every 100 ms.",
    "",
] + flood_lines() + [""]
with open(os.path.join(out, "REPORT.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
