"""Chat completions from any OpenAI-compatible server: the hosted API, llama.cpp, vLLM, Ollama.

``adapters.registry`` imports this module (and so ``openai``) only when a tenant sets a
model up; without the package it says "did not enable openai" and the setting is refused.
One question is one request: the client retries nothing (``max_retries=0``), so a slow or
failing server costs at most the tenant's timeout and the caller falls back to its local
reading.
Every failure on the way (timeout, refused connection, an HTTP error status, a body that is
not a chat completion) is raised as ``LlmError`` from the vendor's exception.
"""

from __future__ import annotations

from typing import Any

import openai

from integration.llm import ChatClient, ChatRequest, Completion, LlmError

__all__ = ["OpenAIChatClient"]

# Local servers (llama.cpp, Ollama) accept any key, but the client refuses an empty one.
_NO_KEY = "not-needed"


class OpenAIChatClient(ChatClient):
    """``POST {base_url}/chat/completions`` through the official ``openai`` client."""

    identifier = "openai"

    def __init__(self, *, base_url: str, api_key: str | None, timeout: float,
                 http_client: Any = None) -> None:
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or _NO_KEY,
                                     timeout=timeout, max_retries=0, http_client=http_client)

    def complete(self, request: ChatRequest) -> Completion:
        """Ask once; ``LlmError`` for anything but a usable completion."""
        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if request.json else {}
        try:
            response = self._client.chat.completions.create(
                model=request.model,
                messages=[{"role": "system", "content": request.system},
                          {"role": "user", "content": request.user}],
                max_tokens=request.max_tokens,
                temperature=0,
                timeout=request.timeout,
                **extra,
            )
        except openai.APIStatusError as err:
            raise LlmError(f"HTTP {err.status_code} from the model's server") from err
        except openai.APITimeoutError as err:
            raise LlmError(f"no answer within {request.timeout:g} s") from err
        except openai.OpenAIError as err:
            raise LlmError(f"the model's server could not be used: {err}") from err
        except ValueError as err:  # a body that is not JSON, or not a chat completion
            raise LlmError(f"the model's server answered something else: {err}") from err
        return to_completion(response)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def to_completion(response: Any) -> Completion:
    """The answer and its token counts from a chat completion; ``LlmError`` if it has none."""
    choices = getattr(response, "choices", None) or []
    if not choices or getattr(choices[0], "message", None) is None:
        raise LlmError("the server's answer has no message")
    message = choices[0].message
    usage = getattr(response, "usage", None)
    return Completion(
        text=message.content or "",
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        refusal=getattr(message, "refusal", None) or None,
    )
