"""ASGI middleware: request ids, body size limit, security headers, JSON access log."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hccbm.service.logs import LOGGER

#: Pages and API: scripts and styles only from this origin, no framing by other sites.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self'"
)
SECURITY_HEADERS = {
    b"content-security-policy": DEFAULT_CSP.encode(),
    b"x-frame-options": b"DENY",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
    b"cross-origin-opener-policy": b"same-origin",
}


class BodyTooLarge(Exception):  # noqa: N818
    pass


class ServiceMiddleware:
    """One pass per HTTP request: id, size limit (413), security headers, one log line."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.log = logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 0}
        path: str = scope["path"]

        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._too_large(send, request_id)
            self._log(scope, 413, started, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if key not in present:
                        headers.append((key, value))
                if b"cache-control" not in present and not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if status_holder["status"] == 0:
                await self._too_large(send, request_id)
                status_holder["status"] = 413
        except Exception:
            self.log.exception("unhandled error", extra={"request_id": request_id})
            raise
        finally:
            self._log(scope, status_holder["status"] or 500, started, request_id)

    async def _too_large(self, send: Send, request_id: str) -> None:
        body = json.dumps({"detail": f"request body larger than {self.max_body_bytes} bytes"})
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            *SECURITY_HEADERS.items(),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})

    def _log(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        route = scope.get("route")
        principal: Any = scope.get("state", {}).get("principal")
        self.log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": scope["method"],
                "route": getattr(route, "path", None) or "(unmatched)",
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": getattr(principal, "user_id", None),
            },
        )
