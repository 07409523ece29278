"""A local HTTP server on 127.0.0.1 that answers the Hub endpoints a ``create_commit`` needs.

Endpoints (read from huggingface_hub 2.4's ``hf_api.py`` / ``_commit_api.py`` / ``file_download.py``):

- ``POST /api/repos/create``                              -> 200 ``{"url"}``, 409 when it exists
- ``POST /api/validate-yaml``                             -> 200 ``{"errors": [], "warnings": []}``
- ``POST /api/{type}s/{repo}/preupload/{rev}``            -> every file ``"uploadMode": "regular"``
  (so the commit carries the bytes inline, base64; the real Hub answers "lfs" for big files and the
  client then uploads them through LFS/Xet before the same commit call)
- ``POST /api/{type}s/{repo}/commit/{rev}``               -> NDJSON header + files; one commit
- ``POST /api/{type}s/{repo}/branch/{name}``              -> 200 (branch recorded)
- ``HEAD|GET /{datasets/}{repo}/resolve/{rev}/{path}``    -> a file of the latest commit, or 404
  with ``X-Error-Code: RepoNotFound | EntryNotFound``

It records every request (method, path, headers) and every commit (files by path), so tests can
assert "one commit with every file" or "no commit at all".
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Commit:
    repo: str
    revision: str
    message: str
    files: dict[str, bytes]
    oid: str


@dataclass
class FakeHub:
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)  # "dataset:org/name" -> files
    commits: list[Commit] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    created: list[dict] = field(default_factory=list)  # bodies of /api/repos/create
    branches: set[str] = field(default_factory=set)  # "dataset:org/name@branch"
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seed(self, repo_type: str, repo_id: str, files: dict[str, bytes]) -> None:
        self.repos[f"{repo_type}:{repo_id}"] = dict(files)


_COMMIT = re.compile(r"^/api/(model|dataset|space)s/([^/]+/[^/]+)/(preupload|commit|branch)/([^/?]+)")
_RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, code: int, obj, headers: dict[str, str] | None = None) -> None:
            self._send(code, json.dumps(obj).encode(), headers)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _record(self) -> None:
            hub.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))

        def do_POST(self) -> None:  # noqa: N802
            self._record()
            body = self._body()
            path = self.path.split("?")[0]
            if path == "/api/repos/create":
                req = json.loads(body)
                hub.created.append(req)
                repo_type = req.get("type") or "model"
                repo_id = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
                key = f"{repo_type}:{repo_id}"
                prefix = "" if repo_type == "model" else f"{repo_type}s/"
                url = f"{hub.endpoint}/{prefix}{repo_id}"
                if key in hub.repos:  # the Hub answers 409 with the repo's url
                    return self._json(409, {"error": "You already created this repo", "url": url})
                hub.repos[key] = {}
                return self._json(200, {"url": url})
            if path == "/api/validate-yaml":
                return self._json(200, {"errors": [], "warnings": []})
            m = _COMMIT.match(path)
            if not m:
                return self._json(404, {"error": f"no route {path}"})
            repo_type, repo_id, verb, rev = m.groups()
            key = f"{repo_type}:{repo_id}"
            if key not in hub.repos:
                return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if verb == "branch":
                hub.branches.add(f"{key}@{rev}")
                return self._json(200, {})
            if verb == "preupload":
                files = json.loads(body)["files"]
                return self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                                  for f in files]})
            header, files = None, {}
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "header":
                    header = item["value"]
                elif item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                else:
                    return self._json(400, {"error": f"unsupported operation {item['key']}"})
            oid = hashlib.sha1(repr(sorted(files)).encode() + str(len(hub.commits)).encode()).hexdigest()
            hub.commits.append(Commit(repo_id, rev, header["summary"], files, oid))
            hub.repos[key].update(files)
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            return self._json(200, {"commitUrl": f"{hub.endpoint}/{prefix}{repo_id}/commit/{oid}",
                                    "commitOid": oid, "pullRequestUrl": None})

        def do_HEAD(self) -> None:  # noqa: N802
            self._get()

        def do_GET(self) -> None:  # noqa: N802
            self._get()

        def _get(self) -> None:
            self._record()
            m = _RESOLVE.match(self.path.split("?")[0])
            if not m:
                return self._json(404, {"error": f"no route {self.path}"})
            prefix, repo_id, _rev, file = m.groups()
            repo_type = {"datasets": "dataset", "spaces": "space", None: "model"}[prefix]
            files = hub.repos.get(f"{repo_type}:{repo_id}")
            if files is None:
                return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if file not in files:
                return self._json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            data = files[file]
            etag = hashlib.sha1(data).hexdigest()
            commit = hub.commits[-1].oid if hub.commits else "0" * 40
            return self._send(200, data, {"ETag": f'"{etag}"', "X-Repo-Commit": commit},
                              content_type="application/octet-stream")

    return Handler


class HubServer:
    """``with HubServer() as hub: ...`` serves a :class:`FakeHub` on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self.hub = FakeHub()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.hub))
        self.hub.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self.hub

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def local_hub(monkeypatch, token: str, home=None):
    """A :class:`HubServer` that huggingface_hub talks to (online mode, its endpoint, ``token`` as
    HF_TOKEN, ``home`` as HF_HOME when given), with name resolution refused for every host but
    127.0.0.1: a test can never reach the real Hub."""
    import socket

    from huggingface_hub import constants

    real_getaddrinfo = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost"):
            raise OSError(f"test guard: refused to resolve {host!r}; only 127.0.0.1 may be contacted")
        return real_getaddrinfo(host, *args, **kwargs)

    with HubServer() as hub:
        monkeypatch.setattr(socket, "getaddrinfo", local_only)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setenv("HF_TOKEN", token)
        if home is not None:
            monkeypatch.setenv("HF_HOME", str(home))
        yield hub
