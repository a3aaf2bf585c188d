#!/usr/bin/env python3
"""Drive identity-server with wrk and report throughput, latency, CPU and memory.

Called by bench/run.sh (which builds the binary and installs wrk); see bench/README.md.
Python 3 standard library only.

For each backend (SQLite, and PostgreSQL with --postgres) and each workspace size:
fresh database -> `admin workspace create` -> `admin seed` (the store's bulk path) ->
`serve` -> walk the list to collect ids and page cursors -> one wrk run per scenario
-> peak RSS (VmHWM) of the server -> stop. Then one report compares every scenario
with the ceiling route measured on the same server, the sizes with each other and
PostgreSQL with SQLite, and checks the targets of issue 5.
"""

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
LUA_DIR = os.path.join(HERE, "lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# (name, lua script, connections). "ceiling" is measured first and last: the
# first run is the reference for ratios, the last shows how much the machine drifted.
SCENARIOS = [
    ("ceiling", "fixed.lua", 16),
    ("get", "get.lua", 16),
    ("list100", "fixed.lua", 16),
    ("list100-deep", "list_deep.lua", 16),
    ("search1%", "search.lua", 16),
    ("create", "create.lua", 1),
    ("create", "create.lua", 16),
    ("create", "create.lua", 64),
    ("update", "update.lua", 16),
    ("ceiling-end", "fixed.lua", 16),
]
LIST_PATH = "/user_identities/list?limit=100"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_duration(text):
    """wrk-style duration ("10s", "2m", "500ms" is not allowed by wrk) -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


# ---------------------------------------------------------------- /proc helpers


def read_status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def process_cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def machine_cpu_seconds():
    """Busy CPU seconds summed over all cores (everything but idle and iowait)."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    busy = sum(parts[:8]) - idle
    return busy / CLK_TCK


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------- HTTP helpers


class Api:
    """A keep-alive HTTP/1.1 client for the few requests the harness makes itself."""

    def __init__(self, port, api_key):
        self.port = port
        self.api_key = api_key
        self.conn = None

    def request(self, method, path, body=None, auth=True):
        headers = {}
        if auth and self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return resp.status, parsed, raw[:400].decode("utf-8", "replace")


# ---------------------------------------------------------------- databases


class Postgres:
    """A throwaway PostgreSQL cluster in a temp dir, run as an unprivileged user."""

    def __init__(self, bin_dir, workdir):
        self.bin = bin_dir
        self.dir = os.path.join(workdir, "pg")
        self.port = free_port()
        self.user = "nobody" if os.geteuid() == 0 else None

    def _run(self, *cmd, check=True):
        cmd = list(cmd)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def start(self):
        os.makedirs(self.dir)
        if self.user:
            shutil.chown(self.dir, self.user)
        os.chmod(self.dir, 0o700)
        data = os.path.join(self.dir, "data")
        self._run(f"{self.bin}/initdb", "-D", data, "-U", "bench", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        opts = (f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200 -c fsync=on -c synchronous_commit=on")
        self._run(f"{self.bin}/pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log"),
                  "-o", opts, "-w", "start")
        log(f"postgres started on 127.0.0.1:{self.port} (fsync=on, synchronous_commit=on)")

    def create_db(self, name):
        self._run(f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "bench", name)
        return f"postgres://bench@127.0.0.1:{self.port}/{name}"

    def stop(self):
        data = os.path.join(self.dir, "data")
        if os.path.isdir(data):
            self._run(f"{self.bin}/pg_ctl", "-D", data, "-m", "fast", "stop", check=False)


# ---------------------------------------------------------------- the server


class Server:
    def __init__(self, binary, database, port):
        self.binary = binary
        self.database = database
        self.port = port
        self.proc = None

    def env(self):
        env = dict(os.environ)
        env["RUST_LOG"] = "warn"  # benchmarks measure the server, not its logging
        return env

    def admin(self, *args):
        cmd = [self.binary, "admin", *args, "--database", self.database]
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, env=self.env())
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()[-800:]}")
        # The command prints one JSON object; take the last line that parses.
        for line in reversed(out.stdout.strip().splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                continue
        try:
            return json.loads(out.stdout)
        except ValueError:
            raise RuntimeError(f"{' '.join(cmd)} printed no JSON: {out.stdout[-400:]!r}")

    def start(self, log_path):
        cmd = [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--database", self.database]
        self.log_file = open(log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=self.log_file, env=self.env())
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not listen within 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log_file.close()


# ---------------------------------------------------------------- one benchmark


def collect_ids(api, workdir, sample, max_seconds):
    """Walk list?limit=100 from the first page to the last, keeping every seeded id
    (with its seed index from user_identity_key "seed-<i>") and the cursor of every page."""
    ids, cursors = [], []
    cursor = None
    started = time.time()
    complete = True
    while True:
        path = LIST_PATH + (f"&page_cursor={urllib.parse.quote(cursor, safe='')}" if cursor else "")
        status, body, raw = api.request("GET", path)
        if status != 200 or not body:
            raise RuntimeError(f"GET {path} answered {status}: {raw}")
        for row in body.get("user_identities", []):
            key = row.get("user_identity_key") or ""
            index = key[5:] if key.startswith("seed-") else "0"
            ids.append((row["user_identity_id"], index))
        nxt = (body.get("pagination") or {}).get("next_page_cursor")
        if not nxt:
            break
        cursors.append(urllib.parse.quote(nxt, safe=""))
        cursor = nxt
        if time.time() - started > max_seconds:
            complete = False
            log(f"walk stopped after {max_seconds}s at {len(ids)} ids: ids and cursors are biased to early rows")
            break
    walk_s = time.time() - started
    rng = random.Random(42)
    chosen = ids if len(ids) <= sample else rng.sample(ids, sample)
    ids_file = os.path.join(workdir, "ids.tsv")
    with open(ids_file, "w") as f:
        f.writelines(f"{i}\t{n}\n" for i, n in chosen)
    cursors_file = os.path.join(workdir, "cursors.txt")
    chosen_cursors = cursors if len(cursors) <= 5000 else rng.sample(cursors, 5000)
    with open(cursors_file, "w") as f:
        f.writelines(c + "\n" for c in chosen_cursors)
    return {
        "ids_file": ids_file,
        "cursors_file": cursors_file if cursors else None,
        "walked_ids": len(ids),
        "walked_pages": len(cursors) + 1,
        "walk_s": round(walk_s, 2),
        "walk_complete": complete,
        "sampled_ids": len(chosen),
    }


def pick_ceiling(api):
    status, body, _ = api.request("GET", "/workspaces/get")
    if 200 <= status < 300:
        return "/workspaces/get", True
    status, _, raw = api.request("GET", "/health", auth=False)
    if 200 <= status < 300:
        return "/health", False
    raise RuntimeError(f"neither GET /workspaces/get nor GET /health answered 2xx (last: {status} {raw})")


def precheck(api, name, ctx):
    """One request shaped like the scenario's, made by the harness: a scenario whose
    request is refused is reported as skipped with the answer, instead of as noise."""
    ids = ctx["ids"]
    seed_id, seed_index = ids[0] if ids else ("00000000-0000-0000-0000-000000000000", "0")
    n = random.randrange(10**7)
    if name.startswith("ceiling"):
        status, _, raw = api.request("GET", ctx["ceiling_path"], auth=ctx["ceiling_auth"])
    elif name == "get":
        status, _, raw = api.request("GET", f"/user_identities/get?user_identity_id={seed_id}")
    elif name == "list100":
        status, _, raw = api.request("GET", LIST_PATH)
    elif name == "list100-deep":
        if not ctx["walk"]["cursors_file"]:
            return False, "fewer than 100 identities: no second page"
        with open(ctx["walk"]["cursors_file"]) as f:
            cursor = f.readline().strip()
        status, _, raw = api.request("GET", f"{LIST_PATH}&page_cursor={cursor}")
    elif name == "search1%":
        status, body, raw = api.request("GET", f"{LIST_PATH}&search=c42x")
    elif name == "create":
        status, _, raw = api.request("POST", "/user_identities/create", {
            "user_identity_key": f"precheck-{n}", "email_address": f"precheck{n}@bench.example",
            "phone_number": f"+1888{n:07d}", "full_name": f"Precheck Person {n}"})
    elif name == "update":
        i = int(seed_index)
        status, _, raw = api.request("PATCH", "/user_identities/update", {
            "user_identity_id": seed_id, "full_name": f"Bench Person {i} c{i % 100:02d}x"})
    else:
        return True, ""
    if 200 <= status < 300:
        return True, ""
    return False, f"{status} {raw}"


def run_wrk(args, server_pid, script, connections, duration, env_extra):
    threads = min(args.wrk_threads, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--timeout", "5s",
           "-s", os.path.join(LUA_DIR, script), f"http://127.0.0.1:{env_extra['BENCH_PORT']}"]
    env = dict(os.environ)
    env.update(env_extra)
    env["BENCH_LUA_DIR"] = LUA_DIR
    machine0, server0, t0 = machine_cpu_seconds(), process_cpu_seconds(server_pid), time.time()
    children0 = child_cpu_seconds()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    wall = time.time() - t0
    machine1, server1 = machine_cpu_seconds(), process_cpu_seconds(server_pid)
    # communicate() reaped wrk; its CPU time is the growth of our children's usage.
    wrk_cpu = child_cpu_seconds() - children0
    result = None
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line[len("BENCH_RESULT "):])
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode()[-600:]} {out.decode()[-600:]}")
    result["wrk_threads"] = threads
    result["server_cpu_s"] = server1 - server0
    result["machine_cpu_s"] = machine1 - machine0
    result["wrk_cpu_s"] = wrk_cpu
    result["wall_s"] = wall
    return result


def child_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_one(args, backend, database, size, workdir, tag_base):
    """Seed one fresh database with `size` identities and run every scenario on it."""
    port = free_port()
    server = Server(args.binary, database, port)
    res = {"backend": backend, "size": size, "loadavg_start": loadavg(), "scenarios": []}

    ws = server.admin("workspace", "create", "--name", f"bench-{size}")
    api_key = ws["api_key"]
    t0 = time.time()
    seeded = server.admin("seed", "--workspace", ws["workspace_id"], "--count", str(size))
    res["seed_s"] = round(time.time() - t0, 2)
    res["seed_inserted"] = seeded.get("inserted")
    if seeded.get("inserted") != size:
        log(f"seed printed {seeded!r}, expected inserted={size}")
    log(f"{backend} {size}: seeded {seeded.get('inserted')} identities in {res['seed_s']} s")
    if database.startswith("sqlite://"):
        path = database[len("sqlite://"):]
        res["db_bytes"] = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))

    server.start(os.path.join(workdir, f"server-{backend}-{size}.log"))
    pid = server.proc.pid
    try:
        api = Api(port, api_key)
        ceiling_path, ceiling_auth = pick_ceiling(api)
        res["ceiling_route"] = ceiling_path
        walk = collect_ids(api, workdir, args.ids_sample, args.walk_seconds)
        res["walk"] = {k: v for k, v in walk.items() if not k.endswith("_file")}
        log(f"{backend} {size}: walked {walk['walked_ids']} ids in {walk['walk_s']} s; "
            f"ceiling route {ceiling_path}")
        with open(walk["ids_file"]) as f:
            ids = [tuple(line.rstrip("\n").split("\t")) for line in f if line.strip()]
        res["rss_kb_after_walk"] = read_status_kb(pid, "VmRSS")
        ctx = {"ids": ids, "walk": walk, "ceiling_path": ceiling_path, "ceiling_auth": ceiling_auth}

        for k, (name, script, conns) in enumerate(SCENARIOS):
            if args.scenarios and name not in args.scenarios:
                continue
            row = {"scenario": name, "connections": conns}
            ok, why = precheck(api, name, ctx)
            if not ok:
                row["skipped"] = why
                log(f"{backend} {size} {name} c{conns}: skipped: {why}")
                res["scenarios"].append(row)
                continue
            path = ceiling_path if name.startswith("ceiling") else LIST_PATH
            env = {
                "BENCH_PORT": str(port),
                "BENCH_API_KEY": api_key if (ceiling_auth or not name.startswith("ceiling")) else "",
                "BENCH_IDS_FILE": walk["ids_file"],
                "BENCH_CURSORS_FILE": walk["cursors_file"] or "",
                "BENCH_PATH": path,
            }
            if args.warmup > 0:
                env["BENCH_TAG"] = str(tag_base + 2 * k)
                run_wrk(args, pid, script, conns, f"{args.warmup}s", env)
            env["BENCH_TAG"] = str(tag_base + 2 * k + 1)
            row.update(run_wrk(args, pid, script, conns, args.duration, env))
            row["rss_kb"] = read_status_kb(pid, "VmRSS")
            res["scenarios"].append(row)
            rps = row["requests"] / row["duration_s"]
            log(f"{backend} {size} {name} c{conns}: {rps:,.0f} req/s, p50 "
                f"{row['latency_us']['p50'] / 1000:.2f} ms, p99 {row['latency_us']['p99'] / 1000:.2f} ms, "
                f"errors {row['non2xx'] + row['socket_errors']}")
        res["peak_rss_kb"] = read_status_kb(pid, "VmHWM")
        res["loadavg_end"] = loadavg()
    finally:
        server.stop()
    return res


# ---------------------------------------------------------------- report


def rps(row):
    return row["requests"] / row["duration_s"] if "requests" in row else None


def key(row):
    return f"{row['scenario']} c{row['connections']}"


def fmt_ms(us):
    return f"{us / 1000:.2f}"


def size_label(n):
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def ceiling_rps(res):
    for row in res["scenarios"]:
        if row["scenario"] == "ceiling" and "requests" in row:
            return rps(row)
    return None


def find(res, scenario, conns=None):
    for row in res["scenarios"]:
        if row["scenario"] == scenario and (conns is None or row["connections"] == conns) and "requests" in row:
            return rps(row)
    return None


def table_for(res):
    if "failed" in res:
        return f"### {res['backend']}, {res['size']:,} identities\n\nNot measured: {res['failed'][:600]}"
    ceil = ceiling_rps(res)
    lines = [
        f"### {res['backend']}, {res['size']:,} identities (ceiling route `GET {res.get('ceiling_route', '?')}`)",
        "",
        f"Seeded in {res.get('seed_s', '?')} s; peak RSS of the server (VmHWM) "
        f"**{(res.get('peak_rss_kb') or 0) / 1024:.1f} MB**; load average {res['loadavg_start']} -> "
        f"{res.get('loadavg_end', '?')}" + (f"; database {res['db_bytes'] / 2**20:.0f} MB after seeding" if res.get("db_bytes") else ""),
        "",
        "| scenario | conns | req/s | p50 ms | p99 ms | errors | ratio to ceiling | server CPU us/req | CPU % server/wrk/other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in res["scenarios"]:
        if "skipped" in row:
            lines.append(f"| {row['scenario']} | {row['connections']} | skipped: {row['skipped'][:120]} | | | | | | |")
            continue
        r = rps(row)
        errors = row["non2xx"] + row["socket_errors"]
        err_text = str(errors)
        if errors:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
            err_text += f" ({detail}{', socket ' + str(row['socket_errors']) if row['socket_errors'] else ''})"
        ratio = f"{r / ceil:.3f}" if ceil else "-"
        us_per_req = row["server_cpu_s"] / row["requests"] * 1e6 if row["requests"] else 0
        # CPU used by anything but the server and wrk (other agents' builds, PostgreSQL).
        other = max(0.0, row["machine_cpu_s"] - row["server_cpu_s"] - row.get("wrk_cpu_s", 0.0))
        pct = "/".join(f"{x / row['wall_s'] * 100:.0f}" for x in (row["server_cpu_s"], row.get("wrk_cpu_s", 0.0), other))
        lines.append(
            f"| {row['scenario']} | {row['connections']} | {r:,.0f} | {fmt_ms(row['latency_us']['p50'])} | "
            f"{fmt_ms(row['latency_us']['p99'])} | {err_text} | {ratio} | {us_per_req:.0f} | {pct} |")
    return "\n".join(lines)


def scale_table(small, large):
    lines = [
        f"### Scale ({small['backend']}): {size_label(large['size'])} / {size_label(small['size'])}",
        "",
        f"| scenario | conns | req/s at {size_label(small['size'])} | req/s at {size_label(large['size'])} | "
        f"ratio | p99 ms at {size_label(small['size'])} | p99 ms at {size_label(large['size'])} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    big = {key(r): r for r in large["scenarios"] if "requests" in r}
    for row in small["scenarios"]:
        other = big.get(key(row))
        if "requests" not in row or other is None:
            continue
        a, b = rps(row), rps(other)
        lines.append(f"| {row['scenario']} | {row['connections']} | {a:,.0f} | {b:,.0f} | {b / a:.2f} | "
                     f"{fmt_ms(row['latency_us']['p99'])} | {fmt_ms(other['latency_us']['p99'])} |")
    lines.append(f"| peak RSS MB | | {(small.get('peak_rss_kb') or 0) / 1024:.1f} | "
                 f"{(large.get('peak_rss_kb') or 0) / 1024:.1f} | | | |")
    return "\n".join(lines)


def pg_table(sqlite, pg):
    lines = [
        f"### PostgreSQL / SQLite at {size_label(sqlite['size'])}",
        "",
        "| scenario | conns | SQLite req/s | PostgreSQL req/s | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    other = {key(r): r for r in pg["scenarios"] if "requests" in r}
    for row in sqlite["scenarios"]:
        if "requests" in row and key(row) in other:
            a, b = rps(row), rps(other[key(row)])
            lines.append(f"| {row['scenario']} | {row['connections']} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
    return "\n".join(lines)


def check(label, value, target, fmt="{:.2f}", higher=True):
    if value is None:
        return f"| {label} | not measured | {target[1]} | - |"
    met = value >= target[0] if higher else value <= target[0]
    return f"| {label} | {fmt.format(value)} | {target[1]} | {'met' if met else '**missed**'} |"


def targets_table(results):
    sq = sorted((r for r in results if r["backend"] == "sqlite"), key=lambda r: r["size"])
    pg = {r["size"]: r for r in results if r["backend"] == "postgres"}
    lines = ["### Targets (issue 5)", "", "| target | measured | wanted | verdict |", "|---|---:|---:|---|"]

    def ratio(res, scenario, conns=None, base=None):
        a = find(res, scenario, conns)
        b = base if base is not None else ceiling_rps(res)
        return a / b if a is not None and b else None

    for res in sq:
        s = size_label(res["size"])
        lines.append(check(f"get / ceiling at {s}", ratio(res, "get"), (0.55, ">= 0.55")))
        lines.append(check(f"list100 / ceiling at {s}", ratio(res, "list100"), (0.15, ">= 0.15")))
        lines.append(check(f"create c64 / ceiling at {s}", ratio(res, "create", 64), (0.15, ">= 0.15")))
        lines.append(check(f"search / list100 at {s}", ratio(res, "search1%", base=find(res, "list100")),
                           (0.5, ">= 0.5 (within 2x)")))
        if any(r["scenario"] == "create" and "requests" in r and r["non2xx"] + r["socket_errors"] > 0
               for r in res["scenarios"]):
            lines.append(f"| create errors at {s} | some | 0 | **missed** |")
    if len(sq) >= 2:
        small, large = sq[0], sq[-1]
        tag = f"{size_label(large['size'])} / {size_label(small['size'])}"
        for scenario, conns in [("get", None), ("list100", None), ("search1%", None), ("create", 1),
                                ("create", 16), ("create", 64), ("update", None)]:
            a, b = find(small, scenario, conns), find(large, scenario, conns)
            label = f"{scenario}{' c' + str(conns) if conns else ''} {tag}"
            lines.append(check(label, b / a if a and b else None, (0.7, ">= 0.70")))
    for res in sq:
        if res["size"] >= 1_000_000:
            mb = (res.get("peak_rss_kb") or 0) / 1024
            lines.append(check(f"peak RSS at {size_label(res['size'])}", mb, (150, "<= 150 MB"),
                               fmt="{:.1f} MB", higher=False))
    for res in sq:
        other = pg.get(res["size"])
        if not other:
            continue
        s = size_label(res["size"])
        for scenario, conns in [("get", None), ("create", 16), ("create", 64)]:
            a, b = find(res, scenario, conns), find(other, scenario, conns)
            label = f"PostgreSQL / SQLite {scenario}{' c' + str(conns) if conns else ''} at {s}"
            lines.append(check(label, b / a if a and b else None, (0.5, ">= 0.50")))
    return "\n".join(lines)


def render(meta, results):
    out = ["## Benchmark results", "",
           f"`{meta['command']}`", "",
           f"{meta['started']} UTC, {meta['cpus']} CPUs, load average at start {meta['loadavg_start']}, "
           f"at end {meta.get('loadavg_end', '?')}. wrk {meta['wrk']} with -t{meta['wrk_threads']} "
           f"(one thread per connection when fewer), {meta['duration']} per scenario after a "
           f"{meta['warmup']}s warm-up, server with RUST_LOG=warn. Ratios compare rows of one run. "
           "`CPU %` splits the machine's busy CPU during the scenario (out of "
           f"{meta['cpus'] * 100}%) into the server, wrk, and everything else (other builds on a "
           "shared machine, PostgreSQL); `server CPU us/req` is the server's CPU time per "
           "request, the number least disturbed by a busy machine.", ""]
    for res in results:
        out += [table_for(res), ""]
    sq = sorted((r for r in results if r["backend"] == "sqlite"), key=lambda r: r["size"])
    pg = sorted((r for r in results if r["backend"] == "postgres"), key=lambda r: r["size"])
    if len(sq) >= 2:
        out += [scale_table(sq[0], sq[-1]), ""]
    if len(pg) >= 2:
        out += [scale_table(pg[0], pg[-1]), ""]
    for p in pg:
        for s in sq:
            if s["size"] == p["size"]:
                out += [pg_table(s, p), ""]
    out += [targets_table(results), ""]
    return "\n".join(out)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, help="identity-server binary to benchmark")
    ap.add_argument("--sizes", default="10000", help="comma-separated workspace sizes (default 10000)")
    ap.add_argument("--scale", action="store_true", help="scale mode: same as --sizes 10000,1000000")
    ap.add_argument("--duration", default="10s", help="wrk duration per scenario (default 10s)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of discarded wrk run before each scenario")
    ap.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1, see README)")
    ap.add_argument("--postgres", action="store_true", help="also run every size on a throwaway PostgreSQL")
    ap.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
    ap.add_argument("--scenarios", default="", help="comma-separated subset of scenario names")
    ap.add_argument("--ids-sample", type=int, default=50000, help="ids handed to wrk for get/update")
    ap.add_argument("--walk-seconds", type=int, default=600, help="cap on the id-collecting walk")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="where results.json and report.md go")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with databases and logs")
    ap.add_argument("--command", default="", help="the command line to print in the report")
    args = ap.parse_args()
    if args.scale:
        args.sizes = "10000,1000000"
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    args.scenarios = set(s for s in args.scenarios.split(",") if s)
    args.binary = os.path.abspath(args.binary)

    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    meta = {
        "command": args.command or " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "cpus": os.cpu_count(),
        "loadavg_start": loadavg(),
        "wrk": " ".join(wrk_version.split()[1:2]),
        "wrk_threads": args.wrk_threads,
        "duration": args.duration,
        "warmup": args.warmup,
    }
    workdir = tempfile.mkdtemp(prefix="identity-bench-")
    os.chmod(workdir, 0o711)  # the unprivileged PostgreSQL user must reach its own subdir
    log(f"work dir {workdir}")
    results = []
    pg = None

    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        backends = ["sqlite"] + (["postgres"] if args.postgres else [])
        if args.postgres:
            pg = Postgres(args.pg_bin, workdir)
            try:
                pg.start()
            except (OSError, subprocess.CalledProcessError) as error:
                detail = getattr(error, "stderr", "") or error
                log(f"postgres could not start, measuring SQLite only: {detail}")
                backends.remove("postgres")
        tag = random.randrange(0, 400)
        for backend in backends:
            for size in args.sizes:
                if backend == "sqlite":
                    db_dir = os.path.join(workdir, f"sqlite-{size}")
                    os.makedirs(db_dir)
                    database = f"sqlite://{db_dir}/identity.sqlite"
                else:
                    database = pg.create_db(f"bench_{size}")
                try:
                    results.append(bench_one(args, backend, database, size, workdir, tag))
                except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                    log(f"{backend} {size}: failed: {error}")
                    results.append({"backend": backend, "size": size, "failed": str(error),
                                    "loadavg_start": loadavg(), "scenarios": []})
                tag = (tag + 2 * len(SCENARIOS)) % 1000
    except KeyboardInterrupt:
        log("interrupted; reporting what was measured")
    finally:
        if pg:
            pg.stop()
        meta["loadavg_end"] = loadavg()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    report = render(meta, results)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report + "\n")
    print(report)
    log(f"wrote {args.out}/report.md and results.json")


if __name__ == "__main__":
    main()
