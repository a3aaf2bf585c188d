// The Seam CLI (the `seam` command shipped in npm `seam`), unchanged, against
// identity-server, run non-interactively the way a script would run it:
//
//   SEAM_CLI_ENDPOINT=http://127.0.0.1:3020 SEAM_CLI_TOKEN=seam_... \
//     seam user-identities create --user_identity_key jean_doe ... -y --remote-schema
//
// `--remote-schema` makes the CLI build its commands from the server's own
// GET /openapi.json. Without it the CLI downloads the newest @seamapi/types
// from npm, which it currently cannot parse (see tests/sdk/FINDINGS.md).

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, test } from 'node:test'

import { endpoint, newPersonalAccessToken, newWorkspace } from './lib/identity-server.mjs'

const cliPath = new URL('./node_modules/seam/bin/seam.js', import.meta.url).pathname
const captureFile = join(process.env.IDS_CAPTURE_DIR, 'cli.jsonl')
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

let currentTest = ''
let workspace

/**
 * Runs `seam ...args` with its own empty home, so no stored login, endpoint
 * or schema cache from this machine leaks in, and returns the parsed stdout.
 */
const seamCli = (args, { token = workspace.apiKey, workspaceId, endpointFlag = false } = {}) => {
  const home = mkdtempSync(join(tmpdir(), 'seam-cli-home-'))
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_STATE_HOME: join(home, 'state'),
    SEAM_CLI_ENDPOINT: endpoint,
    SEAM_CLI_TOKEN: token,
  }
  if (endpointFlag) {
    delete env.SEAM_CLI_ENDPOINT
    args = [...args, '--endpoint', endpoint]
  }
  if (workspaceId == null) delete env.SEAM_CLI_WORKSPACE_ID
  else env.SEAM_CLI_WORKSPACE_ID = workspaceId

  const result = spawnSync(process.execPath, [cliPath, ...args, '-y', '--remote-schema', '--json'], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  })
  let output = null
  try {
    output = JSON.parse(result.stdout)
  } catch {
    // Reported by the assertions below with the raw output.
  }
  const context = `seam ${args.join(' ')} exited ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`

  if (output != null) {
    appendFileSync(
      captureFile,
      `${JSON.stringify({
        suite: 'cli',
        test: currentTest,
        method: 'POST',
        path: `/${args.slice(0, 2).join('/').replace(/-/g, '_')}`,
        query: '',
        // The CLI prints the body less `ok`, and exits 1 on an API error.
        status: result.status === 0 ? 200 : 400,
        cli_payload: true,
        body: output,
      })}\n`,
    )
  }
  return { status: result.status, output, context }
}

const succeeds = (args, options) => {
  const run = seamCli(args, options)
  assert.equal(run.status, 0, run.context)
  assert.ok(run.output != null, run.context)
  return run.output
}

const fails = (args, options) => {
  const run = seamCli(args, options)
  assert.equal(run.status, 1, run.context)
  assert.ok(run.output?.error, run.context)
  return run.output.error
}

/** The CLI tab of Seam's "Create a User Identity" page, verbatim. */
const documentedCreate = ['user-identities', 'create', '--user_identity_key', 'jean_doe', '--email_address', 'jean@example.com', '--phone_number', '+15555550110', '--full_name', 'Jean Doe']

beforeEach((t) => {
  currentTest = t.fullName ?? t.name
  workspace = newWorkspace()
})

describe('seam user-identities', () => {
  test('create runs the documented example', () => {
    const { user_identity: identity } = succeeds(documentedCreate)

    assert.match(identity.user_identity_id, uuidPattern)
    assert.equal(identity.user_identity_key, 'jean_doe')
    assert.equal(identity.email_address, 'jean@example.com')
    assert.equal(identity.phone_number, '+15555550110')
    assert.equal(identity.display_name, 'Jean Doe')
    assert.equal(identity.full_name, 'Jean Doe')
    assert.equal(identity.workspace_id, workspace.workspaceId)
    assert.deepEqual(identity.acs_user_ids, [])
  })

  test('get by id and by key', () => {
    const { user_identity: created } = succeeds(documentedCreate)

    const byId = succeeds(['user-identities', 'get', '--user_identity_id', created.user_identity_id])
    const byKey = succeeds(['user-identities', 'get', '--user-identity-key', 'jean_doe'])

    assert.deepEqual(byId.user_identity, created)
    assert.deepEqual(byKey.user_identity, created)
  })

  test('list, one page at a time', () => {
    const { user_identity: first } = succeeds(documentedCreate)
    const { user_identity: second } = succeeds(['user-identities', 'create', '--full_name', 'Alex Martin'])

    const all = succeeds(['user-identities', 'list'])
    assert.deepEqual(all.user_identities.map((i) => i.user_identity_id), [first.user_identity_id, second.user_identity_id])
    assert.equal(all.pagination.has_next_page, false)

    const page1 = succeeds(['user-identities', 'list', '--limit', '1'])
    assert.deepEqual(page1.user_identities.map((i) => i.user_identity_id), [first.user_identity_id])
    assert.equal(page1.pagination.has_next_page, true)

    const page2 = succeeds(['user-identities', 'list', '--limit', '1', '--page_cursor', page1.pagination.next_page_cursor])
    assert.deepEqual(page2.user_identities.map((i) => i.user_identity_id), [second.user_identity_id])
    assert.equal(page2.pagination.has_next_page, false)

    const searched = succeeds(['user-identities', 'list', '--search', 'alex'])
    assert.deepEqual(searched.user_identities.map((i) => i.user_identity_id), [second.user_identity_id])
  })

  test('update then get', () => {
    const { user_identity: created } = succeeds(documentedCreate)

    succeeds(['user-identities', 'update', '--user_identity_id', created.user_identity_id, '--full_name', 'Jean Q. Doe'])

    const { user_identity: updated } = succeeds(['user-identities', 'get', '--user_identity_id', created.user_identity_id])
    assert.equal(updated.full_name, 'Jean Q. Doe')
    assert.equal(updated.display_name, 'Jean Q. Doe')
    assert.equal(updated.email_address, 'jean@example.com')
  })

  test('delete then get reports user_identity_not_found', () => {
    const { user_identity: created } = succeeds(documentedCreate)

    succeeds(['user-identities', 'delete', '--user_identity_id', created.user_identity_id])

    const error = fails(['user-identities', 'get', '--user_identity_id', created.user_identity_id])
    assert.equal(error.type, 'user_identity_not_found')
    assert.deepEqual(succeeds(['user-identities', 'list']).user_identities, [])
  })

  test('a duplicate key reports duplicate_user_identity_key', () => {
    succeeds(documentedCreate)

    const error = fails(['user-identities', 'create', '--user_identity_key', 'jean_doe'])

    assert.equal(error.type, 'duplicate_user_identity_key')
  })

  test('an invalid email reports invalid_input', () => {
    const error = fails(['user-identities', 'create', '--email_address', 'not-an-email'])

    assert.equal(error.type, 'invalid_input')
  })

  test('a personal access token with a workspace id', () => {
    const token = newPersonalAccessToken(workspace)

    const { user_identity: created } = succeeds(documentedCreate, { token, workspaceId: workspace.workspaceId })

    assert.equal(created.workspace_id, workspace.workspaceId)
    const listed = succeeds(['user-identities', 'list'], { token, workspaceId: workspace.workspaceId })
    assert.deepEqual(listed.user_identities, [created])
  })

  test('--endpoint works in place of SEAM_CLI_ENDPOINT', () => {
    const { user_identity: created } = succeeds(documentedCreate, { endpointFlag: true })

    const listed = succeeds(['user-identities', 'list'], { endpointFlag: true })
    assert.deepEqual(listed.user_identities, [created])
  })

  test('an unknown API key reports unauthorized', () => {
    const error = fails(['user-identities', 'list'], { token: 'seam_unknownkey_0123456789abcdef' })

    assert.equal(error.type, 'unauthorized')
  })
})
