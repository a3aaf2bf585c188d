// Validators for response bodies, built from the OpenAPI document that Seam
// publishes in npm `@seamapi/types` (version pinned in package.json), or
// from any other OpenAPI 3.0 document, such as the server's own.
//
// The document is OpenAPI 3.0, whose schemas are not plain JSON Schema:
// `nullable: true` widens a type to null, and `exclusiveMinimum: true` is a
// flag on `minimum`. toJsonSchema() rewrites them into JSON Schema draft-07,
// which ajv checks, formats included (uuid, email, date-time, uri).

import { readFileSync } from 'node:fs'

import { openapi } from '@seamapi/types/connect'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'

export const typesVersion = JSON.parse(
  readFileSync(new URL('../node_modules/@seamapi/types/package.json', import.meta.url), 'utf8'),
).version

const componentRef = '#/components/schemas/'

/** Rewrites one OpenAPI 3.0 schema object into JSON Schema draft-07. */
export const toJsonSchema = (schema) => {
  if (Array.isArray(schema)) return schema.map(toJsonSchema)
  if (schema == null || typeof schema !== 'object') return schema

  const out = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-')) continue
    switch (key) {
      case 'nullable':
      case 'discriminator':
      case 'example':
      case 'deprecated':
        continue
      case '$ref':
        out.$ref = value.startsWith(componentRef)
          ? `#/definitions/${value.slice(componentRef.length)}`
          : value
        continue
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value).map(([name, property]) => [name, toJsonSchema(property)]),
        )
        continue
      case 'items':
      case 'additionalProperties':
      case 'not':
        out[key] = typeof value === 'object' ? toJsonSchema(value) : value
        continue
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = value.map(toJsonSchema)
        continue
      default:
        out[key] = value
    }
  }

  if (schema.exclusiveMinimum === true) {
    out.exclusiveMinimum = schema.minimum
    delete out.minimum
  } else if (schema.exclusiveMinimum === false) delete out.exclusiveMinimum
  if (schema.exclusiveMaximum === true) {
    out.exclusiveMaximum = schema.maximum
    delete out.maximum
  } else if (schema.exclusiveMaximum === false) delete out.exclusiveMaximum

  return schema.nullable === true ? allowNull(out) : out
}

const allowNull = (schema) => {
  if (typeof schema.type === 'string' && schema.$ref == null && schema.oneOf == null && schema.anyOf == null && schema.allOf == null) {
    const widened = { ...schema, type: [schema.type, 'null'] }
    if (Array.isArray(schema.enum)) widened.enum = [...schema.enum, null]
    return widened
  }
  return { anyOf: [schema, { type: 'null' }] }
}

const ajv = new Ajv({ allErrors: true, strict: false })
addFormats(ajv)

/**
 * Seam documents no body for 4xx responses, so errors are checked against
 * the envelope that Seam's SDKs parse (see tests/sdk/FINDINGS.md): both
 * SDKs only recognise an API error when `error.type` and `error.message`
 * are strings, and read `validation_errors` on `invalid_input`.
 */
const errorEnvelope = ajv.compile({
  type: 'object',
  required: ['ok', 'error'],
  properties: {
    ok: { const: false },
    error: {
      type: 'object',
      required: ['type', 'message'],
      properties: {
        type: { type: 'string', minLength: 1 },
        message: { type: 'string', minLength: 1 },
        validation_errors: {
          type: 'object',
          properties: { _errors: { type: 'array', items: { type: 'string' } } },
          additionalProperties: {
            type: 'object',
            required: ['_errors'],
            properties: { _errors: { type: 'array', items: { type: 'string' } } },
          },
        },
      },
      if: { properties: { type: { const: 'invalid_input' } } },
      then: { required: ['type', 'message', 'validation_errors'] },
    },
  },
})

/**
 * A response checker for one OpenAPI 3.0 document. checkResponse() returns
 * a list of problems, empty when the body conforms: a body must match the
 * document's schema for the operation and status; where the document gives
 * no schema for an error status (Seam's does not), the error envelope.
 * With `strictStatus`, a status the document does not list is a problem too.
 */
export const createChecker = (document, { strictStatus = false } = {}) => {
  const definitions = Object.fromEntries(
    Object.entries(document.components?.schemas ?? {}).map(([name, schema]) => [name, toJsonSchema(schema)]),
  )
  const validators = new Map()

  const validatorFor = (method, path, status) => {
    const key = `${method.toLowerCase()} ${path} ${status}`
    if (!validators.has(key)) {
      const responses = document.paths?.[path]?.[method.toLowerCase()]?.responses
      const response = responses?.[String(status)]
      const schema = response?.content?.['application/json']?.schema
      validators.set(key, {
        documented: responses != null,
        listed: response != null,
        validate: schema == null ? null : ajv.compile({ ...toJsonSchema(schema), definitions }),
      })
    }
    return validators.get(key)
  }

  const checkResponse = ({ method, path, status, body }) => {
    if (body == null || typeof body !== 'object') {
      return [`${method} ${path} answered ${status} without a JSON object body`]
    }
    const { documented, listed, validate } = validatorFor(method, path, status)
    if (!documented) return [`the document has no ${method} ${path}`]
    if (strictStatus && !listed) return [`the document lists no ${status} response for ${method} ${path}`]
    if (validate != null) return validate(body) ? [] : formatErrors(validate.errors)
    if (status >= 200 && status < 300) return [`the document has no schema for ${method} ${path} ${status}`]
    return errorEnvelope(body) ? [] : formatErrors(errorEnvelope.errors)
  }

  return { checkResponse }
}

/** Checks against Seam's published document (npm @seamapi/types). */
export const { checkResponse } = createChecker(openapi)

const formatErrors = (errors) =>
  (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
