// Validators for response bodies, built from the OpenAPI document that Seam
// publishes in npm `@seamapi/types` (version pinned in package.json).
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

const definitions = Object.fromEntries(
  Object.entries(openapi.components.schemas).map(([name, schema]) => [name, toJsonSchema(schema)]),
)

const ajv = new Ajv({ allErrors: true, strict: false })
addFormats(ajv)

const compile = (schema) => ajv.compile({ ...schema, definitions })

/**
 * Seam documents no body for 4xx responses, so errors are checked against
 * the envelope that Seam's SDKs parse (see tests/sdk/FINDINGS.md): both
 * SDKs only recognise an API error when `error.type` and `error.message`
 * are strings, and read `validation_errors` on `invalid_input`.
 */
const errorEnvelope = compile({
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

const successValidators = new Map()

/** The published 200 response schema of an operation, compiled once. */
export const successValidator = (method, path) => {
  const key = `${method.toLowerCase()} ${path}`
  if (!successValidators.has(key)) {
    const operation = openapi.paths[path]?.[method.toLowerCase()]
    const schema = operation?.responses?.['200']?.content?.['application/json']?.schema
    successValidators.set(key, schema == null ? null : compile(toJsonSchema(schema)))
  }
  return successValidators.get(key)
}

/**
 * Checks one response body; returns a list of problems, empty when it conforms.
 * 2xx bodies must match the operation's published 200 schema; error bodies
 * must be Seam's error envelope.
 */
export const checkResponse = ({ method, path, status, body }) => {
  if (body == null || typeof body !== 'object') {
    return [`${method} ${path} answered ${status} without a JSON object body`]
  }
  if (status >= 200 && status < 300) {
    const validate = successValidator(method, path)
    if (validate == null) return [`Seam's OpenAPI documents no 200 response for ${method} ${path}`]
    return validate(body) ? [] : formatErrors(validate.errors)
  }
  return errorEnvelope(body) ? [] : formatErrors(errorEnvelope.errors)
}

const formatErrors = (errors) =>
  (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
