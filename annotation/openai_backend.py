"""Annotation through an OpenAI-compatible chat-completions endpoint (``pip install 'lmlm-kg[annotate]'``).

Retries are the ``openai`` client's own: on 408, 409, 429, 5xx, timeouts and dropped connections
it backs off exponentially (0.5 s doubling to 8 s, with jitter) and honours ``Retry-After`` and
``retry-after-ms`` up to two minutes; ``max_retries`` bounds the attempts. The pipeline bounds the
requests in flight. Every attempt passes an httpx event hook, which counts attempts, HTTP errors
and attempts that got no response (timeouts, dropped connections) for the report.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence

from .backends import BackendConfig, Completion, Request

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-lmlm-request-id"  # names the text an attempt is for (logs, and the test server)
_NO_KEY = "none"  # local servers (vLLM, llama.cpp) accept any key when started without one


class OpenAIBackend:
    """``await OpenAIBackend(config).complete([request])``; one request per call."""

    batch_size = 1

    def __init__(self, config: BackendConfig, api_key: str | None = None):
        try:
            import openai
        except ImportError as e:  # the extra is optional
            raise ImportError(
                "the openai backend needs the annotate extra: pip install 'lmlm-kg[annotate]'"
            ) from e
        self.config = config
        self.model_id = config.model
        self.concurrency = config.concurrency
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or None
        if not api_key and base_url is None:
            raise ValueError(f"no API key: set ${config.api_key_env} (or --base-url for a local server)")
        self._attempts: Counter[str] = Counter()
        self._status: Counter[int] = Counter()
        self._responses = 0
        http_client = openai.DefaultAsyncHttpxClient(
            event_hooks={"request": [self._on_request], "response": [self._on_response]}
        )
        self._errors = (openai.APIError,)
        self.client = openai.AsyncOpenAI(
            api_key=api_key or _NO_KEY,
            base_url=base_url,
            max_retries=config.max_retries,
            timeout=config.timeout,
            http_client=http_client,
        )

    async def _on_request(self, request) -> None:
        self._attempts[request.headers.get(REQUEST_ID_HEADER, "")] += 1

    async def _on_response(self, response) -> None:
        self._responses += 1
        if response.status_code >= 400:
            self._status[response.status_code] += 1
            logger.info(
                "HTTP %d for %s", response.status_code, response.request.headers.get(REQUEST_ID_HEADER)
            )

    async def complete(self, requests: Sequence[Request]) -> list[Completion]:
        return [await self._complete_one(request) for request in requests]

    async def _complete_one(self, request: Request) -> Completion:
        options = {"temperature": self.config.temperature}
        if self.config.max_new_tokens:
            options["max_tokens"] = self.config.max_new_tokens
        try:
            response = await self.client.chat.completions.create(
                model=self.config.model,
                messages=list(request.messages),
                extra_headers={REQUEST_ID_HEADER: request.id},
                **options,
            )
        except self._errors as e:
            attempts = self._attempts[request.id]
            logger.warning("request %s failed after %d attempts: %s", request.id, attempts, e)
            return Completion(request.id, "", error=f"{type(e).__name__}: {e}", attempts=attempts)
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        return Completion(
            request.id,
            (choice.message.content or "") if choice else "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=(choice.finish_reason or "") if choice else "",
            error="" if choice else "response without choices",
            attempts=self._attempts[request.id],
        )

    def stats(self) -> dict:
        attempts = sum(self._attempts.values())
        return {
            "attempts": attempts,
            "retries": attempts - len(self._attempts),
            "http_errors": {str(code): n for code, n in sorted(self._status.items())},
            "attempts_without_response": attempts - self._responses,
        }

    async def aclose(self) -> None:
        await self.client.close()
