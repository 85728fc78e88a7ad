"""Fuzz every entry point of the running assistant while ten customers converse, and count what broke.

Starts the real stack (``rapport up`` on SQLite, every messaging provider pointed at the loopback
fakes of ``tests/fakes``), then:

1. *quiet*: 10 concurrent REST conversations, no fuzz;
2. *fuzz*: the same 10 conversations while ``--requests`` hostile requests (default 5,000) go to
   every entry point: the REST webhook (with and without ``stream``), socket.io (raw engine.io
   posts, foreign origins), Telegram, Slack, Twilio SMS and WhatsApp, Messenger (signed and
   unsigned), the console (login form, JSON API with a staff token, unauthenticated), the action
   server and Rasa's HTTP API.

Reports requests by status class per entry point, the 5xx count (target 0), process restarts
(target 0), customer turns lost (target 0: a normal turn without a 200 and a reply, or missing
from the tracker store), p95 of the normal turns during the fuzz vs without, and CPU ms per
normal turn (utime+stime of the whole process tree). Prints a table and writes
``bench/results/fuzz.json``. Not a test: run on demand,

    RASA_TELEMETRY_ENABLED=false .venv/bin/python bench/fuzz_bench.py [--requests 5000] [--turns 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels.webhooks import slack_headers, twilio_signature  # noqa: E402
from tests.fakes.providers import MESSENGER_APP_SECRET, TELEGRAM_SECRET_TOKEN, provider_env, start_fakes  # noqa: E402
from tests.support.hostile import CONTROL, LONE_SURROGATES, MARKUP, deep_json, deep_object  # noqa: E402
from tests.support.stack import Stack, start_stack  # noqa: E402

MESSAGES = ["hi there", "how much is delivery", "are you open on sunday", "do you take paypal",
            "can i return a book i bought last week", "where is my order", "do you have signed copies",
            "any author events this month", "can you recommend a good fantasy series", "thanks, bye"]
CONVERSATIONS = 10
TIMEOUT = aiohttp.ClientTimeout(total=20)


# ---------------------------------------------------------------- hostile values (seeded, reproducible)

class Hostile:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self) -> Any:
        r = self.rng.random()
        if r < 0.25:
            return self.rng.choice(LONE_SURROGATES + CONTROL + MARKUP)
        if r < 0.35:
            return "x" * self.rng.choice([5_001, 20_000, 70_000])
        if r < 0.5:
            return self.rng.choice([None, 42, -1, 1.5, True, [], {}, ["a"], {"a": 1}])
        if r < 0.6:
            return self.rng.choice(["", " ", "\u2028", "\u200b"])
        return self.rng.choice(MESSAGES) + self.rng.choice(["", " \ud800", "\x00", "<b>x</b>"])

    def body(self, fields: dict[str, Any]) -> bytes:
        """A JSON body from ``fields`` with some values made hostile, or a broken body outright."""
        r = self.rng.random()
        if r < 0.12:
            return self.rng.choice([b"", b" ", b"\xff\xfe\xfd", b"{", b"[]", b"null", b"NaN",
                                    deep_json(1000).encode(), deep_object(1000).encode(), b"\xed\xa0\x80"])
        document = json.loads(json.dumps(fields))
        for _ in range(self.rng.randint(1, 3)):
            self._poison(document)
        return json.dumps(document, ensure_ascii=True).encode()

    def _poison(self, node: Any) -> None:
        while isinstance(node, dict) and node:
            key = self.rng.choice(list(node))
            if isinstance(node[key], dict) and self.rng.random() < 0.7:
                node = node[key]
                continue
            node[key] = self.text() if self.rng.random() < 0.85 else json.loads(deep_json(60))
            return


# ---------------------------------------------------------------- one fuzz request per entry point

async def _send(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int | str, float]:
    started = time.perf_counter()
    try:
        async with session.request(method, url, **kwargs) as answer:
            await answer.read()
            return answer.status, time.perf_counter() - started
    except asyncio.TimeoutError:
        return "no answer", time.perf_counter() - started
    except aiohttp.ClientError as exc:
        return f"connection: {type(exc).__name__}", time.perf_counter() - started


def _targets(stack: Stack, api_token: str) -> dict[str, Any]:
    rasa, console = stack.rasa_url, stack.console_url
    actions = f"http://127.0.0.1:{stack.actions_port}"

    async def rest(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        body = h.body({"sender": f"fuzz-{h.rng.random()}", "message": "hi", "metadata": {"customer_id": "c1"}})
        suffix = "?stream=true" if h.rng.random() < 0.3 else ""
        return await _send(s, "POST", f"{rasa}/webhooks/rest/webhook{suffix}", data=body,
                           headers={"Content-Type": "application/json"})

    async def socketio(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        if h.rng.random() < 0.2:
            return await _send(s, "GET", f"{rasa}/socket.io/?EIO=4&transport=polling",
                               headers={"Origin": "http://evil.example"})
        async with s.get(f"{rasa}/socket.io/?EIO=4&transport=polling") as answer:
            sid = json.loads((await answer.text())[1:])["sid"]
        await _send(s, "POST", f"{rasa}/socket.io/?EIO=4&transport=polling&sid={sid}", data=b"40")
        packet = h.rng.choice([
            b'42["user_uttered",' + h.body({"message": "hi", "session_id": "s" * 32}) + b"]",
            b"42" + json.dumps(["user_uttered", h.text()], ensure_ascii=True).encode(),
            b"42" + h.body({"a": 1}), b"4" + deep_json(500).encode(), b"\xff\xfe", b"x" * 70_000,
            b'42["session_request",' + h.body({"session_id": "x"}) + b"]",
        ])
        return await _send(s, "POST", f"{rasa}/socket.io/?EIO=4&transport=polling&sid={sid}", data=packet,
                           headers={"Content-Type": "text/plain;charset=UTF-8"})

    async def telegram(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        update = {"update_id": h.rng.randint(1, 2**31), "message": {"message_id": 1, "date": int(time.time()),
                  "chat": {"id": 7, "type": "private"}, "from": {"id": 7, "is_bot": False, "first_name": "F"},
                  "text": "hi"}}
        headers = {"Content-Type": "application/json"}
        if h.rng.random() < 0.8:
            headers["X-Telegram-Bot-Api-Secret-Token"] = TELEGRAM_SECRET_TOKEN
        return await _send(s, "POST", f"{rasa}/webhooks/telegram/webhook", data=h.body(update), headers=headers)

    async def slack(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        event = {"type": "event_callback", "event_id": f"Ev{h.rng.random()}", "team_id": "T1",
                 "event": {"type": "message", "channel_type": "im", "user": "U1", "text": "hi", "channel": "D1",
                           "ts": "1.0"}}
        body = h.body(event)
        headers = slack_headers(body) if h.rng.random() < 0.8 else {"Content-Type": "application/json"}
        if h.rng.random() < 0.3:
            headers["X-Slack-Retry-Num"] = str(h.rng.randint(1, 3))
        return await _send(s, "POST", f"{rasa}/webhooks/slack/webhook", data=body, headers=headers)

    async def twilio(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        channel = h.rng.choice(["twilio", "whatsapp"])
        params = {"From": "+447700900123", "To": "+15005550006", "Body": "hi", "MessageSid": f"SM{h.rng.random()}"}
        key = h.rng.choice(list(params))
        value = h.text()
        params[key] = value if isinstance(value, str) else json.dumps(value)
        try:
            form = urlencode(params).encode()
        except UnicodeEncodeError:
            form = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in params.items()}).encode()
        path = f"/webhooks/{channel}/webhook"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if h.rng.random() < 0.8:
            try:
                headers["X-Twilio-Signature"] = twilio_signature(f"{rasa}{path}", params)
            except UnicodeEncodeError:
                headers["X-Twilio-Signature"] = "bad"
        return await _send(s, "POST", f"{rasa}{path}", data=form, headers=headers)

    async def messenger(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        import hashlib
        import hmac

        entry = {"object": "page", "entry": [{"id": "P1", "time": 1, "messaging": [
            {"sender": {"id": "PSID1"}, "recipient": {"id": "P1"}, "timestamp": 1,
             "message": {"mid": f"m{h.rng.random()}", "text": "hi"}}]}]}
        body = h.body(entry)
        headers = {"Content-Type": "application/json"}
        if h.rng.random() < 0.8:
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(MESSENGER_APP_SECRET.encode(), body,
                                                                   hashlib.sha256).hexdigest()
        return await _send(s, "POST", f"{rasa}/webhooks/messenger/webhook", data=body, headers=headers)

    async def console_api(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        route = h.rng.choice(["reply", "notes", "transfer", "claim"])
        ticket = h.rng.choice(["1", "999999", "-1", "%ED%A0%80", "99999999999999999999", "abc"])
        headers = {"Content-Type": h.rng.choice(["application/json", "text/plain", "application/x-www-form-urlencoded"])}
        if h.rng.random() < 0.8:
            headers["Authorization"] = f"Bearer {api_token}"
        body = h.body({"text": "hello", "team": "orders", "staff_id": 1})
        return await _send(s, "POST", f"{console}/api/tickets/{ticket}/{route}", data=body, headers=headers)

    async def console_login(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        email, password = h.text(), h.text()
        try:
            form = urlencode({"email": str(email), "password": str(password), "csrf": "x"}).encode()
        except UnicodeEncodeError:
            form = b"email=%ED%A0%80&password=%FF"
        return await _send(s, "POST", f"{console}/login", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, allow_redirects=False)

    async def action_server(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        body = h.body({"next_action": "action_what_do_you_know", "sender_id": "victim",
                       "tracker": {"sender_id": "victim", "slots": {}, "events": [], "latest_message": {}}})
        return await _send(s, "POST", f"{actions}/webhook", data=body, headers={"Content-Type": "application/json"})

    async def rasa_api(s: aiohttp.ClientSession, h: Hostile) -> tuple[int | str, float]:
        token = f"?token={stack.token}" if h.rng.random() < 0.5 else ""
        path = h.rng.choice(["/model/parse", "/conversations/fuzz/tracker/events", "/conversations/fuzz/messages"])
        return await _send(s, "POST", f"{rasa}{path}{token}", data=h.body({"text": "hi", "event": "bot", "sender": "user"}),
                           headers={"Content-Type": "application/json"})

    return {"rest": rest, "socket.io": socketio, "telegram": telegram, "slack": slack, "twilio/whatsapp": twilio,
            "messenger": messenger, "console api": console_api, "console login": console_login,
            "action server": action_server, "rasa http api": rasa_api}


async def fuzz(stack: Stack, api_token: str, requests: int, seed: int, concurrency: int = 4) -> dict[str, Any]:
    targets = _targets(stack, api_token)
    names = list(targets)
    counts: dict[str, Counter] = defaultdict(Counter)
    slow_refusals: Counter = Counter()
    slowest_refusal = 0.0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)

    async def worker(index: int) -> None:
        nonlocal slowest_refusal
        hostile = Hostile(seed * 1000 + index)
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            while not queue.empty():
                n = queue.get_nowait()
                name = names[n % len(names)]
                status, took = await targets[name](session, hostile)
                kind = f"{status // 100}xx" if isinstance(status, int) else status
                counts[name][kind] += 1
                if isinstance(status, int) and 400 <= status < 500:
                    slowest_refusal = max(slowest_refusal, took)
                    if took > 1.0:
                        slow_refusals[name] += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return {"by_entry_point": {k: dict(v) for k, v in counts.items()},
            "refusals_over_1s": dict(slow_refusals), "slowest_refusal_s": round(slowest_refusal, 3)}


# ---------------------------------------------------------------- the customers who must not notice

async def conversations(stack: Stack, turns: int, tag: str) -> dict[str, Any]:
    latencies: list[float] = []
    lost: list[str] = []
    senders: dict[str, int] = {}
    per = max(1, turns // CONVERSATIONS)

    async def customer(index: int, session: aiohttp.ClientSession) -> None:
        sender = ""
        for n in range(per):
            if n % len(MESSAGES) == 0:
                sender = f"customer-{tag}-{index}-{os.urandom(3).hex()}"
                senders[sender] = 0
            started = time.perf_counter()
            try:
                async with session.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                                        json={"sender": sender, "message": MESSAGES[n % len(MESSAGES)]}) as answer:
                    replies = await answer.json(content_type=None) if answer.status == 200 else None
                    ok = answer.status == 200 and bool(replies)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            senders[sender] += 1
            if not ok:
                lost.append(f"{sender} turn {n}")

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(customer(i, session) for i in range(CONVERSATIONS)))
    missing = _missing_from_tracker(stack, senders)
    ordered = sorted(latencies)
    return {"turns": len(latencies), "lost": len(lost) + missing, "lost_examples": lost[:5],
            "missing_from_tracker": missing,
            "p50_ms": round(ordered[len(ordered) // 2], 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1)}


def _missing_from_tracker(stack: Stack, senders: dict[str, int]) -> int:
    """Turns answered but not stored: each sent turn must be a `user` event in the tracker store."""
    with sqlite3.connect(stack.var_dir / "tracker.db", timeout=30) as db:
        missing = 0
        for sender, sent in senders.items():
            stored = db.execute("SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'user'",
                                (sender,)).fetchone()[0]
            missing += max(0, sent - stored)
    return missing


def _tree_cpu_ms(root: int) -> float:
    """utime+stime of ``root`` and all its descendants, in milliseconds."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = defaultdict(list)
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children[int(fields[1])].append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += int(stats[pid][11]) + int(stats[pid][12])
        todo.extend(children.get(pid, []))
    return total * 1000 / tick


def _staff_token(stack: Stack) -> str:
    env = {**stack.env}
    subprocess.run([sys.executable, "-m", "bot.cli", "staff", "add", "--email", "fuzz@example.org", "--name", "Fuzz Agent",
                    "--role", "agent", "--password-stdin"], input=b"correct horse battery\n", env=env, cwd=ROOT,
                   check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "staff", "token", "--email", "fuzz@example.org"],
                          env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return done.stdout.strip().split()[-1]


async def _phase(stack: Stack, turns: int, tag: str, fuzz_requests: int, token: str, seed: int) -> dict[str, Any]:
    cpu_before = _tree_cpu_ms(stack.process.pid)
    started = time.monotonic()
    if fuzz_requests:
        talked, fuzzed = await asyncio.gather(conversations(stack, turns, tag),
                                              fuzz(stack, token, fuzz_requests, seed))
    else:
        talked, fuzzed = await conversations(stack, turns, tag), None
    cpu = _tree_cpu_ms(stack.process.pid) - cpu_before
    talked["seconds"] = round(time.monotonic() - started, 1)
    talked["cpu_ms_per_turn_all_requests"] = round(cpu / max(1, talked["turns"]), 1)
    return {"customers": talked, "fuzz": fuzzed}


def table(result: dict[str, Any]) -> str:
    lines = ["| entry point | 2xx | 3xx | 4xx | 5xx | no answer |", "|---|---|---|---|---|---|"]
    totals: Counter = Counter()
    for name, counts in result["during_fuzz"]["fuzz"]["by_entry_point"].items():
        other = sum(v for k, v in counts.items() if k not in ("2xx", "3xx", "4xx", "5xx"))
        lines.append(f"| {name} | {counts.get('2xx', 0)} | {counts.get('3xx', 0)} | {counts.get('4xx', 0)} | "
                     f"{counts.get('5xx', 0)} | {other} |")
        totals.update(counts)
    lines.append(f"| **all ({sum(totals.values())})** | {totals['2xx']} | {totals['3xx']} | {totals['4xx']} | "
                 f"{totals['5xx']} | {sum(v for k, v in totals.items() if k not in ('2xx', '3xx', '4xx', '5xx'))} |")
    quiet, noisy = result["quiet"]["customers"], result["during_fuzz"]["customers"]
    lines += ["", "| measure | without fuzz | during fuzz | target |", "|---|---|---|---|",
              f"| customer turns | {quiet['turns']} | {noisy['turns']} | |",
              f"| customer turns lost | {quiet['lost']} | {noisy['lost']} | 0 |",
              f"| p50 / p95 of customer turns (ms) | {quiet['p50_ms']} / {quiet['p95_ms']} | "
              f"{noisy['p50_ms']} / {noisy['p95_ms']} | |",
              f"| CPU ms per customer turn, whole stack (incl. fuzz work) | {quiet['cpu_ms_per_turn_all_requests']} | "
              f"{noisy['cpu_ms_per_turn_all_requests']} | |",
              f"| 5xx answers | | {totals['5xx']} | 0 |",
              f"| process restarts | | {result['restarts']} | 0 |",
              f"| slowest 4xx (s) / 4xx over 1 s | | {result['during_fuzz']['fuzz']['slowest_refusal_s']} / "
              f"{sum(result['during_fuzz']['fuzz']['refusals_over_1s'].values())} | < 1 / 0 |"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--turns", type=int, default=300, help="customer turns per phase (10 conversations)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", default="fuzz.json")
    args = parser.parse_args()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    fakes = start_fakes()
    work = Path(tempfile.mkdtemp(prefix="rapport-fuzz-"))
    stack = start_stack(work / "var", RAPPORT_STAFFED_HOURS="mon-sun 00:00-24:00", **provider_env(fakes))
    try:
        token = _staff_token(stack)
        before = stack.children()
        result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                  "load_average": os.getloadavg(), "requests": args.requests, "turns": args.turns}
        result["quiet"] = asyncio.run(_phase(stack, args.turns, "quiet", 0, token, args.seed))
        result["during_fuzz"] = asyncio.run(_phase(stack, args.turns, "fuzz", args.requests, token, args.seed))
        after = stack.children()
        restarted = [name for name in before if after.get(name) != before[name]]
        result["restarts"] = len(restarted) + sum("restarting" in line for line in stack.output)
        result["restarted"] = restarted
        result["load_average_after"] = os.getloadavg()
    finally:
        stack.stop()
        fakes.stop()
    print(table(result))
    out = ROOT / "bench" / "results" / args.out
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
