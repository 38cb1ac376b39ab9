"""Tributary's benchmarks in one invocation: ingest against lemon24/reader, parsing against
Python feedparser, serving at 1M items with wrk, the ActivityPub fan-out against its target,
and memory. Sides are interleaved
(A B A B ...) for ROUNDS rounds and compared by their medians in this one run.

Started by `bench/run`, which builds the release binaries and the Python venv first.
Writes a markdown table to stdout and to RESULTS (default target/bench/results.md).
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import http.cookiejar
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
GEN_FEEDS = os.path.join(os.path.dirname(ROOT), "shared", "bench", "gen_feeds.py")
# Bump when gen-db changes what it writes, so a cached database is made again.
GEN_DB_VERSION = "2"


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def run_json(cmd, **kw):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, **kw).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def median(values):
    return statistics.median(values)


class Proc:
    """A background server that prints a line starting with `ready` once it listens."""

    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.p.stdout.readline().decode()
        if not line.startswith("ready"):
            raise SystemExit("bench: %s did not start: %r" % (cmd[0], line))

    def peak_rss_kb(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def corpus(work, feeds, name):
    path = os.path.join(work, name)
    if not os.path.exists(os.path.join(path, "manifest.tsv")):
        log("generating %d feeds in %s" % (feeds, path))
        # Into a scratch directory first, so an interrupted run leaves no half corpus.
        part = path + ".part"
        shutil.rmtree(part, ignore_errors=True)
        subprocess.run([sys.executable, GEN_FEEDS, "--out", part, "--feeds", str(feeds),
                        "--seed", "42"], check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(path, ignore_errors=True)
        os.rename(part, path)
    return path


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url):
    urllib.request.urlopen(urllib.request.Request(url, method="POST")).read()


def get_json(url):
    return json.loads(urllib.request.urlopen(url).read())


# ---------------------------------------------------------------- ingest (E1 E2 E3, P1, memory)

def ingest(args, work, bench_bin, python):
    feeds_dir = corpus(work, args.feeds, "corpus")
    port = free_port()
    hosts = ["http://127.0.0.%d:%d" % (n, port) for n in range(1, args.hosts + 1)]
    server = Proc([bench_bin, "serve-corpus", feeds_dir]
                  + sum((["--listen", h[len("http://"):]] for h in hosts), []))
    bump = hosts[0] + "/_bump"
    names = [line.split("\t")[0] for line in open(os.path.join(feeds_dir, "manifest.tsv"))][1:]
    urls_file = os.path.join(work, "urls.txt")
    with open(urls_file, "w") as f:
        for i, name in enumerate(names[:args.feeds]):
            f.write("%s/%s\n" % (hosts[i % len(hosts)], name))
    results = {"ours": [], "reader": []}
    conditional = {"ours": [], "reader": []}
    try:
        for r in range(args.rounds):
            for side in ("ours", "reader"):
                tmp = tempfile.mkdtemp(dir=work)
                post(hosts[0] + "/_stats/reset")
                if side == "ours":
                    cmd = [bench_bin, "ingest", feeds_dir, "--db", os.path.join(tmp, "t.db"),
                           "--feeds", str(args.feeds), "--bump", bump]
                    cmd += sum((["--host", h] for h in hosts), [])
                else:
                    cmd = [python, os.path.join(BENCH, "reader_side.py"),
                           os.path.join(tmp, "r.sqlite"), urls_file, bump]
                res = run_json(cmd)
                stats = get_json(hosts[0] + "/_stats")
                conditional[side].append(stats)
                shutil.rmtree(tmp)
                log("round %d %s: E1 %.2fs E2 %.3fs E3 %.2fs (%d items)"
                    % (r + 1, side, res["e1_s"], res["e2_s"], res["e3_s"], res["items"]))
                results[side].append(res)
    finally:
        server.stop()

    parse = {"ours": [], "feedparser": []}
    for r in range(args.rounds):
        ours = run_json([bench_bin, "parse", feeds_dir, "--feeds", str(args.parse_feeds),
                         "--reps", "1"])
        parse["ours"].append(ours["items_per_s"][0])
        peer = run_json([python, os.path.join(BENCH, "feedparser_side.py"), feeds_dir,
                         str(args.parse_feeds), "1"])
        parse["feedparser"].append(peer["items_per_s"][0])
        log("round %d P1: ours %.0f items/s, feedparser %.0f items/s"
            % (r + 1, parse["ours"][-1], parse["feedparser"][-1]))

    # Peak memory while ingesting about 100k items (a larger corpus, one pass of ours).
    big_dir = corpus(work, args.memory_feeds, "corpus-100k")
    port = free_port()
    big_host = "http://127.0.0.1:%d" % port
    server = Proc([bench_bin, "serve-corpus", big_dir, "--listen", "127.0.0.1:%d" % port])
    try:
        tmp = tempfile.mkdtemp(dir=work)
        mem = run_json([bench_bin, "ingest", big_dir, "--db", os.path.join(tmp, "m.db"),
                        "--feeds", str(args.memory_feeds), "--host", big_host])
        shutil.rmtree(tmp)
    finally:
        server.stop()
    log("memory: %d items ingested, peak RSS %d MB" % (mem["items"], mem["peak_rss_kb"] // 1024))
    return results, conditional, parse, mem


# ---------------------------------------------------------------- serving (1M items)

WRK_LUA = """
local prefix = os.getenv("BENCH_PREFIX") or "/"
local suffix = os.getenv("BENCH_SUFFIX") or ""
local lo = tonumber(os.getenv("BENCH_LO") or "0")
local hi = tonumber(os.getenv("BENCH_HI") or "-1")
math.randomseed(os.time())
request = function()
  if hi < lo then return wrk.format("GET", prefix) end
  return wrk.format("GET", prefix .. math.random(lo, hi) .. suffix)
end
"""


def wrk(url, seconds, env, lua, connections):
    out = subprocess.run(
        ["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s", lua, url],
        check=True, stdout=subprocess.PIPE, env=dict(os.environ, **env)).stdout.decode()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(pct):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit("bench: %s answered %s errors" % (url, non2xx.group(1)))
    return {"rps": rps, "p50": lat(50), "p99": lat(99)}


def drop_file_cache(path):
    # GNU dd's nocache flag asks the kernel to drop the file's pages (posix_fadvise).
    for p in (path, path + "-wal"):
        if os.path.exists(p):
            subprocess.run(["dd", "if=" + p, "iflag=nocache", "count=0", "status=none"],
                           check=False)
            subprocess.run(["dd", "of=" + p, "oflag=nocache", "conv=notrunc,fdatasync",
                            "count=0", "status=none"], check=False)


# S1's query shapes: (name, path, (the ceiling's FTS5 expression, its source kind)). The
# generated items draw on a vocabulary of about thirty words, so each of these matches a
# large share of the million items: the common-word case.
SEARCHES = [
    ("/search one common word", "/search?q=coffee", ('"coffee"', None)),
    ("/search two words", "/search?q=garden+river", ('"garden" "river"', None)),
    ("/search phrase and service:", "/search?q=%22coffee+garden%22+service%3Afeed",
     ('"coffee garden"', "feed")),
]


# `tributary-bench serve` gives user0 and user1 this password (bench/serve.rs).
BENCH_PASSWORD = "bench-password"


def logged_in_bytes(base, name, path):
    """The bytes of `path` as `name` sees it after logging in through the login form."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = opener.open(base + "/login").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    form = urllib.parse.urlencode(
        {"csrf": csrf, "name": name, "password": BENCH_PASSWORD}).encode()
    opener.open(base + "/login", data=form).read()
    page = opener.open(base + path).read()
    if b'action="/logout"' not in page:
        raise RuntimeError("the login as %s did not hold" % name)
    return len(page)


def serving(args, work, bench_bin):
    db = os.path.join(work, "instance-%dk-v%s.db" % (args.items // 1000, GEN_DB_VERSION))
    if not os.path.exists(db):
        log("generating a database with %d items for %d users" % (args.items, args.users))
        subprocess.run([bench_bin, "gen-db", "--db", db + ".part", "--users", str(args.users),
                        "--items", str(args.items)], check=True)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + ".part" + suffix):
                os.rename(db + ".part" + suffix, db + suffix)
    lua = os.path.join(work, "random.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    port = free_port()
    base = "http://127.0.0.1:%d" % port

    def start(prepared=True):
        # `--users` is how many lifestreams the server holds in memory for the render
        # ceiling. Cold runs do not use them, and loading them would read those users'
        # pages back into the file cache before the cold measurement.
        return Proc([bench_bin, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port,
                     "--users", str(args.users if prepared else 0)])

    server = start()
    home = urllib.request.urlopen(base + "/user0").read().decode()
    # What one page weighs as sent without compression (no Accept-Encoding here).
    page_bytes = {
        "anonymous": len(home.encode()),
        "owner": logged_in_bytes(base, "user0", "/user0"),
        "another user": logged_in_bytes(base, "user1", "/user0"),
    }
    static = re.search(r'href="(/static/[^"]+\.css)"', home).group(1)
    max_item = args.items
    routes = [
        ("static route (framework ceiling)", {"BENCH_PREFIX": static}),
        ("lifestream from memory (render ceiling)",
         {"BENCH_PREFIX": "/_bench/mem/user", "BENCH_LO": "0", "BENCH_HI": str(args.users - 1)}),
        ("/{user} from the database",
         {"BENCH_PREFIX": "/user", "BENCH_LO": "0", "BENCH_HI": str(args.users - 1)}),
        ("/e/{id}", {"BENCH_PREFIX": "/e/", "BENCH_LO": "1", "BENCH_HI": str(max_item)}),
        ("/{user}/feed.atom",
         {"BENCH_PREFIX": "/user", "BENCH_SUFFIX": "/feed.atom", "BENCH_LO": "0",
          "BENCH_HI": str(args.users - 1)}),
        ("/{user}/friends",
         {"BENCH_PREFIX": "/user", "BENCH_SUFFIX": "/friends", "BENCH_LO": "0",
          "BENCH_HI": str(args.users - 1)}),
    ]
    # S1: search pages, each against the raw FTS5 query on the same database in a plain
    # rusqlite loop (`tributary-bench search-ceiling`), run right after it in each round.
    # Each shape twice: as served to anonymous visitors, where the same query again comes
    # from the page cache until something is stored; and with a parameter the search
    # ignores (`n`) made new for every request, so that each one runs the query and renders.
    searches = []
    for name, path, ceiling in SEARCHES:
        searches.append((name, [
            (name + " (page cache)", {"BENCH_PREFIX": path}),
            (name + " (every request searched)",
             {"BENCH_PREFIX": path + "&n=", "BENCH_LO": "0", "BENCH_HI": "999999999"}),
        ], ceiling))
    search_rows = [row for _, rows, _ in searches for row in rows]
    warm = {name: [] for name, _ in routes + search_rows}
    ceilings = {name: [] for name, _, _ in searches}
    cold = {}
    try:
        log("warming the database file into the page cache")
        with open(db, "rb") as f:
            while f.read(1 << 24):
                pass
        for name, env in routes:
            wrk(base, 1, env, lua, args.connections)
        for r in range(args.rounds):
            for name, env in routes:
                res = wrk(base, args.seconds, env, lua, args.connections)
                warm[name].append(res)
                log("round %d %s: %.0f req/s p50 %.2f ms p99 %.2f ms"
                    % (r + 1, name, res["rps"], res["p50"], res["p99"]))
        # The searches' rounds come after the routes': a search made new on every request
        # fills the page cache and pushes the lifestream pages out of it.
        for name, env in search_rows:
            wrk(base, 1, env, lua, args.connections)
        for r in range(args.rounds):
            for shape, rows, (expression, kind) in searches:
                for name, env in rows:
                    res = wrk(base, args.seconds, env, lua, args.connections)
                    warm[name].append(res)
                    log("round %d %s: %.0f req/s p50 %.2f ms p99 %.2f ms"
                        % (r + 1, name, res["rps"], res["p50"], res["p99"]))
                cmd = [bench_bin, "search-ceiling", "--db", db, "--expression", expression,
                       "--seconds", str(args.seconds), "--threads", "2"]
                if kind:
                    cmd += ["--kind", kind]
                top = run_json(cmd)
                ceilings[shape].append(top)
                log("round %d %s: raw FTS5 %.0f q/s p99 %.2f ms"
                    % (r + 1, shape, top["rps"], top["p99"]))
        serve_rss = server.peak_rss_kb()
        server.stop()
        for name, env in routes[2:6]:
            drop_file_cache(db)
            server = start(prepared=False)
            res = wrk(base, args.cold_seconds, env, lua, args.connections)
            cold[name] = res
            log("cold %s: %.0f req/s p50 %.2f ms p99 %.2f ms"
                % (name, res["rps"], res["p50"], res["p99"]))
            serve_rss = max(serve_rss, server.peak_rss_kb())
            server.stop()
        server = None
    finally:
        if server:
            server.stop()
    return (routes, warm, cold, serve_rss, os.path.getsize(db), page_bytes,
            [(shape, [name for name, _ in rows]) for shape, rows, _ in searches], ceilings)


# ---------------------------------------------------------------- fan-out (F1)

def fanout(args, bench_bin):
    """One `tributary-bench fanout` per round (it starts its own inbox sink); no peer, so
    the rounds are not interleaved with anything."""
    runs = []
    for r in range(args.rounds):
        res = run_json([bench_bin, "fanout", "--followers", str(args.fanout_followers),
                        "--inboxes", str(args.fanout_inboxes)])
        log("round %d F1: %d of %d inboxes in %.2f s (%.0f deliveries/s), peak RSS %.0f MB, "
            "%d failures" % (r + 1, res["deliveries"], res["inboxes"], res["seconds"],
                             res["deliveries_per_sec"], res["peak_rss_mb"], res["failures"]))
        runs.append(res)
    return runs


# ---------------------------------------------------------------- live updates (L1)

def events(args, bench_bin):
    """L1: one `tributary-bench events` per round (it starts its own `events-serve`, whose
    peak RSS it reads): CLIENTS SSE streams on one user's page, one comment posted."""
    runs = []
    for r in range(args.rounds):
        res = run_json([bench_bin, "events", "--clients", str(args.events_clients)])
        log("round %d L1: %d of %d streams got the comment, p50 %.1f ms, p99 %.1f ms, "
            "server peak RSS %.0f MB, %d subscriptions left after closing"
            % (r + 1, res["delivered"], res["clients"], res["p50_ms"], res["p99_ms"],
               res["peak_rss_mb"], res["subscribers_left"]))
        runs.append(res)
    return runs


# ---------------------------------------------------------------- archive import (A1)

def archive_import(args, bench_bin):
    """A1: a synthetic Twitter/X archive (generated once into the work folder), imported
    into a fresh database by `tributary-bench archive-import` (one process per run, so its
    peak RSS is the import's), interleaved with the ceiling: the same reader over the same
    archive with nothing stored (`--read-only`)."""
    archive = os.path.join(args.work, "archive", "twitter-%d-%d.zip" % (args.archive_tweets, args.archive_media))
    if not os.path.exists(archive):
        gen = run_json([bench_bin, "archive-gen", "--out", archive,
                        "--tweets", str(args.archive_tweets), "--media", str(args.archive_media)])
        log("A1: generated %s (%.1f MB) in %.1f s" % (archive, gen["bytes"] / 1e6, gen["seconds"]))
    runs = {"import": [], "read": []}
    # A folder per run, all removed after the last: ext4 makes creating files right after
    # deleting thousands of others slow (it scans for recently deleted inodes), which
    # would measure the previous round's clean-up rather than the import.
    folders = []
    for r in range(args.rounds):
        for mode in ("read", "import"):
            folder = os.path.join(args.work, "archive", "run-%s-%d-%d" % (mode, os.getpid(), r))
            shutil.rmtree(folder, ignore_errors=True)
            folders.append(folder)
            cmd = [bench_bin, "archive-import", "--archive", archive, "--work", folder]
            if mode == "read":
                cmd.append("--read-only")
            res = run_json(cmd)
            log("round %d A1 %s: %d items in %.2f s (%.0f items/s), peak RSS %.0f MB"
                % (r + 1, mode, res["items"], res["seconds"], res["items_per_sec"], res["peak_rss_mb"]))
            runs[mode].append(res)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return runs


# ---------------------------------------------------------------- the table

def table(args, ing, srv, fan, arc, ev=None):
    lines = []
    add = lines.append
    add("# Tributary benchmarks")
    add("")
    add("One run of `bench/run` on %s, %d rounds, sides interleaved; medians. %s."
        % (os.uname().nodename, args.rounds, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    add("")
    checks = []
    if ing:
        results, conditional, parse, mem = ing
        o, p = results["ours"], results["reader"]
        feeds = o[0]["feeds"]
        add("## Ingest: %d feeds, %d items, from a loopback server (%d hosts)"
            % (feeds, o[0]["items"], args.hosts))
        add("")
        add("| measurement | Tributary | reader | ratio | target | met |")
        add("| --- | --- | --- | --- | --- | --- |")
        for key, label, target in (("e1_s", "E1 first fetch into an empty database", 20),
                                   ("e2_s", "E2 re-poll, server answers 304", 20),
                                   ("e3_s", "E3 re-poll, new validators, same content", 30)):
            ours_s, peer_s = median([x[key] for x in o]), median([x[key] for x in p])
            ratio = peer_s / ours_s
            met = ratio >= target
            checks.append((label.split()[0], met))
            add("| %s | %.0f feeds/s, %.0f items/s (%.3f s) | %.1f feeds/s, %.0f items/s (%.3f s) | %.1f× | ≥ %d× | %s |"
                % (label, feeds / ours_s, o[0]["items"] / ours_s, ours_s,
                   feeds / peer_s, p[0]["items"] / peer_s, peer_s, ratio, target,
                   "yes" if met else "no"))
        o_cpu = median([x["e1_cpu_s"] for x in o])
        p_cpu = median([x["e1_cpu_s"] for x in p])
        add("| E1 CPU time | %.2f s | %.2f s | %.1f× | | |" % (o_cpu, p_cpu, p_cpu / o_cpu))
        ratio = median(parse["ours"]) / median(parse["feedparser"])
        met = ratio >= 30
        checks.append(("P1", met))
        add("| P1 parse + sanitize + map, %d feeds from memory, one thread | %.0f items/s | %.0f items/s (feedparser) | %.1f× | ≥ 30× | %s |"
            % (args.parse_feeds, median(parse["ours"]), median(parse["feedparser"]), ratio,
               "yes" if met else "no"))
        cond_o = conditional["ours"][-1]
        cond_p = conditional["reader"][-1]
        add("| conditional requests on the re-polls (E2 + E3) | %d of %d | %d of %d | | every one | %s |"
            % (cond_o["conditional"], 2 * feeds, cond_p["conditional"], 2 * feeds,
               "yes" if cond_o["conditional"] >= 2 * feeds else "no"))
        add("| peak RSS, E1–E3 of %d items | %d MB | %d MB | | | |"
            % (o[0]["items"], median([x["peak_rss_kb"] for x in o]) // 1024,
               median([x["peak_rss_kb"] for x in p]) // 1024))
        met = mem["peak_rss_kb"] <= 150 * 1024
        checks.append(("RSS ingest", met))
        add("| peak RSS, ingesting %d items (%d feeds) | %d MB | | | ≤ 150 MB | %s |"
            % (mem["items"], mem["feeds"], mem["peak_rss_kb"] // 1024, "yes" if met else "no"))
        add("")
    if srv:
        routes, warm, cold, serve_rss, db_size, page_bytes, search_names, ceilings = srv
        add("## Serving: %d items, %d users, database %.1f GB, wrk -t2 -c%d -d%ds"
            % (args.items, args.users, db_size / 1e9, args.connections, args.seconds))
        add("")
        add("| route | req/s (warm) | p50 | p99 | req/s (cold) | p50 cold | p99 cold |")
        add("| --- | --- | --- | --- | --- | --- | --- |")
        med = {}
        for name, _ in routes:
            rps = median([x["rps"] for x in warm[name]])
            p50 = median([x["p50"] for x in warm[name]])
            p99 = median([x["p99"] for x in warm[name]])
            med[name] = (rps, p99)
            c = cold.get(name)
            add("| %s | %.0f | %.2f ms | %.2f ms | %s | %s | %s |"
                % (name, rps, p50, p99,
                   "%.0f" % c["rps"] if c else "", "%.2f ms" % c["p50"] if c else "",
                   "%.2f ms" % c["p99"] if c else ""))
        add("")
        static, mem_route, user, _, atom, friends = [n for n, _ in routes]
        ratio = med[user][0] / med[mem_route][0]
        p99x = med[user][1] / med[static][1]
        friends_x = med[friends][1] / med[static][1]
        atom_x = med[atom][0] / med[user][0]
        add("| target | measured | met |")
        add("| --- | --- | --- |")
        cold_rows = tuple(
            ("%s cold p99 ≤ 50 ms" % name.split(" ")[0], "%.1f ms" % cold[name]["p99"],
             cold[name]["p99"] <= 50)
            for name in (user, atom, friends) if name in cold)
        for label, value, met in (
                ("/{user} req/s ≥ 0.5× the render ceiling", "%.2f×" % ratio, ratio >= 0.5),
                ("/{user} p99 ≤ 3× the static route's p99", "%.1f×" % p99x, p99x <= 3),
                ("/{user}/friends p99 ≤ 3× the static route's p99", "%.1f×" % friends_x,
                 friends_x <= 3)) + cold_rows + (
                ("/{user} HTML per page logged in (owner), uncompressed ≤ 40 KB",
                 "%.1f KB" % (page_bytes["owner"] / 1024), page_bytes["owner"] <= 40 * 1024),
                ("/{user} HTML per page logged in (another user), uncompressed ≤ 40 KB",
                 "%.1f KB" % (page_bytes["another user"] / 1024),
                 page_bytes["another user"] <= 40 * 1024),
                ("/{user} HTML per page, anonymous, uncompressed ≤ 40 KB",
                 "%.1f KB" % (page_bytes["anonymous"] / 1024),
                 page_bytes["anonymous"] <= 40 * 1024),
                ("Atom export ≥ 1× the HTML page in req/s", "%.2f×" % atom_x, atom_x >= 1),
                ("peak RSS serving ≤ 100 MB", "%d MB" % (serve_rss // 1024), serve_rss <= 100 * 1024)):
            checks.append((label, met))
            add("| %s | %s | %s |" % (label, value, "yes" if met else "no"))
        add("")
        add("## Search (S1): %d items, wrk -t2 -c%d -d%ds; ceiling: the raw FTS5 query "
            "in a plain rusqlite loop on 2 threads, same database, same round"
            % (args.items, args.connections, args.seconds))
        add("")
        add("| query | req/s | p50 | p99 | ceiling q/s | ceiling p99 | ratio | p99 ≤ 20 ms | ≥ 0.5× |")
        add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for shape, names in search_names:
            top = median([x["rps"] for x in ceilings[shape]])
            top_p99 = median([x["p99"] for x in ceilings[shape]])
            for name in names:
                rps = median([x["rps"] for x in warm[name]])
                p50 = median([x["p50"] for x in warm[name]])
                p99 = median([x["p99"] for x in warm[name]])
                ratio = rps / top
                checks.append(("%s p99 ≤ 20 ms" % name, p99 <= 20))
                checks.append(("%s ≥ 0.5× the ceiling" % name, ratio >= 0.5))
                add("| %s | %.0f | %.2f ms | %.2f ms | %.0f | %.2f ms | %.2f× | %s | %s |"
                    % (name, rps, p50, p99, top, top_p99, ratio,
                       "yes" if p99 <= 20 else "no", "yes" if ratio >= 0.5 else "no"))
        add("")
        add("\"page cache\": the page as anonymous visitors get it, the same query again "
            "answered from the page cache until something is stored. \"every request "
            "searched\": an ignored parameter made new for each request, so each runs the "
            "query, its comment arm and the social reads, and renders the page.")
        add("")
    if fan:
        seconds = median([x["seconds"] for x in fan])
        rate = median([x["deliveries_per_sec"] for x in fan])
        rss = max(x["peak_rss_mb"] for x in fan)
        failures = max(x["failures"] for x in fan)
        add("## Federation: one `Create` to %s followers over %s shared inboxes, loopback"
            % (format(fan[0]["followers"], ","), format(fan[0]["inboxes"], ",")))
        add("")
        add("| measurement | Tributary | compared with | ratio (target / ours) | met |")
        add("| --- | --- | --- | --- | --- |")
        met = seconds <= 20 and rss <= 100 and failures == 0
        checks.append(("F1", met))
        add("| F1 fan-out of one Create to %s followers over %s shared inboxes (loopback) "
            "| %.2f s, %s deliveries/s, peak RSS %.0f MB, %d failures "
            "| target: ≤ 20 s, ≤ 100 MB | %.1f× time, %.1f× RSS | %s |"
            % (format(fan[0]["followers"], ","), format(fan[0]["inboxes"], ","), seconds,
               format(round(rate), ","), rss, failures, 20 / seconds, 100 / rss, "yes" if met else "no"))
        add("")
        add("Median of %d runs for time and rate, the highest peak RSS of the sender (the inbox "
            "sink is a separate process); a failure is a host that got no POST or more than "
            "one, or a POST without a Signature or with a wrong digest." % len(fan))
        add("")
    if arc:
        imp, read = arc["import"], arc["read"]
        rate = median([x["items_per_sec"] for x in imp])
        seconds = median([x["seconds"] for x in imp])
        ceiling = median([x["items_per_sec"] for x in read])
        rss = max(x["peak_rss_mb"] for x in imp)
        media = imp[0]["media"]
        add("## Archive import: a synthetic Twitter/X archive, %s tweets, %s media files"
            % (format(args.archive_tweets, ","), format(args.archive_media, ",")))
        add("")
        add("| measurement | Tributary | ceiling (the reader alone, nothing stored) | ratio | target | met |")
        add("| --- | --- | --- | --- | --- | --- |")
        met = rate >= 5000 and rss <= 150 and imp[0]["items"] == args.archive_tweets \
            and media == args.archive_media
        checks.append(("A1", met))
        add("| A1 import into an empty database (%s items, %s media stored) | %s items/s (%.2f s), peak RSS %.0f MB "
            "| %s items/s | %.2f of the ceiling | ≥ 5,000 items/s, ≤ 150 MB | %s |"
            % (format(imp[0]["items"], ","), format(media, ","), format(round(rate), ","), seconds, rss,
               format(round(ceiling), ","), rate / ceiling, "yes" if met else "no"))
        add("")
        add("Median of %d runs, each a fresh process, database and media folder; peak RSS is the "
            "highest of the runs. The ceiling opens the same zip and runs the same reader, "
            "counting posts and storing nothing." % len(imp))
        add("")
    if ev:
        p99 = median([x["p99_ms"] for x in ev])
        p50 = median([x["p50_ms"] for x in ev])
        rss = max(x["peak_rss_mb"] for x in ev)
        missed = max(x["clients"] - x["delivered"] for x in ev)
        left = max(x["subscribers_left"] for x in ev)
        add("## Live updates: %s open event streams on one user's page, one comment"
            % format(ev[0]["clients"], ","))
        add("")
        add("| measurement | Tributary | target | met |")
        add("| --- | --- | --- | --- |")
        met = p99 <= 1000 and rss <= 150 and missed == 0 and left == 0
        checks.append(("L1", met))
        add("| L1 a comment reaches %s open `/events` streams: delivery p50 / p99 from the POST, "
            "server peak RSS, streams missed, subscriptions left after closing "
            "| %.1f ms / %.1f ms, %.0f MB, %d missed, %d left | p99 ≤ 1 s, ≤ 150 MB | %s |"
            % (format(ev[0]["clients"], ","), p50, p99, rss, missed, left, "yes" if met else "no"))
        add("")
        add("Median of %d runs for the times, the highest peak RSS of the server (a separate "
            "process from the clients)." % len(ev))
        add("")
    add("Targets met: %d of %d." % (sum(1 for _, m in checks if m), len(checks)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prepare", action="store_true",
                    help="only generate the feed corpora (bench/run does this during the build)")
    ap.add_argument("--bin", help="the release tributary-bench binary")
    ap.add_argument("--python", help="the venv's python with reader")
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench"))
    ap.add_argument("--results", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--hosts", type=int, default=4)
    ap.add_argument("--parse-feeds", type=int, default=150)
    ap.add_argument("--memory-feeds", type=int, default=2860)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--cold-seconds", type=int, default=4)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--fanout-followers", type=int, default=10_000)
    ap.add_argument("--fanout-inboxes", type=int, default=1_000)
    ap.add_argument("--archive-tweets", type=int, default=100_000)
    ap.add_argument("--archive-media", type=int, default=5_000)
    ap.add_argument("--events-clients", type=int, default=1_000)
    ap.add_argument("--only", choices=["ingest", "serve", "fanout", "archive", "events"],
                    default=None)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.prepare:
        if args.only in ("serve", "fanout", "archive", "events"):
            return
        corpus(args.work, args.feeds, "corpus")
        corpus(args.work, args.memory_feeds, "corpus-100k")
        return
    if not args.bin or (not args.python and args.only not in ("fanout", "archive", "events")):
        ap.error("--bin and --python are needed (bench/run passes them)")
    started = time.time()
    ing = ingest(args, args.work, args.bin, args.python) if args.only in (None, "ingest") else None
    srv = serving(args, args.work, args.bin) if args.only in (None, "serve") else None
    fan = fanout(args, args.bin) if args.only in (None, "fanout") else None
    arc = archive_import(args, args.bin) if args.only in (None, "archive") else None
    ev = events(args, args.bin) if args.only in (None, "events") else None
    text = table(args, ing, srv, fan, arc, ev)
    text += "\nWall time of the whole run: %.0f s.\n" % (time.time() - started)
    results = args.results or os.path.join(args.work, "results.md")
    with open(results, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    log("wrote", results)


if __name__ == "__main__":
    main()
