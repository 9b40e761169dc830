"""Request body size limit as pure ASGI middleware: declared lengths are refused before
reading, and chunked bodies are counted as they arrive, so no route ever buffers more
than ``max_bytes``."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from floodwatch.api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        seen = 0
        started = cut = answered = False

        async def counting_receive() -> Message:
            # The 413 is sent from here, not by raising through the app: FastAPI reads a
            # body inside its own try/except and answered any error while reading it,
            # this one included, with 400 "There was an error parsing the body". The app
            # is then told the client went away, and whatever it answers is dropped.
            nonlocal seen, cut, answered
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    cut = True
                    if not started:  # else the app already answered without the body
                        answered = True
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 is the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            # An app that does not handle the disconnect it was told of (Starlette's
            # Request.body() raises ClientDisconnect) fails after the 413 went out.
            if not answered:
                raise

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({
            "type": TYPE_BASE + "body-too-large", "title": "Request body too large",
            "status": 413, "detail": f"request bodies are limited to {self.max_bytes} bytes",
        }).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
