"""Per-test fixtures: a fresh workspace and an SDK client for it."""

import pytest
from seam import Seam

from identity_server import Workspace, client_for, new_workspace


@pytest.fixture
def workspace() -> Workspace:
    """A fresh workspace per test, so tests never see each other's identities."""
    return new_workspace()


@pytest.fixture
def seam(workspace: Workspace) -> Seam:
    client = client_for(workspace)
    yield client
    client.close()
