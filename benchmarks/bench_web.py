"""Benchmark: the web app under a bounded async load on loopback.

Starts ``regulars serve`` on the workspace in a child process (waitress, the
production server, which starts computing the main pages at once), adds a benchmark
user, visits the customer list, This week and Growth once (these first visits are
timed apart: the server computes each page once per state of the workspace), logs
``--clients`` clients in (not timed) and then lets each request This week,
a customer page (one of the 50 on the customer list's first page) and Growth in turn
for ``--seconds`` seconds, with no pause: a closed loop with ``--clients`` requests
always in flight.  Prints p50/p95/max per page, the request rate, the load average
and every non-2xx answer.  Targets (issue 12): p95 under 300 ms for
This week and a customer page, under 1 s for Growth, and no 5xx.

    python benchmarks/bench_web.py -w demo-workspace
    python benchmarks/bench_web.py -w big --build 1000000     # build a 1 M-customer workspace first

``--build N`` (when the workspace does not exist yet) writes about ``5 N`` simulated
orders of about N customers with a fixed seed, imports them, fits BG/NBD and
Gamma-Gamma, scores every customer and computes this week's actions, timing each step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

CLI = "from regulars.cli import main; main()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams (no extra dependency)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None
        assert self.writer is not None
        body = urlencode(form).encode() if form is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            head += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
                f"Referer: http://127.0.0.1:{self.port}{path}",
                f"Origin: http://127.0.0.1:{self.port}",
            ]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:  # the server closed the connection: reconnect once
            self.writer = None
            return await self.request(method, path, form)
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = (await self.reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "set-cookie":
                name, _, rest = value.strip().partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            headers[key] = value.strip()
        length = int(headers.get("content-length", "0"))
        payload = await self.reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.writer = None
        return status, headers, payload

    async def login(self, user: str, password: str) -> None:
        _, _, page = await self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": user}
        form["password"] = password
        status, _headers, _ = await self.request("POST", "/login/", form)
        if status != 302:
            raise SystemExit(f"login failed: HTTP {status}")


async def _run(port: int, user: str, password: str, clients: int, seconds: float) -> dict:
    first = Client(port)
    await first.login(user, password)
    cold: dict[str, float] = {}  # the first visits (not timed): the server computes them
    for path in ("/customers/?sort=clv", "/week/", "/growth/?period=quarter"):
        t0 = time.perf_counter()
        status, _, body = await first.request("GET", path)
        cold[path] = time.perf_counter() - t0
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status} on the first visit")
        if path.startswith("/customers/"):
            listing = body
    ids = sorted(set(re.findall(rb'href="/customers/([^/"]+)/"', listing)))[:50]
    customers = [i.decode() for i in ids] or ["none"]
    pages = {
        "week": lambda rnd: "/week/",
        "customer": lambda rnd: f"/customers/{rnd.choice(customers)}/",
        "growth": lambda rnd: "/growth/?period=quarter",
    }
    times: dict[str, list[float]] = {k: [] for k in pages}
    errors: list[str] = []
    logged_in = [Client(port) for _ in range(clients)]
    await asyncio.gather(*(c.login(user, password) for c in logged_in))  # not timed
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        rnd = random.Random(n)
        c = logged_in[n]
        names = list(pages)
        i = n
        while time.perf_counter() < deadline:
            name = names[i % len(names)]
            i += 1
            path = pages[name](rnd)
            t0 = time.perf_counter()
            status, _, _ = await c.request("GET", path)
            times[name].append(time.perf_counter() - t0)
            if status >= 300:
                errors.append(f"{status} {path}")

    load = os.getloadavg()[0]
    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "times": times,
        "errors": errors,
        "elapsed": elapsed,
        "load": (load, os.getloadavg()[0]),
        "cold": cold,
    }


def _drain(stream: Any, log: deque[str]) -> None:
    for line in stream:
        log.append(line.rstrip())


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def build(path: Path, customers: int) -> None:
    """A workspace of about ``customers`` customers: orders, scores and actions.

    The models are BG/NBD and Gamma-Gamma, fitted on the whole history (``regulars fit
    --model bgnbd --holdout none``): the automatic choice fits and compares four
    purchase models first, which is a benchmark of the models, not of the web app.
    """
    import resource
    import tempfile

    from regulars.actions import compute_actions
    from regulars.datasets import simulate_orders_to_parquet
    from regulars.io import import_file
    from regulars.models import fit_workspace, score_workspace
    from regulars.store import Workspace

    steps: list[tuple[str, float]] = []

    def step(name: str, t: float) -> None:
        steps.append((name, time.perf_counter() - t))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {name}: {steps[-1][1]:.0f} s (peak RSS {peak:,.0f} MB)", flush=True)

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        orders = simulate_orders_to_parquet(
            Path(tmp) / "orders.parquet", n_lines=5 * customers, n_customers=customers, seed=11
        )
        step("simulate", t)
        ws = Workspace.init(path, name="Web benchmark")
        try:
            t = time.perf_counter()
            import_file(ws, "orders", orders)
            step("import", t)
            t = time.perf_counter()
            fit_workspace(ws, model="bgnbd", spend="gamma-gamma", holdout="none")
            step("fit", t)
            t = time.perf_counter()
            score_workspace(ws)
            step("score", t)
            t = time.perf_counter()
            compute_actions(ws)
            step("actions", t)
            n = ws.count("customers")
        finally:
            ws.close()
    print(f"built {path}: {n:,} customers; " + ", ".join(f"{k} {v:.0f} s" for k, v in steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-w", "--workspace", required=True, type=Path)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=8, help="Server threads.")
    parser.add_argument("--build", type=int, metavar="N", help="Build N customers first.")
    args = parser.parse_args()
    if args.build and not (args.workspace / "regulars.toml").exists():
        build(args.workspace, args.build)

    env = dict(os.environ)
    user = "bench-" + secrets.token_hex(3)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CLI,
            "user",
            "add",
            user,
            "--role",
            "owner",
            "-w",
            str(args.workspace),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    password = out.rsplit(":", 1)[1].strip()
    port = _free_port()
    log: deque[str] = deque(maxlen=30)
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLI,
            "serve",
            "-w",
            str(args.workspace),
            "--port",
            str(port),
            "--threads",
            str(args.threads),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "Serving regulars" in line:
                break
        else:
            raise SystemExit("the server did not start")
        # Keep reading what the server prints (waitress's queue warnings, DuckDB's
        # progress bar): a full pipe would block the server in the middle of a request.
        threading.Thread(target=_drain, args=(server.stdout, log), daemon=True).start()
        result = asyncio.run(_run(port, user, password, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(
            [sys.executable, "-c", CLI, "user", "disable", user, "-w", str(args.workspace)],
            capture_output=True,
            env=env,
            check=False,
        )
    total = sum(len(v) for v in result["times"].values())
    print(
        f"workspace {args.workspace}: {args.clients} clients, {args.seconds:.0f} s, "
        f"{total:,} requests ({total / result['elapsed']:.1f}/s); load average "
        f"{result['load'][0]:.1f} at the start, {result['load'][1]:.1f} at the end"
    )
    print(
        "first visits, before the timed run (the server computes these pages once): "
        + ", ".join(f"{p} {t:.1f} s" for p, t in result["cold"].items())
    )
    print(f"{'page':<10}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'target':>10}")
    targets = {"week": 0.3, "customer": 0.3, "growth": 1.0}
    ok = True
    for name, values in result["times"].items():
        p95 = _pct(values, 95)
        ok &= p95 < targets[name]
        print(
            f"{name:<10}{len(values):>10,}{_pct(values, 50) * 1000:>10.0f}"
            f"{p95 * 1000:>10.0f}{max(values, default=float('nan')) * 1000:>10.0f}"
            f"{targets[name] * 1000:>10.0f}"
        )
    fivexx = [e for e in result["errors"] if e.startswith("5")]
    print(f"non-2xx answers: {len(result['errors'])} ({len(fivexx)} 5xx)")
    for e in result["errors"][:10]:
        print("  ", e)
    if fivexx:
        print("the server's last lines:", *log, sep="\n  ")
    print("targets met" if ok and not fivexx else "targets NOT met")


if __name__ == "__main__":
    main()
