"""Browser protections on every response the app sends, errors and refusals included.

Pure ASGI middleware that adds a header only where the route did not set its own: the
dashboard page and the API docs pages carry a Content-Security-Policy fitted to what
they load (api.dashboard, api.api_docs); everything else (JSON, CAP XML, the Atom feed,
the residents' page, problem documents) gets a policy that allows no script at all, so
a value that slipped past escaping still cannot run.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No script, no plugin, no frame, no form target; inline styles only for the residents'
# page (server-rendered, one <style> block), images from here for any HTML.
DEFAULT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

SECURITY_HEADERS = {
    "Content-Security-Policy": DEFAULT_CSP,
    # The declared media type is the only one: an uploaded-looking JSON is never a script.
    "X-Content-Type-Options": "nosniff",
    # frame-ancestors 'none' in the CSP; X-Frame-Options for browsers that predate it.
    "X-Frame-Options": "DENY",
    # Station pages and keys never leak to a tile server or a linked site.
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
