"""Benchmark the relationship store's hot path (``resolve_and_record``) at realistic sizes.

    .venv/bin/python bench/store_bench.py --persons 10000 1000000 --backends sqlite postgres --turns 2000

Bulk-loads N persons with one identity each (one driver-level executemany per batch on SQLite, COPY on
PostgreSQL), then times ``--turns`` calls for random known people and prints p50/p95/p99 and the CPU the
process spent per turn; results, with ``uptime`` before and after, go to bench/results/store.json.
Targets: p95 ≤ 2 ms (SQLite), ≤ 4 ms (PostgreSQL); 1M persons no more than 1.5x slower than 10k.
The machine is shared: read latencies next to the load average recorded with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url  # noqa: E402

from bot.store import InteractionRecord, RelationshipStore  # noqa: E402
from bot.store.models import UTCDateTime  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "store.json"
PG_URL = os.environ.get("RAPPORT_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TOPICS = [f"topic{i}" for i in range(20)]
BATCH = 50_000


async def _bulk_load(store: RelationshipStore, count: int) -> float:
    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    engine = store.database.engine
    async with engine.connect() as connection:
        raw: Any = (await connection.get_raw_connection()).driver_connection
        if store.database.is_sqlite:
            await _sqlite_load(raw, count, UTCDateTime().bind_processor(engine.dialect)(now))
        else:
            await _postgres_load(raw, count, now)
    return time.perf_counter() - started


async def _sqlite_load(raw: Any, count: int, stored_now: str) -> None:
    """Driver-level executemany of plain tuples, all in one transaction (aiosqlite: one hop per batch)."""
    await raw.execute("BEGIN IMMEDIATE")
    for start in range(0, count, BATCH):
        ids = range(start + 1, min(count, start + BATCH) + 1)
        await raw.executemany(
            "INSERT INTO persons (id, tone, language, remembering, created_at, last_seen_at) VALUES (?, ?, ?, 1, ?, ?)",
            [(i, "friendly", "en", stored_now, stored_now) for i in ids],
        )
        await raw.executemany(
            "INSERT INTO identities (id, person_id, channel, sender_id, verified_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(i, i, "web", f"p{i}", "channel", stored_now) for i in ids],
        )
    await raw.execute("COMMIT")
    await raw.execute("ANALYZE")


async def _postgres_load(raw: Any, count: int, now: datetime) -> None:
    for start in range(0, count, BATCH):
        ids = range(start + 1, min(count, start + BATCH) + 1)
        await raw.copy_records_to_table(
            "persons", columns=["id", "tone", "language", "remembering", "created_at", "last_seen_at"],
            records=[(i, "friendly", "en", True, now, now) for i in ids],
        )  # fmt: skip
        await raw.copy_records_to_table(
            "identities", columns=["id", "person_id", "channel", "sender_id", "verified_by", "created_at"],
            records=[(i, i, "web", f"p{i}", "channel", now) for i in ids],
        )  # fmt: skip
    await raw.execute(
        "SELECT setval('persons_id_seq', (SELECT max(id) FROM persons));"
        "SELECT setval('identities_id_seq', (SELECT max(id) FROM identities))"
    )
    await raw.execute("VACUUM ANALYZE")


async def _turns(store: RelationshipStore, count: int, turns: int) -> tuple[list[float], float]:
    """Latency samples (ms) and the process CPU time per turn (ms, all threads)."""
    rng = random.Random(7)
    samples: list[float] = []
    cpu = 0.0
    for turn in range(turns + 100):
        who = rng.randint(1, count)
        record = InteractionRecord(
            channel="web",
            intent="ask",
            topics=tuple(rng.sample(TOPICS, rng.randint(0, 2))),
            content_item=f"article-{rng.randint(1, 50)}" if rng.random() < 0.3 else None,
            content_type="article" if rng.random() < 0.3 else None,
        )
        if record.content_item is None or record.content_type is None:
            record = InteractionRecord(channel="web", intent="ask", topics=record.topics)
        started, cpu_started = time.perf_counter(), time.process_time()
        await store.resolve_and_record("web", f"p{who}", record)
        if turn >= 100:  # warm-up excluded
            samples.append((time.perf_counter() - started) * 1000)
            cpu += time.process_time() - cpu_started
    return samples, cpu * 1000 / turns


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _admin(statement: str) -> None:
    import asyncpg

    parsed = make_url(PG_URL)
    connection = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password, database=parsed.database)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def run_one(backend: str, count: int, turns: int, workdir: Path) -> dict[str, Any]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / f'bench_{count}.db'}"
    else:
        name = f"rapport_bench_{count}_{os.getpid()}"
        await _admin(f'DROP DATABASE IF EXISTS "{name}"')
        await _admin(f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    store = await RelationshipStore.open(url, link_code_secret="bench")
    try:
        load_seconds = await _bulk_load(store, count)
        load_before = _load_average()
        samples, cpu_ms = await _turns(store, count, turns)
        load_after = _load_average()
    finally:
        await store.close()
        if backend == "postgres":
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "backend": backend, "persons": count, "turns": turns, "load_seconds": round(load_seconds, 2),
        "p50_ms": round(_quantile(samples, 0.50), 3), "p95_ms": round(_quantile(samples, 0.95), 3),
        "p99_ms": round(_quantile(samples, 0.99), 3), "mean_ms": round(statistics.fmean(samples), 3),
        "cpu_ms_per_turn": round(cpu_ms, 3), "load_average_before": load_before, "load_average_after": load_after,
    }  # fmt: skip


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--turns", type=int, default=2000)
    args = parser.parse_args(argv)
    results = []
    uptime_before = _uptime()
    print(f"uptime before: {uptime_before}", flush=True)
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as workdir:
        for backend in args.backends:
            for count in args.persons:
                result = await run_one(backend, count, args.turns, Path(workdir))
                results.append(result)
                print(json.dumps(result), file=sys.stderr, flush=True)
    uptime_after = _uptime()
    print(f"uptime after:  {uptime_after}", flush=True)
    print(f"{'backend':<10}{'persons':>10}{'load s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'cpu ms':>9}  load avg (1m) during")
    for r in results:
        during = f"{r['load_average_before'][0]} -> {r['load_average_after'][0]}"
        print(
            f"{r['backend']:<10}{r['persons']:>10}{r['load_seconds']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
            f"{r['cpu_ms_per_turn']:>9}  {during}"
        )
    document = {
        "measured_at": datetime.now(timezone.utc).isoformat(), "cores": os.cpu_count(),
        "uptime_before": uptime_before, "uptime_after": uptime_after, "results": results,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
