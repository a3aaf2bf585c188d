"""Seam's official Python SDK (PyPI `seam`), unchanged, against identity-server.

Every call goes through the SDK's public API; a failure here is a server bug.
"""

import asyncio
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from seam import (
    NULL,
    Seam,
    SeamHttpApiError,
    SeamHttpInvalidInputError,
    SeamHttpUnauthorizedError,
)
from seam.resources import UserIdentity

from identity_server import (
    ENDPOINT,
    Workspace,
    async_client_for,
    client_for,
    client_with_api_key,
    client_with_personal_access_token,
    httpx_options,
    new_personal_access_token,
    new_workspace,
    seed,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The documented example shows millisecond precision in UTC: 2024-01-11T05:37:50.264Z
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def create_documented_example(seam: Seam) -> UserIdentity:
    """The request from Seam's "Create a User Identity" page, verbatim."""
    return seam.user_identities.create(user_identity_key="jean_doe", email_address="jean@example.com", phone_number="+15555550110", full_name="Jean Doe")  # fmt: skip


def create_person(seam: Seam, n: int, **overrides) -> UserIdentity:
    fields = {
        "user_identity_key": f"person_{n}",
        "email_address": f"person{n}@example.com",
        "phone_number": f"+1555555{n:04d}",
        "full_name": f"Person Number{n}",
    }
    fields.update(overrides)
    return seam.user_identities.create(**fields)


def assert_api_error(error: SeamHttpApiError, code: str, status: int) -> None:
    assert type(error) is SeamHttpApiError, f"expected a plain SeamHttpApiError, got {type(error)}"
    assert error.code == code
    assert error.status_code == status
    assert error.request_id, "the seam-request-id header is missing"
    assert str(error), "the error message is empty"


def assert_invalid_input(error: SeamHttpInvalidInputError, parameter: str) -> None:
    assert error.code == "invalid_input"
    assert error.status_code == 400
    assert error.request_id
    assert error.get_validation_error_messages(parameter), (
        f"no validation message for {parameter}: {error.validation_errors}"
    )
    assert parameter in [e.parameter_name for e in error.validation_errors]


def sort_key(identity: UserIdentity) -> tuple:
    return (identity.created_at, identity.user_identity_id)


def test_create_documented_example_returns_every_field(seam: Seam, workspace: Workspace):
    before = datetime.now(timezone.utc)

    identity = create_documented_example(seam)

    assert isinstance(identity, UserIdentity)
    assert UUID.match(identity.user_identity_id)
    assert identity.user_identity_key == "jean_doe"
    assert identity.email_address == "jean@example.com"
    assert identity.phone_number == "+15555550110"
    assert identity.display_name == "Jean Doe"
    assert identity.full_name == "Jean Doe"
    assert TIMESTAMP.match(identity.created_at), identity.created_at
    created_at = datetime.fromisoformat(identity.created_at.replace("Z", "+00:00"))
    assert before - timedelta(seconds=5) <= created_at <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert identity.workspace_id == workspace.workspace_id
    assert identity.errors == []
    assert identity.warnings == []
    assert identity.acs_user_ids == []


def test_create_with_no_fields_still_has_a_display_name(seam: Seam):
    identity = seam.user_identities.create()

    assert identity.user_identity_key is None
    assert identity.email_address is None
    assert identity.phone_number is None
    assert identity.full_name is None
    assert identity.display_name, "display_name must never be empty"


def test_get_by_id_and_by_key_return_the_created_identity(seam: Seam):
    created = create_documented_example(seam)

    by_id = seam.user_identities.get(user_identity_id=created.user_identity_id)
    by_key = seam.user_identities.get(user_identity_key="jean_doe")

    assert by_id == created
    assert by_key == created


def test_list_returns_every_identity_oldest_first(seam: Seam):
    created = [create_person(seam, n) for n in range(3)]

    listed = seam.user_identities.list()

    assert listed == sorted(created, key=sort_key)
    assert listed.pagination["has_next_page"] is False
    assert listed.pagination["next_page_cursor"] is None


def test_list_filters_by_user_identity_ids(seam: Seam):
    created = [create_person(seam, n) for n in range(4)]
    wanted = [created[0].user_identity_id, created[2].user_identity_id]

    listed = seam.user_identities.list(user_identity_ids=wanted)

    assert sorted(i.user_identity_id for i in listed) == sorted(wanted)


def test_search_matches_part_of_name_email_or_phone(seam: Seam):
    jean = create_documented_example(seam)
    other = create_person(seam, 7, full_name="Alex Martin", email_address="alex@example.org", phone_number="+447700900123")

    def found(term: str) -> list:
        return [i.user_identity_id for i in seam.user_identities.list(search=term)]

    assert found("Jean") == [jean.user_identity_id]
    assert found("jean d") == [jean.user_identity_id]
    assert found("example.org") == [other.user_identity_id]
    assert found("7700900") == [other.user_identity_id]
    assert found(other.user_identity_id[9:23]) == [other.user_identity_id]
    assert sorted(found("example")) == sorted([jean.user_identity_id, other.user_identity_id])
    assert found("nobody-has-this") == []


def test_paginator_walks_more_than_one_page(seam: Seam):
    created = sorted((create_person(seam, n) for n in range(7)), key=sort_key)

    paginator = seam.create_paginator(seam.user_identities.list, {"limit": 3})
    first, pagination = paginator.first_page()

    assert [i.user_identity_id for i in first] == [i.user_identity_id for i in created[:3]]
    assert pagination.has_next_page is True
    assert isinstance(pagination.next_page_cursor, str) and pagination.next_page_cursor

    second, pagination = paginator.next_page(pagination.next_page_cursor)
    assert [i.user_identity_id for i in second] == [i.user_identity_id for i in created[3:6]]

    third, pagination = paginator.next_page(pagination.next_page_cursor)
    assert [i.user_identity_id for i in third] == [created[6].user_identity_id]
    assert pagination.has_next_page is False
    assert pagination.next_page_cursor is None

    everything = seam.create_paginator(seam.user_identities.list, {"limit": 2}).flatten_to_list()
    assert everything == created


def test_list_with_null_page_cursor_returns_the_first_page(seam: Seam):
    created = sorted((create_person(seam, n) for n in range(3)), key=sort_key)

    # The SDK sends NULL as an empty query value: page_cursor=
    listed = seam.user_identities.list(page_cursor=NULL, limit=2)

    assert listed == created[:2]
    assert listed.pagination["has_next_page"] is True


def test_paginator_with_search_stays_within_the_search(seam: Seam):
    matching = [create_person(seam, n, full_name=f"Searchable {n}") for n in range(5)]
    create_person(seam, 99, full_name="Hidden")

    paginator = seam.create_paginator(seam.user_identities.list, {"limit": 2, "search": "searchable"})

    assert [i.user_identity_id for i in paginator.flatten()] == [
        i.user_identity_id for i in sorted(matching, key=sort_key)
    ]


def test_update_then_get_shows_the_change(seam: Seam):
    created = create_documented_example(seam)

    result = seam.user_identities.update(user_identity_id=created.user_identity_id, full_name="Jean Q. Doe", email_address="jq@example.com")
    assert result is None

    updated = seam.user_identities.get(user_identity_id=created.user_identity_id)
    assert updated.full_name == "Jean Q. Doe"
    assert updated.display_name == "Jean Q. Doe"
    assert updated.email_address == "jq@example.com"
    assert updated.phone_number == "+15555550110", "a field absent from the update must stay"
    assert updated.user_identity_key == "jean_doe"
    assert updated.created_at == created.created_at
    assert updated.user_identity_id == created.user_identity_id


def test_update_with_null_clears_the_field(seam: Seam):
    created = create_documented_example(seam)

    seam.user_identities.update(user_identity_id=created.user_identity_id, full_name=NULL)
    cleared = seam.user_identities.get(user_identity_id=created.user_identity_id)

    assert cleared.full_name is None
    assert cleared.display_name == "jean@example.com"
    assert cleared.email_address == "jean@example.com"


def test_delete_then_get_raises_not_found(seam: Seam):
    created = create_documented_example(seam)

    assert seam.user_identities.delete(user_identity_id=created.user_identity_id) is None

    with pytest.raises(SeamHttpApiError) as by_id:
        seam.user_identities.get(user_identity_id=created.user_identity_id)
    assert_api_error(by_id.value, "user_identity_not_found", 404)

    with pytest.raises(SeamHttpApiError) as by_key:
        seam.user_identities.get(user_identity_key="jean_doe")
    assert_api_error(by_key.value, "user_identity_not_found", 404)

    with pytest.raises(SeamHttpApiError) as again:
        seam.user_identities.delete(user_identity_id=created.user_identity_id)
    assert_api_error(again.value, "user_identity_not_found", 404)

    assert seam.user_identities.list() == []


def test_update_of_unknown_identity_raises_not_found(seam: Seam):
    with pytest.raises(SeamHttpApiError) as error:
        seam.user_identities.update(user_identity_id="00000000-0000-4000-8000-000000000000", full_name="Nobody")
    assert_api_error(error.value, "user_identity_not_found", 404)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("user_identity_key", "jean_doe", "duplicate_user_identity_key"),
        ("email_address", "jean@example.com", "duplicate_email_address"),
        ("email_address", "JEAN@Example.com", "duplicate_email_address"),
        ("phone_number", "+15555550110", "duplicate_phone_number"),
    ],
)
def test_create_duplicate_raises_api_error(seam: Seam, field: str, value: str, code: str):
    create_documented_example(seam)
    fields = {
        "user_identity_key": "someone_else",
        "email_address": "someone@example.com",
        "phone_number": "+15555550199",
        "full_name": "Someone Else",
        field: value,
    }

    with pytest.raises(SeamHttpApiError) as error:
        seam.user_identities.create(**fields)

    assert_api_error(error.value, code, 400)
    assert len(seam.user_identities.list()) == 1, "a rejected create must store nothing"


def test_update_to_a_duplicate_raises_api_error(seam: Seam):
    create_documented_example(seam)
    other = create_person(seam, 1)

    with pytest.raises(SeamHttpApiError) as error:
        seam.user_identities.update(user_identity_id=other.user_identity_id, user_identity_key="jean_doe")

    assert_api_error(error.value, "duplicate_user_identity_key", 400)
    assert seam.user_identities.get(user_identity_id=other.user_identity_id) == other


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"email_address": "not-an-email"}, "email_address"),
        ({"phone_number": "555-0110"}, "phone_number"),
        ({"full_name": ""}, "full_name"),
        ({"user_identity_key": ""}, "user_identity_key"),
    ],
)
def test_create_with_invalid_input_raises_invalid_input_error(seam: Seam, fields: dict, parameter: str):
    with pytest.raises(SeamHttpInvalidInputError) as error:
        seam.user_identities.create(**fields)

    assert_invalid_input(error.value, parameter)
    assert seam.user_identities.list() == []


def test_get_with_malformed_id_raises_invalid_input_error(seam: Seam):
    with pytest.raises(SeamHttpInvalidInputError) as error:
        seam.user_identities.get(user_identity_id="not-a-uuid")

    assert_invalid_input(error.value, "user_identity_id")


def test_list_with_zero_limit_raises_invalid_input_error(seam: Seam):
    with pytest.raises(SeamHttpInvalidInputError) as error:
        seam.user_identities.list(limit=0)

    assert_invalid_input(error.value, "limit")


def test_unknown_api_key_raises_unauthorized_error():
    seam = client_with_api_key("seam_unknownkey_0123456789abcdef")

    with pytest.raises(SeamHttpUnauthorizedError) as error:
        seam.user_identities.list()

    assert error.value.code == "unauthorized"
    assert error.value.status_code == 401


def test_unknown_personal_access_token_raises_unauthorized_error(workspace: Workspace):
    seam = client_with_personal_access_token("seam_at1_unknowntoken0123456789", workspace.workspace_id)

    with pytest.raises(SeamHttpUnauthorizedError):
        seam.user_identities.list()


def test_personal_access_token_with_workspace_id(workspace: Workspace):
    other = new_workspace()
    token = new_personal_access_token(workspace, other)
    in_workspace = client_with_personal_access_token(token, workspace.workspace_id)
    in_other = client_with_personal_access_token(token, other.workspace_id)

    created = create_documented_example(in_workspace)

    assert created.workspace_id == workspace.workspace_id
    assert in_workspace.user_identities.get(user_identity_key="jean_doe") == created
    assert client_for(workspace).user_identities.get(user_identity_id=created.user_identity_id) == created
    assert in_other.user_identities.list() == []
    assert create_documented_example(in_other).workspace_id == other.workspace_id


def test_personal_access_token_for_another_workspace_raises_unauthorized_error(workspace: Workspace):
    token = new_personal_access_token(new_workspace())
    seam = client_with_personal_access_token(token, workspace.workspace_id)

    with pytest.raises(SeamHttpUnauthorizedError):
        seam.user_identities.list()


def test_workspaces_are_isolated(seam: Seam):
    mine = create_documented_example(seam)
    theirs = client_for(new_workspace())

    for lookup in ({"user_identity_id": mine.user_identity_id}, {"user_identity_key": "jean_doe"}):
        with pytest.raises(SeamHttpApiError) as error:
            theirs.user_identities.get(**lookup)
        assert_api_error(error.value, "user_identity_not_found", 404)

    assert theirs.user_identities.list() == []
    assert theirs.user_identities.list(search="jean") == []
    assert theirs.user_identities.list(user_identity_ids=[mine.user_identity_id]) == []

    with pytest.raises(SeamHttpApiError) as error:
        theirs.user_identities.update(user_identity_id=mine.user_identity_id, full_name="Hijacked")
    assert_api_error(error.value, "user_identity_not_found", 404)

    with pytest.raises(SeamHttpApiError) as error:
        theirs.user_identities.delete(user_identity_id=mine.user_identity_id)
    assert_api_error(error.value, "user_identity_not_found", 404)

    assert seam.user_identities.get(user_identity_id=mine.user_identity_id) == mine

    # Uniqueness is per workspace: the other workspace may reuse key, email and phone.
    reused = create_documented_example(theirs)
    assert reused.user_identity_id != mine.user_identity_id


def test_list_pages_default_to_500_and_limit_is_capped_at_1000(seam: Seam, workspace: Workspace):
    seed(workspace, 1201)

    default_page = seam.user_identities.list()
    assert len(default_page) == 500
    assert default_page.pagination["has_next_page"] is True

    assert len(seam.user_identities.list(limit=5000)) == 1000

    everything = seam.create_paginator(seam.user_identities.list, {"limit": 1000}).flatten_to_list()
    assert len(everything) == 1201
    assert len({i.user_identity_id for i in everything}) == 1201
    assert [sort_key(i) for i in everything] == sorted(sort_key(i) for i in everything)


def test_list_created_before_returns_only_older_identities(seam: Seam):
    created = []
    for n in range(3):
        created.append(create_person(seam, n))
        time.sleep(0.01)

    older = seam.user_identities.list(created_before=created[1].created_at)

    assert [i.user_identity_id for i in older] == [created[0].user_identity_id]


def test_unicode_names_round_trip_and_are_searchable(seam: Seam):
    created = seam.user_identities.create(full_name="Zoë Ñúñez-山田", email_address="zoe@example.com")

    assert created.full_name == "Zoë Ñúñez-山田"
    assert created.display_name == "Zoë Ñúñez-山田"
    assert seam.user_identities.get(user_identity_id=created.user_identity_id) == created
    assert [i.user_identity_id for i in seam.user_identities.list(search="Ñúñez-山")] == [created.user_identity_id]


def test_environment_variables_configure_the_client(workspace: Workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SEAM_API_KEY", workspace.api_key)
    monkeypatch.setenv("SEAM_ENDPOINT", ENDPOINT)

    seam = Seam(httpx_options=httpx_options())

    assert create_documented_example(seam).workspace_id == workspace.workspace_id


def test_personal_access_token_from_environment_variables(workspace: Workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SEAM_PERSONAL_ACCESS_TOKEN", new_personal_access_token(workspace))
    monkeypatch.setenv("SEAM_WORKSPACE_ID", workspace.workspace_id)
    monkeypatch.setenv("SEAM_ENDPOINT", ENDPOINT)

    seam = Seam(httpx_options=httpx_options())

    assert create_documented_example(seam).workspace_id == workspace.workspace_id


def test_workspaces_get_returns_the_callers_workspace(seam: Seam, workspace: Workspace):
    current = seam.workspaces.get()

    assert current.workspace_id == workspace.workspace_id
    assert current.name.startswith("python-sdk-")


def test_async_client_creates_pages_and_deletes(workspace: Workspace):
    async def scenario() -> None:
        async with async_client_for(workspace) as seam:
            created = await seam.user_identities.create(user_identity_key="jean_doe", email_address="jean@example.com", phone_number="+15555550110", full_name="Jean Doe")  # fmt: skip
            for n in range(4):
                await seam.user_identities.create(full_name=f"Async {n}")

            assert await seam.user_identities.get(user_identity_key="jean_doe") == created
            paginator = seam.create_paginator(seam.user_identities.list, {"limit": 2})
            assert len(await paginator.flatten_to_list()) == 5

            await seam.user_identities.delete(user_identity_id=created.user_identity_id)
            with pytest.raises(SeamHttpApiError) as error:
                await seam.user_identities.get(user_identity_id=created.user_identity_id)
            assert_api_error(error.value, "user_identity_not_found", 404)

    asyncio.run(scenario())
