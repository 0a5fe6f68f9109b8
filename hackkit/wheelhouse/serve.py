"""``hackkit wheelhouse serve``: a folder of wheels as a simple package index (PEP 503) for the room.

Pages are made from the folder at each request, so a wheel a mentor adds by hand (a CPU torch
for another platform) is served at once. Standard library only: it runs where hackkit runs.
"""

from __future__ import annotations

import html
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from hackkit.errors import HackkitError
from hackkit.wheelhouse.folder import distributions, project_name, sha256


class IndexHandler(SimpleHTTPRequestHandler):
    """``/simple/`` lists projects, ``/simple/NAME/`` their files with hashes; the files are served as they are."""

    hashes: ClassVar[dict[tuple[str, float, int], str]] = {}

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/simple", "/simple/"):
            names = sorted({project_name(f) for f in distributions(self.folder)})
            self.page("Simple index", [(f"{name}/", name) for name in names])
        elif path.startswith("/simple/"):
            self.project(path.removeprefix("/simple/").strip("/"))
        else:
            super().do_GET()

    @property
    def folder(self) -> Path:
        return Path(self.directory)

    def project(self, name: str) -> None:
        files = [f for f in distributions(self.folder) if project_name(f) == name]
        if not files:
            self.send_error(404, f"{name} is not in this wheelhouse")
            return
        self.page(f"Links for {name}", [(f"/{f.name}#sha256={self.digest(f)}", f.name) for f in files])

    def digest(self, file: Path) -> str:
        stat = file.stat()
        key = (file.name, stat.st_mtime, stat.st_size)
        if key not in self.hashes:
            self.hashes[key] = sha256(file)
        return self.hashes[key]

    def page(self, title: str, links: list[tuple[str, str]]) -> None:
        items = "\n".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a><br>' for href, text in links)
        body = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n{items}\n</body></html>\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def index_server(folder: Path, host: str = "127.0.0.1", port: int = 3141) -> ThreadingHTTPServer:
    """A server for ``folder``, bound but not yet serving (call ``serve_forever``)."""
    if not distributions(folder):
        raise HackkitError(f"{folder} holds no wheels.", hint=f"hackkit wheelhouse PROJECT -o {folder} first")
    try:
        return ThreadingHTTPServer((host, port), partial(IndexHandler, directory=str(folder)))
    except OSError as exc:
        raise HackkitError(f"Cannot listen on {host}:{port}: {exc.strerror}.", hint="choose another --port") from exc


def serve(folder: Path, host: str = "127.0.0.1", port: int = 3141) -> None:
    server = index_server(folder, host, port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
