"""The gateway's refusals, in OpenAI's error shape, so every SDK raises the right exception.

``ApiError(status, message, type, code)`` renders as ``{"error": {"message", "type", "param",
"code"}}`` with OpenAI's status codes: 400 invalid body, 401 bad or revoked key, 403 model not
allowed, 404 unknown model, 413 too large, 429 rate limit or budget spent, 502/503/504 when every
upstream failed. It is a :class:`HackkitError`, so the CLI shows the same message and fix.
"""

from __future__ import annotations

from typing import Any

from hackkit.errors import HackkitError

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    410: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "api_error",
    503: "api_error",
    504: "api_error",
}


class ApiError(HackkitError):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
        held: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.held = held  # a refusal for what calls in flight hold (budget, tokens): it may pass once they settle
        self.status = status
        self.code = code
        self.type = type or TYPES.get(status, "api_error")
        self.param = param
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        message = f"{self.message} ({self.hint})" if self.hint else self.message
        return {"error": {"message": message, "type": self.type, "param": self.param, "code": self.code}}

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(1, int(-(-self.retry_after // 1))))}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def invalid_key(message: str = "Invalid API key.") -> ApiError:
    return ApiError(
        401, message, code="invalid_api_key", hint="check the key the organisers gave your team (it starts with hk-)"
    )


def error_body_bytes(error: ApiError) -> bytes:
    import json

    return json.dumps(error.body(), ensure_ascii=False).encode()
