// Points Seam's official JavaScript SDK (npm `seam`) at a running identity-server.
//
// tests/sdk/run.sh starts the server and exports IDS_ENDPOINT, IDS_BIN,
// IDS_DATABASE and IDS_CAPTURE_DIR (see tests/sdk/python/identity_server.py).

import { execFileSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'

import { SeamHttp } from 'seam'

const env = (name) => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: run these tests through tests/sdk/run.sh`)
  return value
}

export const endpoint = env('IDS_ENDPOINT')

/** Runs one admin command of the server binary and returns its JSON output. */
export const admin = (...args) => {
  const stdout = execFileSync(
    env('IDS_BIN'),
    ['admin', ...args, '--database', env('IDS_DATABASE')],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  return JSON.parse(stdout)
}

export const newWorkspace = () => {
  const created = admin('workspace', 'create', '--name', `js-sdk-${randomUUID().slice(0, 8)}`)
  return { workspaceId: created.workspace_id, apiKey: created.api_key }
}

export const newPersonalAccessToken = (...workspaces) =>
  admin('pat', 'create', ...workspaces.flatMap((w) => ['--workspace', w.workspaceId]))
    .personal_access_token

/** Bulk-inserts generated identities with the server's own admin command. */
export const seed = (workspace, count) =>
  admin('seed', '--workspace', workspace.workspaceId, '--count', String(count))

let currentTest = ''

/** Names the test that responses are recorded against; call from beforeEach. */
export const setCurrentTest = (name) => {
  currentTest = name
}

/**
 * Records every response exactly as the SDK received it, for
 * schema.test.mjs to check against Seam's published OpenAPI document.
 * It only observes: the response or error is passed on unchanged.
 */
export const captureResponses = (seam, suite, captureFile = join(env('IDS_CAPTURE_DIR'), `${suite}.jsonl`)) => {
  const record = (response) => {
    if (response == null) return
    const url = new URL(response.config.url, response.config.baseURL)
    const query = new URLSearchParams(url.search)
    const params = response.config.params
    const body = typeof response.data === 'object' ? response.data : null
    appendFileSync(
      captureFile,
      `${JSON.stringify({
        suite,
        test: currentTest,
        method: response.config.method.toUpperCase(),
        path: url.pathname,
        query: params == null ? query.toString() : JSON.stringify(params),
        status: response.status,
        content_type: String(response.headers['content-type'] ?? ''),
        request_id: response.headers['seam-request-id'] ?? null,
        body,
        text: body == null ? String(response.data).slice(0, 2000) : null,
      })}\n`,
    )
  }
  seam.client.interceptors.response.use(
    (response) => {
      record(response)
      return response
    },
    (error) => {
      // The SDK wraps the transport error; the response rides on its cause.
      record(error?.response ?? error?.cause?.response)
      throw error
    },
  )
  return seam
}

export const clientFor = (workspace) =>
  captureResponses(SeamHttp.fromApiKey(workspace.apiKey, { endpoint }), 'js')

export const clientWithApiKey = (apiKey) =>
  captureResponses(SeamHttp.fromApiKey(apiKey, { endpoint }), 'js')

export const clientWithPersonalAccessToken = (token, workspaceId) =>
  captureResponses(SeamHttp.fromPersonalAccessToken(token, workspaceId, { endpoint }), 'js')
