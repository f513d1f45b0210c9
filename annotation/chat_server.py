"""A local OpenAI-compatible chat-completions server, for the tests and the throughput benchmark.

It speaks the wire format of ``POST /v1/chat/completions`` on 127.0.0.1 (a free port) and answers
each request with ``respond(text)`` of the last user message after ``delay`` seconds (or, for a
``(low, high)`` pair, a delay drawn uniformly from it, seeded by the request id so that every run
sees the same delays). Faults are
scripted per request: ``faults[request_id]`` lists the outcome of the 1st, 2nd ... attempt at that
request (``"429"`` with ``Retry-After``, ``"500"``, ``"503"``, ``"timeout"``: no answer for
``hang`` seconds, ``"ok"``); the request id is the ``x-lmlm-request-id`` header the openai backend
sends. Every attempt is logged (id, attempt, outcome, time).

``max_in_flight`` is the most requests it held at once: the client's bound on concurrency, seen
from the server.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .openai_backend import REQUEST_ID_HEADER

_ERRORS = {"429": ("rate_limit_error", "Rate limit reached"), "500": ("server_error", "Internal error")}
_ERRORS["503"] = ("server_error", "Service unavailable")


@dataclass(frozen=True)
class Attempt:
    request_id: str
    number: int  # 1 for the first attempt at this request id
    outcome: str
    at: float  # time.monotonic()


class ChatServer:
    """``with ChatServer(respond, delay=0.3) as server: ... server.base_url ...``"""

    def __init__(
        self,
        respond: Callable[[str], str] = str,
        *,
        delay: float | tuple[float, float] = 0.0,
        faults: Mapping[str, Sequence[str]] | None = None,
        retry_after: float = 1.0,
        hang: float = 5.0,
    ):
        self.respond = respond
        self.delay = delay
        self.faults = dict(faults or {})
        self.retry_after = retry_after
        self.hang = hang
        self.attempts: list[Attempt] = []
        self._counts: Counter[str] = Counter()
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def next_outcome(self, request_id: str) -> tuple[int, str]:
        with self._lock:
            self._counts[request_id] += 1
            number = self._counts[request_id]
            plan = self.faults.get(request_id, ())
            outcome = plan[number - 1] if number <= len(plan) else "ok"
            self.attempts.append(Attempt(request_id, number, outcome, time.monotonic()))
        return number, outcome

    def delay_for(self, request_id: str) -> float:
        if isinstance(self.delay, tuple):
            return random.Random(request_id).uniform(*self.delay)
        return self.delay

    def enter(self, step: int) -> None:
        with self._lock:
            self.in_flight += step
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def attempts_for(self, request_id: str) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.request_id == request_id]


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects

        def log_message(self, *args) -> None:  # quiet: the attempts log says what happened
            return None

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(
                    404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}}
                )
                return
            server.enter(1)
            try:
                self._answer(body)
            finally:
                server.enter(-1)

        def _answer(self, body: dict) -> None:
            _, outcome = server.next_outcome(self.headers.get(REQUEST_ID_HEADER, ""))
            if outcome == "timeout":
                time.sleep(server.hang)
                outcome = "ok"  # too late: the client has given up on this attempt
            if outcome in _ERRORS:
                kind, message = _ERRORS[outcome]
                headers = {"Retry-After": f"{server.retry_after:g}"} if outcome == "429" else {}
                self._send(int(outcome), {"error": {"message": message, "type": kind, "code": None}}, headers)
                return
            time.sleep(server.delay_for(self.headers.get(REQUEST_ID_HEADER, "")))
            self._send(200, _completion(body, server.respond))

        def _send(self, status: int, payload: dict, headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and closed the connection

    return Handler


def _completion(body: dict, respond: Callable[[str], str]) -> dict:
    messages = body.get("messages") or []
    text = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    answer = respond(text)
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)  # words stand for tokens
    completion_tokens = len(answer.split())
    return {
        "id": f"chatcmpl-{abs(hash(text)) % 10**12}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
