"""A local HTTP server speaking OpenAI's chat-completions wire format: the one stand-in allowed for
a paid remote API.

``POST /v1/chat/completions`` with a bearer key answers the FActScore prompts by rule: an
extraction prompt's sentence is split at ", " and " and " into ``- fact`` lines; a judge prompt
answers ``True`` when the fact's last word appears in its passages, else ``False``. Every request
is recorded (path, headers, body) for the test to inspect.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _answer(prompt: str) -> str:
    if prompt.startswith("Please breakdown"):
        sentence = prompt.rstrip().rsplit("Sentence: ", 1)[1]
        parts = re.split(r", | and ", sentence)
        return "\n".join(f"- {p.strip().rstrip('.')}." for p in parts if p.strip())
    passages = prompt.split("Text: ", 1)[1].split("\n\nInput: ", 1)[0]
    fact = prompt.split("Input: ", 1)[1].split(" True or False?", 1)[0]
    last = re.sub(r"\W", "", fact.split()[-1])
    return "True" if last and last in passages else "False"


class ChatServer:
    """``with ChatServer(key) as server:`` serves on ``server.base_url`` until the block ends."""

    def __init__(self, key: str):
        self.key = key
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                if self.headers.get("Authorization") != f"Bearer {server.key}":
                    return self._send(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
                if self.path != "/v1/chat/completions":
                    return self._send(
                        404, {"error": {"message": "not found", "type": "invalid_request_error"}}
                    )
                content = _answer(body["messages"][-1]["content"])
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
