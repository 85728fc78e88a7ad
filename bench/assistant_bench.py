"""Benchmark the assistant against bare Rasa (Rasa's default config) on the same data, in one run.

Measures (a) cold start from launch to first bot reply, (b) REST turn latency p50/p95/p99 at
1, 10 and 50 concurrent conversations and throughput, (c) peak RSS of each process, (d) training
time.  Prints a table and writes JSON to bench/results/assistant.json.  Run on demand:

    uv run python bench/assistant_bench.py [--turns 200] [--skip-bare]
    uv run python bench/assistant_bench.py --actions-delta --turns 400 --rounds 3 --out actions_delta.json

``--actions-delta`` runs Rapport with and without its action server side by side and measures them
in alternating rounds (the cost of the personalisation; see :func:`bench_actions_delta`).

Not a test: numbers depend on the machine's load, which is recorded with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.training import rasa_command, rasa_env  # noqa: E402

MESSAGES = [
    "hi there", "how much is delivery", "are you open on sunday", "do you take paypal",
    "can i return a book i bought last week", "where is my order", "do you have signed copies",
    "any author events this month", "can you recommend a good fantasy series", "thanks, bye",
]
CONCURRENCY = (1, 10, 50)


@dataclass
class Run:
    name: str
    training_s: float = 0.0
    cold_start_s: float = 0.0
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    # p50/p95 by the turn's position in its conversation (0 = the turn that starts the session)
    by_turn_ms: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    # --actions-delta: each interleaved round's p95 per level (the figures above pool all rounds)
    rounds_p95_ms: dict[str, list[float]] = field(default_factory=dict)
    throughput: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tree_rss_kb(pid: int) -> dict[int, int]:
    """RSS of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    found, todo = {}, [pid]
    while todo:
        current = todo.pop()
        if current in rss:
            found[current] = rss[current]
        todo.extend(children.get(current, []))
    return found


class RssSampler(threading.Thread):
    """Peak RSS per named process tree, sampled every 200 ms."""

    def __init__(self, roots: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.peak: dict[str, float] = {name: 0.0 for name in roots}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            for name, pid in self.roots.items():
                total = sum(_tree_rss_kb(pid).values()) / 1024
                self.peak[name] = max(self.peak[name], total)


async def _turns(url: str, concurrency: int, turns: int) -> tuple[list[tuple[int, float]], float]:
    latencies: list[tuple[int, float]] = []
    per_worker = max(1, turns // concurrency)

    async def worker(index: int, session: aiohttp.ClientSession) -> None:
        sender = ""
        for n in range(per_worker):
            if n % len(MESSAGES) == 0:  # a new customer every 10 turns: realistic conversation lengths
                sender = f"bench-{concurrency}-{index}-{os.urandom(3).hex()}"
            started = time.perf_counter()
            async with session.post(url, json={"sender": sender, "message": MESSAGES[n % len(MESSAGES)]}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
            latencies.append((n % len(MESSAGES), (time.perf_counter() - started) * 1000))

    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await worker(0, session)  # warm-up conversation, not counted
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(i, session) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, len(latencies) / elapsed


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": round(statistics.median(ordered), 1), "p95": round(pick(0.95), 1), "p99": round(pick(0.99), 1)}


def _wait_reply(url: str, deadline: float) -> None:
    import urllib.error
    import urllib.request

    body = json.dumps({"sender": "cold-start", "message": "hello"}).encode()
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
                if json.loads(response.read()):
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no reply from {url}")


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def _measure(run: Run, processes: dict[str, subprocess.Popen], url: str, turns: int, started: float) -> None:
    sampler = RssSampler({name: p.pid for name, p in processes.items()})
    sampler.start()
    _wait_reply(url, time.monotonic() + 600)
    run.cold_start_s = round(time.monotonic() - started, 1)
    for concurrency in CONCURRENCY:
        latencies, throughput = asyncio.run(_turns(url, concurrency, turns))
        _record(run, concurrency, latencies, throughput)
    sampler.stopping.set()
    sampler.join()
    run.peak_rss_mb = {name: round(v) for name, v in sampler.peak.items()}
    run.peak_rss_mb["total"] = round(sum(sampler.peak.values()))


def _start_rapport(var_dir: Path, *, with_actions: bool) -> tuple[subprocess.Popen, str, float]:
    """``rapport up`` on free ports: the process, its REST webhook URL and when it was started."""
    rasa_port = _free_port()
    env = {**rasa_env(), "RAPPORT_VAR_DIR": str(var_dir), "RAPPORT_RASA_PORT": str(rasa_port),
           "RAPPORT_ACTIONS_PORT": str(_free_port()), "RAPPORT_CONSOLE_PORT": str(_free_port())}
    command = [sys.executable, "-m", "bot.cli", "up"] + ([] if with_actions else ["--without", "actions"])
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", started


def bench_rapport(turns: int, var_dir: Path) -> Run:
    from bot import settings as settings_module
    from bot.training import ensure_model

    run = Run("rapport")
    os.environ["RAPPORT_VAR_DIR"] = str(var_dir)
    model = ensure_model(settings_module.load(), force=True, log=var_dir / "train.log")
    run.training_s = round(model.seconds, 1)
    process, url, started = _start_rapport(var_dir, with_actions=True)
    try:
        _measure(run, {"all (rasa+actions+console)": process}, url, turns, started)
    finally:
        _stop(process)
    return run


def _record(run: Run, concurrency: int, latencies: list[tuple[int, float]], throughput: float) -> None:
    run.latency_ms[str(concurrency)] = _percentiles([ms for _, ms in latencies])
    run.by_turn_ms[str(concurrency)] = [
        _percentiles([ms for n, ms in latencies if n == position]) for position in range(len(MESSAGES))
        if any(n == position for n, _ in latencies)]
    run.throughput[str(concurrency)] = round(throughput, 1)


def bench_actions_delta(turns: int, work: Path, rounds: int) -> list[Run]:
    """Rapport with and without its action server, both up at once, measured in alternating rounds.

    The machine's speed drifts (other tenants, CPU steal) by more than the difference measured
    here, so the two are measured in turn: round 1 with then without, round 2 without then with,
    and so on.  Each level's figures pool every round; each round's p95 is kept as well.
    """
    runs = {True: Run("rapport"), False: Run("rapport without action server")}
    stacks: dict[bool, tuple[subprocess.Popen, str]] = {}
    pooled: dict[tuple[bool, int], list[tuple[int, float]]] = {}
    elapsed: dict[tuple[bool, int], float] = {}
    try:
        for with_actions in (True, False):
            process, url, started = _start_rapport(work / ("with" if with_actions else "without"),
                                                   with_actions=with_actions)
            stacks[with_actions] = (process, url)
            _wait_reply(url, time.monotonic() + 600)
            runs[with_actions].cold_start_s = round(time.monotonic() - started, 1)
        sampler = RssSampler({str(k): process.pid for k, (process, _) in stacks.items()})
        sampler.start()
        for round_number in range(rounds):
            order = (True, False) if round_number % 2 == 0 else (False, True)
            for with_actions in order:
                _, url = stacks[with_actions]
                for concurrency in CONCURRENCY:
                    latencies, throughput = asyncio.run(_turns(url, concurrency, turns))
                    pooled.setdefault((with_actions, concurrency), []).extend(latencies)
                    elapsed[(with_actions, concurrency)] = elapsed.get((with_actions, concurrency), 0.0) + (
                        len(latencies) / throughput)
                    runs[with_actions].rounds_p95_ms.setdefault(str(concurrency), []).append(
                        _percentiles([ms for _, ms in latencies])["p95"])
        sampler.stopping.set()
        sampler.join()
    finally:
        for process, _ in stacks.values():
            _stop(process)
    for with_actions, run in runs.items():
        for concurrency in CONCURRENCY:
            latencies = pooled[(with_actions, concurrency)]
            # throughput over the timed turns of every round (warm-up conversations excluded)
            _record(run, concurrency, latencies, len(latencies) / elapsed[(with_actions, concurrency)])
        peak = round(sampler.peak[str(with_actions)])
        run.peak_rss_mb = {"all (rasa+actions+console)": peak, "total": peak}
    return [runs[True], runs[False]]


def delta_table(runs: list[Run]) -> str:
    with_actions, without = runs
    rows = ["| level | p95 with, per round (ms) | p95 without, per round (ms) | pooled p95 difference (ms) |",
            "|---|---|---|---|"]
    for c in CONCURRENCY:
        key = str(c)
        difference = with_actions.latency_ms[key]["p95"] - without.latency_ms[key]["p95"]
        rows.append(f"| {c} concurrent | {', '.join(map(str, with_actions.rounds_p95_ms[key]))} | "
                    f"{', '.join(map(str, without.rounds_p95_ms[key]))} | {difference:+.1f} |")
    return "\n".join(rows)


def bench_bare(turns: int, work: Path) -> Run:
    """A bare Rasa project: same domain and data, Rasa's default config, stock channels, no actions."""
    run = Run("bare rasa (default config)")
    project = work / "bare"
    project.mkdir()
    shutil.copy(ROOT / "domain.yml", project / "domain.yml")
    shutil.copytree(ROOT / "data", project / "data", ignore=shutil.ignore_patterns("entities.yml", "content.yml", "canned_replies.yml"))
    shutil.copy(ROOT / "config-heavy.yml", project / "config.yml")
    (project / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    (project / "endpoints.yml").write_text("", encoding="utf-8")
    env = rasa_env()
    started = time.monotonic()
    subprocess.run(rasa_command() + ["train", "--fixed-model-name", "bare"], cwd=project, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    run.training_s = round(time.monotonic() - started, 1)
    port = _free_port()
    started = time.monotonic()
    process = subprocess.Popen(rasa_command() + ["run", "--port", str(port), "--model", "models/bare.tar.gz"],
                               cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _measure(run, {"rasa": process}, f"http://127.0.0.1:{port}/webhooks/rest/webhook", turns, started)
    finally:
        _stop(process)
    return run


def table(runs: list[Run]) -> str:
    rows = ["| measure | " + " | ".join(r.name for r in runs) + " |", "|---|" + "---|" * len(runs)]
    rows.append("| training (s) | " + " | ".join(f"{r.training_s}" for r in runs) + " |")
    rows.append("| cold start to first reply (s) | " + " | ".join(f"{r.cold_start_s}" for r in runs) + " |")
    for c in CONCURRENCY:
        key = str(c)
        rows.append(f"| p50 / p95 / p99 at {c} concurrent (ms) | " + " | ".join(
            f"{r.latency_ms[key]['p50']} / {r.latency_ms[key]['p95']} / {r.latency_ms[key]['p99']}" for r in runs) + " |")
        rows.append(f"| throughput at {c} concurrent (turns/s) | " + " | ".join(f"{r.throughput[key]}" for r in runs) + " |")
    rows.append("| peak RSS (MB) | " + " | ".join(
        ", ".join(f"{k}: {v}" for k, v in r.peak_rss_mb.items()) for r in runs) + " |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200, help="turns per concurrency level")
    parser.add_argument("--skip-bare", action="store_true", help="only measure Rapport")
    parser.add_argument("--actions-delta", action="store_true",
                        help="measure Rapport with and without the action server (the cost of personalisation)")
    parser.add_argument("--rounds", type=int, default=3, help="--actions-delta: alternating rounds per level")
    parser.add_argument("--out", default="assistant.json", help="file name under bench/results/")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        if args.actions_delta:
            from bot import settings as settings_module
            from bot.training import ensure_model

            ensure_model(settings_module.load())  # both stacks use the current model; train if there is none
            runs = bench_actions_delta(args.turns, Path(tmp), max(1, args.rounds))
        else:
            runs = [bench_rapport(args.turns, Path(tmp) / "var")]
            if not args.skip_bare:
                runs.append(bench_bare(args.turns, Path(tmp)))
    output = table(runs)
    if args.actions_delta:
        output += "\n\n" + delta_table(runs)
    print(output)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(), "turns_per_level": args.turns,
        "rounds": args.rounds if args.actions_delta else 1, "runs": [asdict(r) for r in runs], "table": output,
    }
    out = ROOT / "bench" / "results" / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
