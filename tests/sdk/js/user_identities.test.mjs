// Seam's official JavaScript SDK (npm `seam`, which bundles `@seamapi/http`),
// unchanged, against identity-server. A failure here is a server bug.

import assert from 'node:assert/strict'
import { beforeEach, describe, test } from 'node:test'

import {
  Seam,
  SeamHttpApiError,
  SeamHttpInvalidInputError,
  SeamHttpUnauthorizedError,
} from 'seam'

import {
  captureResponses,
  clientFor,
  clientWithApiKey,
  clientWithPersonalAccessToken,
  endpoint,
  newPersonalAccessToken,
  newWorkspace,
  seed,
  setCurrentTest,
} from './lib/identity-server.mjs'

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
// The documented example shows millisecond precision in UTC: 2024-01-11T05:37:50.264Z
const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** The request from Seam's "Create a User Identity" page, verbatim. */
const createDocumentedExample = async (seam) =>
  await seam.userIdentities.create({"user_identity_key":"jean_doe","email_address":"jean@example.com","phone_number":"+15555550110","full_name":"Jean Doe"})

const createPerson = async (seam, n, overrides = {}) =>
  await seam.userIdentities.create({
    user_identity_key: `person_${n}`,
    email_address: `person${n}@example.com`,
    phone_number: `+1555555${String(n).padStart(4, '0')}`,
    full_name: `Person Number${n}`,
    ...overrides,
  })

const byCreation = (a, b) =>
  a.created_at === b.created_at
    ? a.user_identity_id.localeCompare(b.user_identity_id)
    : a.created_at.localeCompare(b.created_at)

const ids = (identities) => identities.map((i) => i.user_identity_id)

/** Awaits a call that must fail and returns the error it failed with. */
const failure = async (promise) => {
  try {
    await promise
  } catch (error) {
    return error
  }
  assert.fail('expected the call to fail')
}

const assertApiError = (error, code, status) => {
  assert.equal(error.constructor, SeamHttpApiError, `expected SeamHttpApiError, got ${error}`)
  assert.equal(error.code, code)
  assert.equal(error.statusCode, status)
  assert.ok(error.requestId, 'the seam-request-id header is missing')
  assert.ok(error.message, 'the error message is empty')
}

const assertInvalidInput = (error, parameter) => {
  assert.ok(error instanceof SeamHttpInvalidInputError, `expected SeamHttpInvalidInputError, got ${error}`)
  assert.equal(error.code, 'invalid_input')
  assert.equal(error.statusCode, 400)
  assert.ok(error.requestId)
  assert.ok(
    error.getValidationErrorMessages(parameter).length > 0,
    `no validation message for ${parameter}: ${JSON.stringify(error.validationErrors)}`,
  )
  assert.ok(error.validationErrors.some((e) => e.parameterName === parameter))
}

let workspace
let seam

beforeEach((t) => {
  setCurrentTest(t.fullName ?? t.name)
  workspace = newWorkspace()
  seam = clientFor(workspace)
})

describe('create', () => {
  test('the documented example returns every field', async () => {
    const before = Date.now()

    const identity = await createDocumentedExample(seam)

    assert.match(identity.user_identity_id, uuidPattern)
    assert.equal(identity.user_identity_key, 'jean_doe')
    assert.equal(identity.email_address, 'jean@example.com')
    assert.equal(identity.phone_number, '+15555550110')
    assert.equal(identity.display_name, 'Jean Doe')
    assert.equal(identity.full_name, 'Jean Doe')
    assert.match(identity.created_at, timestampPattern)
    const createdAt = Date.parse(identity.created_at)
    assert.ok(createdAt >= before - 5_000 && createdAt <= Date.now() + 5_000, identity.created_at)
    assert.equal(identity.workspace_id, workspace.workspaceId)
    assert.deepEqual(identity.errors, [])
    assert.deepEqual(identity.warnings, [])
    assert.deepEqual(identity.acs_user_ids, [])
  })

  test('with no fields still has a display name', async () => {
    const identity = await seam.userIdentities.create({})

    assert.equal(identity.user_identity_key, null)
    assert.equal(identity.email_address, null)
    assert.equal(identity.phone_number, null)
    assert.equal(identity.full_name, null)
    assert.ok(identity.display_name, 'display_name must never be empty')
  })

  for (const [field, value, code] of [
    ['user_identity_key', 'jean_doe', 'duplicate_user_identity_key'],
    ['email_address', 'jean@example.com', 'duplicate_email_address'],
    ['email_address', 'JEAN@Example.com', 'duplicate_email_address'],
    ['phone_number', '+15555550110', 'duplicate_phone_number'],
  ]) {
    test(`a duplicate ${field} (${value}) raises ${code}`, async () => {
      await createDocumentedExample(seam)

      const error = await failure(
        seam.userIdentities.create({
          user_identity_key: 'someone_else',
          email_address: 'someone@example.com',
          phone_number: '+15555550199',
          full_name: 'Someone Else',
          [field]: value,
        }),
      )

      assertApiError(error, code, 400)
      assert.equal((await seam.userIdentities.list()).length, 1, 'a rejected create must store nothing')
    })
  }

  for (const [params, parameter] of [
    [{ email_address: 'not-an-email' }, 'email_address'],
    [{ phone_number: '555-0110' }, 'phone_number'],
    [{ full_name: '' }, 'full_name'],
    [{ user_identity_key: '' }, 'user_identity_key'],
    [{ email_address: 42 }, 'email_address'],
  ]) {
    test(`invalid ${parameter} ${JSON.stringify(params[parameter])} raises SeamHttpInvalidInputError`, async () => {
      const error = await failure(seam.userIdentities.create(params))

      assertInvalidInput(error, parameter)
      assert.deepEqual(await seam.userIdentities.list(), [])
    })
  }
})

describe('get', () => {
  test('by id and by key return the created identity', async () => {
    const created = await createDocumentedExample(seam)

    assert.deepEqual(await seam.userIdentities.get({ user_identity_id: created.user_identity_id }), created)
    assert.deepEqual(await seam.userIdentities.get({ user_identity_key: 'jean_doe' }), created)
  })

  test('a malformed id raises SeamHttpInvalidInputError', async () => {
    const error = await failure(seam.userIdentities.get({ user_identity_id: 'not-a-uuid' }))

    assertInvalidInput(error, 'user_identity_id')
  })

  test('an unknown id raises user_identity_not_found', async () => {
    const error = await failure(
      seam.userIdentities.get({ user_identity_id: '00000000-0000-4000-8000-000000000000' }),
    )

    assertApiError(error, 'user_identity_not_found', 404)
  })
})

describe('list', () => {
  test('returns every identity, oldest first', async () => {
    const created = []
    for (const n of [0, 1, 2]) created.push(await createPerson(seam, n))

    const listed = await seam.userIdentities.list()

    assert.deepEqual(listed, [...created].sort(byCreation))
  })

  test('filters by user_identity_ids', async () => {
    const created = []
    for (const n of [0, 1, 2, 3]) created.push(await createPerson(seam, n))
    const wanted = [created[0].user_identity_id, created[2].user_identity_id]

    const listed = await seam.userIdentities.list({ user_identity_ids: wanted })

    assert.deepEqual(ids(listed).sort(), [...wanted].sort())
  })

  test('search matches part of the name, email or phone', async () => {
    const jean = await createDocumentedExample(seam)
    const alex = await createPerson(seam, 7, {
      full_name: 'Alex Martin',
      email_address: 'alex@example.org',
      phone_number: '+447700900123',
    })
    const found = async (search) => ids(await seam.userIdentities.list({ search }))

    assert.deepEqual(await found('Jean'), [jean.user_identity_id])
    assert.deepEqual(await found('jean d'), [jean.user_identity_id])
    assert.deepEqual(await found('example.org'), [alex.user_identity_id])
    assert.deepEqual(await found('7700900'), [alex.user_identity_id])
    assert.deepEqual(await found(alex.user_identity_id.slice(9, 23)), [alex.user_identity_id])
    assert.deepEqual((await found('example')).sort(), [jean.user_identity_id, alex.user_identity_id].sort())
    assert.deepEqual(await found('nobody-has-this'), [])
  })

  test('a zero limit raises SeamHttpInvalidInputError', async () => {
    const error = await failure(seam.userIdentities.list({ limit: 0 }))

    assertInvalidInput(error, 'limit')
  })

  test('createPaginator walks more than one page', async () => {
    const created = []
    for (const n of [0, 1, 2, 3, 4, 5, 6]) created.push(await createPerson(seam, n))
    created.sort(byCreation)

    const paginator = seam.createPaginator(seam.userIdentities.list({ limit: 3 }))
    const [first, firstPagination] = await paginator.firstPage()

    assert.deepEqual(ids(first), ids(created.slice(0, 3)))
    assert.equal(firstPagination.hasNextPage, true)
    assert.equal(typeof firstPagination.nextPageCursor, 'string')
    assert.ok(firstPagination.nextPageCursor)

    const [second, secondPagination] = await paginator.nextPage(firstPagination.nextPageCursor)
    assert.deepEqual(ids(second), ids(created.slice(3, 6)))

    const [third, thirdPagination] = await paginator.nextPage(secondPagination.nextPageCursor)
    assert.deepEqual(ids(third), [created[6].user_identity_id])
    assert.equal(thirdPagination.hasNextPage, false)
    assert.equal(thirdPagination.nextPageCursor, null)

    const everything = await seam.createPaginator(seam.userIdentities.list({ limit: 2 })).flattenToArray()
    assert.deepEqual(everything, created)
  })

  test('a null page_cursor returns the first page', async () => {
    const created = []
    for (const n of [0, 1, 2]) created.push(await createPerson(seam, n))
    created.sort(byCreation)

    // The SDK serializes null as an empty query value: page_cursor=
    const listed = await seam.userIdentities.list({ page_cursor: null, limit: 2 })

    assert.deepEqual(listed, created.slice(0, 2))
  })

  test('pages default to 500 and the limit is capped at 1000', async () => {
    seed(workspace, 1201)

    assert.equal((await seam.userIdentities.list()).length, 500)
    assert.equal((await seam.userIdentities.list({ limit: 5000 })).length, 1000)

    const everything = await seam.createPaginator(seam.userIdentities.list({ limit: 1000 })).flattenToArray()
    assert.equal(everything.length, 1201)
    assert.equal(new Set(ids(everything)).size, 1201)
    assert.deepEqual(ids(everything), ids([...everything].sort(byCreation)))
  })

  test('created_before takes a Date and returns only older identities', async () => {
    const created = []
    for (const n of [0, 1, 2]) {
      created.push(await createPerson(seam, n))
      await new Promise((resolve) => setTimeout(resolve, 10))
    }

    const older = await seam.userIdentities.list({ created_before: new Date(created[1].created_at) })

    assert.deepEqual(ids(older), [created[0].user_identity_id])
  })

  test('createPaginator with a search stays within the search', async () => {
    const matching = []
    for (const n of [0, 1, 2, 3, 4]) matching.push(await createPerson(seam, n, { full_name: `Searchable ${n}` }))
    await createPerson(seam, 99, { full_name: 'Hidden' })

    const found = []
    for await (const identity of seam
      .createPaginator(seam.userIdentities.list({ limit: 2, search: 'searchable' }))
      .flatten()) {
      found.push(identity)
    }

    assert.deepEqual(ids(found), ids(matching.sort(byCreation)))
  })
})

describe('update', () => {
  test('then get shows the change', async () => {
    const created = await createDocumentedExample(seam)

    const result = await seam.userIdentities.update({
      user_identity_id: created.user_identity_id,
      full_name: 'Jean Q. Doe',
      email_address: 'jq@example.com',
    })
    assert.equal(result, undefined)

    const updated = await seam.userIdentities.get({ user_identity_id: created.user_identity_id })
    assert.equal(updated.full_name, 'Jean Q. Doe')
    assert.equal(updated.display_name, 'Jean Q. Doe')
    assert.equal(updated.email_address, 'jq@example.com')
    assert.equal(updated.phone_number, '+15555550110', 'a field absent from the update must stay')
    assert.equal(updated.user_identity_key, 'jean_doe')
    assert.equal(updated.created_at, created.created_at)
  })

  test('null clears the field', async () => {
    const created = await createDocumentedExample(seam)

    await seam.userIdentities.update({ user_identity_id: created.user_identity_id, full_name: null })
    const cleared = await seam.userIdentities.get({ user_identity_id: created.user_identity_id })

    assert.equal(cleared.full_name, null)
    assert.equal(cleared.display_name, 'jean@example.com')
  })

  test('to a duplicate key raises duplicate_user_identity_key', async () => {
    await createDocumentedExample(seam)
    const other = await createPerson(seam, 1)

    const error = await failure(
      seam.userIdentities.update({ user_identity_id: other.user_identity_id, user_identity_key: 'jean_doe' }),
    )

    assertApiError(error, 'duplicate_user_identity_key', 400)
    assert.deepEqual(await seam.userIdentities.get({ user_identity_id: other.user_identity_id }), other)
  })

  test('of an unknown identity raises user_identity_not_found', async () => {
    const error = await failure(
      seam.userIdentities.update({ user_identity_id: '00000000-0000-4000-8000-000000000000', full_name: 'Nobody' }),
    )

    assertApiError(error, 'user_identity_not_found', 404)
  })
})

describe('delete', () => {
  test('then get raises user_identity_not_found', async () => {
    const created = await createDocumentedExample(seam)

    assert.equal(await seam.userIdentities.delete({ user_identity_id: created.user_identity_id }), undefined)

    assertApiError(
      await failure(seam.userIdentities.get({ user_identity_id: created.user_identity_id })),
      'user_identity_not_found',
      404,
    )
    assertApiError(
      await failure(seam.userIdentities.get({ user_identity_key: 'jean_doe' })),
      'user_identity_not_found',
      404,
    )
    assertApiError(
      await failure(seam.userIdentities.delete({ user_identity_id: created.user_identity_id })),
      'user_identity_not_found',
      404,
    )
    assert.deepEqual(await seam.userIdentities.list(), [])
  })
})

describe('authentication', () => {
  test('an unknown API key raises SeamHttpUnauthorizedError', async () => {
    const error = await failure(clientWithApiKey('seam_unknownkey_0123456789abcdef').userIdentities.list())

    assert.ok(error instanceof SeamHttpUnauthorizedError, `got ${error}`)
    assert.equal(error.code, 'unauthorized')
    assert.equal(error.statusCode, 401)
  })

  test('an unknown personal access token raises SeamHttpUnauthorizedError', async () => {
    const client = clientWithPersonalAccessToken('seam_at1_unknowntoken0123456789', workspace.workspaceId)

    const error = await failure(client.userIdentities.list())

    assert.ok(error instanceof SeamHttpUnauthorizedError, `got ${error}`)
  })

  test('a personal access token works with a workspace id', async () => {
    const other = newWorkspace()
    const token = newPersonalAccessToken(workspace, other)
    const inWorkspace = clientWithPersonalAccessToken(token, workspace.workspaceId)
    const inOther = clientWithPersonalAccessToken(token, other.workspaceId)

    const created = await createDocumentedExample(inWorkspace)

    assert.equal(created.workspace_id, workspace.workspaceId)
    assert.deepEqual(await inWorkspace.userIdentities.get({ user_identity_key: 'jean_doe' }), created)
    assert.deepEqual(await seam.userIdentities.get({ user_identity_id: created.user_identity_id }), created)
    assert.deepEqual(await inOther.userIdentities.list(), [])
    assert.equal((await createDocumentedExample(inOther)).workspace_id, other.workspaceId)
  })

  test('a personal access token for another workspace raises SeamHttpUnauthorizedError', async () => {
    const token = newPersonalAccessToken(newWorkspace())

    const error = await failure(clientWithPersonalAccessToken(token, workspace.workspaceId).userIdentities.list())

    assert.ok(error instanceof SeamHttpUnauthorizedError, `got ${error}`)
  })
})

describe('workspace isolation', () => {
  test('another workspace can neither see nor change an identity', async () => {
    const mine = await createDocumentedExample(seam)
    const theirs = clientFor(newWorkspace())

    for (const lookup of [{ user_identity_id: mine.user_identity_id }, { user_identity_key: 'jean_doe' }]) {
      assertApiError(await failure(theirs.userIdentities.get(lookup)), 'user_identity_not_found', 404)
    }
    assert.deepEqual(await theirs.userIdentities.list(), [])
    assert.deepEqual(await theirs.userIdentities.list({ search: 'jean' }), [])
    assert.deepEqual(await theirs.userIdentities.list({ user_identity_ids: [mine.user_identity_id] }), [])
    assertApiError(
      await failure(theirs.userIdentities.update({ user_identity_id: mine.user_identity_id, full_name: 'Hijacked' })),
      'user_identity_not_found',
      404,
    )
    assertApiError(
      await failure(theirs.userIdentities.delete({ user_identity_id: mine.user_identity_id })),
      'user_identity_not_found',
      404,
    )
    assert.deepEqual(await seam.userIdentities.get({ user_identity_id: mine.user_identity_id }), mine)

    // Uniqueness is per workspace: the other workspace may reuse key, email and phone.
    const reused = await createDocumentedExample(theirs)
    assert.notEqual(reused.user_identity_id, mine.user_identity_id)
  })
})

describe('client configuration', () => {
  test('SEAM_API_KEY and SEAM_ENDPOINT configure new Seam()', async () => {
    const saved = { ...process.env }
    process.env.SEAM_API_KEY = workspace.apiKey
    process.env.SEAM_ENDPOINT = endpoint
    try {
      const fromEnv = captureResponses(new Seam(), 'js')
      assert.equal((await createDocumentedExample(fromEnv)).workspace_id, workspace.workspaceId)
    } finally {
      delete process.env.SEAM_API_KEY
      delete process.env.SEAM_ENDPOINT
      Object.assign(process.env, saved)
    }
  })

  test('unicode names round-trip and are searchable', async () => {
    const created = await seam.userIdentities.create({ full_name: 'Zoë Ñúñez-山田', email_address: 'zoe@example.com' })

    assert.equal(created.full_name, 'Zoë Ñúñez-山田')
    assert.deepEqual(await seam.userIdentities.get({ user_identity_id: created.user_identity_id }), created)
    assert.deepEqual(ids(await seam.userIdentities.list({ search: 'Ñúñez-山' })), [created.user_identity_id])
  })

  test('workspaces.get returns the caller\'s workspace', async () => {
    const current = await seam.workspaces.get()

    assert.equal(current.workspace_id, workspace.workspaceId)
    assert.match(current.name, /^js-sdk-/)
  })
})
