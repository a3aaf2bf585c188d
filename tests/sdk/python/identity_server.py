"""Helpers that point Seam's official Python SDK at a running identity-server.

tests/sdk/run.sh starts the server and exports:
  IDS_ENDPOINT     base URL of the server, e.g. http://127.0.0.1:41234
  IDS_BIN          the identity-server binary, used for its admin commands
  IDS_DATABASE     the database URL the server serves from
  IDS_CAPTURE_DIR  where every response the SDK receives is written, so that
                   tests/sdk/js/schema.test.mjs can check it against Seam's
                   published OpenAPI document
"""

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from seam import AsyncSeam, Seam


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run these tests through tests/sdk/run.sh")
    return value


ENDPOINT = _env("IDS_ENDPOINT")
CAPTURE_FILE = Path(_env("IDS_CAPTURE_DIR")) / "python.jsonl"


@dataclass(frozen=True)
class Workspace:
    workspace_id: str
    api_key: str


def admin(*args: str) -> dict:
    """Runs one admin command of the server binary and returns its JSON output."""
    result = subprocess.run(
        [_env("IDS_BIN"), "admin", *args, "--database", _env("IDS_DATABASE")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"admin {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def new_workspace() -> Workspace:
    created = admin("workspace", "create", "--name", f"python-sdk-{uuid.uuid4().hex[:8]}")
    return Workspace(workspace_id=created["workspace_id"], api_key=created["api_key"])


def new_personal_access_token(*workspaces: Workspace) -> str:
    args = ["pat", "create"]
    for workspace in workspaces:
        args += ["--workspace", workspace.workspace_id]
    return admin(*args)["personal_access_token"]


def seed(workspace: Workspace, count: int) -> None:
    """Bulk-inserts generated identities with the server's own admin command."""
    admin("seed", "--workspace", workspace.workspace_id, "--count", str(count))


def _capture(response: httpx.Response) -> None:
    """Records a response exactly as the SDK received it."""
    response.read()
    try:
        body = response.json()
    except ValueError:
        body = None
    record = {
        "suite": "python",
        "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
        "method": response.request.method,
        "path": response.request.url.path,
        "query": response.request.url.query.decode(),
        "status": response.status_code,
        "content_type": response.headers.get("content-type", ""),
        "request_id": response.headers.get("seam-request-id"),
        "body": body,
        "text": None if body is not None else response.text[:2000],
    }
    with CAPTURE_FILE.open("a", encoding="utf-8") as capture:
        capture.write(json.dumps(record) + "\n")


def _httpx_options() -> dict:
    return {"event_hooks": {"response": [_capture]}}


async def _capture_async(response: httpx.Response) -> None:
    await response.aread()
    _capture(response)


def async_client_for(workspace: Workspace) -> AsyncSeam:
    """The SDK's asyncio client, on httpx.AsyncClient."""
    return AsyncSeam(
        api_key=workspace.api_key,
        endpoint=ENDPOINT,
        httpx_options={"event_hooks": {"response": [_capture_async]}},
    )


def httpx_options() -> dict:
    """Options that record responses; pass to Seam(...) when building a client by hand."""
    return _httpx_options()


def client_for(workspace: Workspace) -> Seam:
    """An API-key client, configured the way the SDK's README says."""
    return Seam(api_key=workspace.api_key, endpoint=ENDPOINT, httpx_options=_httpx_options())


def client_with_api_key(api_key: str) -> Seam:
    return Seam(api_key=api_key, endpoint=ENDPOINT, httpx_options=_httpx_options())


def client_with_personal_access_token(token: str, workspace_id: str) -> Seam:
    return Seam.from_personal_access_token(
        token, workspace_id, endpoint=ENDPOINT, httpx_options=_httpx_options()
    )
