// Every response body that the Python, JavaScript and CLI suites received is
// checked here against the matching response schema of Seam's published
// OpenAPI document (npm @seamapi/types, pinned in package.json), and the SDK
// suites' responses also against the server's own GET /openapi.json, so that
// document cannot drift from what the server answers.
// Run after the three suites, while the server still runs: they record
// responses in IDS_CAPTURE_DIR.

import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { checkResponse, createChecker, typesVersion } from './lib/seam-openapi.mjs'

const captureDir = process.env.IDS_CAPTURE_DIR
if (!captureDir) throw new Error('IDS_CAPTURE_DIR is not set: run these tests through tests/sdk/run.sh')

const suites = (process.env.IDS_SCHEMA_SUITES ?? 'python,js,cli').split(',')

const served = await fetch(new URL('/openapi.json', process.env.IDS_ENDPOINT))
  .then(async (response) => ({ status: response.status, document: await response.json() }))
  .catch((error) => ({ status: null, document: null, error }))

// The operations each suite must have exercised, so that a suite that ran
// nothing cannot pass this check by having nothing to check.
const required = ['/user_identities/create', '/user_identities/get', '/user_identities/list', '/user_identities/delete']

const readCaptures = (suite) => {
  const file = join(captureDir, `${suite}.jsonl`)
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line))
}

/** The CLI prints the body without `ok`, and an error without its details. */
const checkCliPayload = (capture) => {
  if (capture.body?.error != null) {
    const { type, message } = capture.body.error
    return typeof type === 'string' && type !== '' && typeof message === 'string' && message !== ''
      ? []
      : [`error payload without a string type and message: ${JSON.stringify(capture.body)}`]
  }
  return checkResponse({ ...capture, body: { ...capture.body, ok: true } })
}

const groupByOperation = (captures) => {
  const byOperation = new Map()
  for (const capture of captures) {
    const operation = `${capture.method} ${capture.path} -> ${capture.status}`
    byOperation.set(operation, [...(byOperation.get(operation) ?? []), capture])
  }
  return byOperation
}

const problemsOf = (group, check) =>
  group.flatMap((capture) =>
    check(capture).map(
      (problem) => `${capture.test}: ${problem}\n  body: ${JSON.stringify(capture.body ?? capture.text).slice(0, 600)}`,
    ),
  )

describe("identity-server's own /openapi.json", () => {
  test('is served without credentials', () => {
    assert.equal(served.status, 200, String(served.error ?? ''))
    assert.equal(served.document?.openapi, '3.0.0')
  })

  if (served.document == null) return
  const own = createChecker(served.document, { strictStatus: true })

  // The CLI prints neither statuses nor whole bodies, so only the SDK suites are compared here.
  for (const suite of suites.filter((s) => s !== 'cli')) {
    describe(`describes every ${suite} response`, () => {
      for (const [operation, group] of groupByOperation(readCaptures(suite))) {
        test(`${operation} (${group.length} responses)`, () => {
          assert.deepEqual(problemsOf(group, own.checkResponse), [])
        })
      }
    })
  }
})

for (const suite of suites) {
  const captures = readCaptures(suite)

  describe(`${suite} responses match @seamapi/types@${typesVersion}`, () => {
    test('the suite recorded responses for create, get, list and delete', () => {
      const seen = new Set(captures.map((c) => c.path))
      assert.deepEqual(required.filter((path) => !seen.has(path)), [])
    })

    // The CLI prints bodies only; the SDK suites see headers too.
    if (suite !== 'cli') {
      test('every response carries a seam-request-id header', () => {
        const missing = captures.filter((c) => !c.request_id).map((c) => `${c.method} ${c.path} -> ${c.status}`)
        assert.deepEqual(missing, [])
      })
    }

    for (const [operation, group] of groupByOperation(captures)) {
      test(`${operation} (${group.length} responses)`, () => {
        const check = (capture) => (capture.cli_payload ? checkCliPayload(capture) : checkResponse(capture))
        assert.deepEqual(problemsOf(group, check), [])
      })
    }
  })
}
