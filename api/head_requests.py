"""HEAD wherever GET exists (RFC 9110 9.3.2): pure ASGI middleware that answers a HEAD
request as the GET it mirrors, with the GET's status and headers (Content-Length,
ETag, Cache-Control...) and no body.

FastAPI registers only the methods a route names, so HEAD was 405 even on /healthz,
and declaring HEAD on every route would also list it in the OpenAPI document as an
operation of its own. Starlette's plain ``Route`` adds HEAD itself, FastAPI's
``APIRoute`` does not; this is the one place that does it for every GET route, the
dashboard's static files included.

A streaming GET (the SSE live feed) is answered with its headers and then ended: the
response is complete at once, so the server reports a disconnect to the stream, which
stops. WebSocket connections are passed through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def until_finished() -> Message:
            # Once the headers are out the exchange is over: a streaming GET that still
            # listens is told the client has gone.
            return {"type": "http.disconnect"} if finished else await receive()

        async def without_body(message: Message) -> None:
            nonlocal finished
            if finished:
                return  # the rest of a body no one will read
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app({**scope, "method": "GET"}, until_finished, without_body)
