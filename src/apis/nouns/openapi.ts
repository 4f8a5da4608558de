/** OpenAPI 3.1 description of the proper-noun API and its routes in Tollgate's route form. */
import { problemSchema, type TollgateRoute } from '../routes.js';

const offset = {
  type: 'object',
  required: ['start', 'end'],
  properties: {
    start: { type: 'integer', minimum: 0, description: 'UTF-16 code-unit index (JavaScript string index)' },
    end: { type: 'integer', minimum: 0, description: 'Exclusive; text.slice(start, end) is the occurrence' },
  },
};

const nounType = { type: 'string', enum: ['person', 'place', 'organisation', 'other'] };

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const errors = {
  '400': problem('Invalid input (the problem names the field)'),
  '413': problem('The text or the body is too long'),
  '415': problem('Send application/json or text/plain'),
};

const unitsHeader = {
  'x-tollgate-units': {
    schema: { type: 'string' },
    description: 'Characters (Unicode code points) to meter; billed per 1,000',
  },
};

const textBody = (extra: Record<string, unknown>, required: string[]) => ({
  required: true,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['text', ...required],
        additionalProperties: false,
        properties: {
          text: { type: 'string', minLength: 1, example: 'Ada Lovelace met Charles Babbage in London.' },
          ...extra,
        },
      },
    },
    'text/plain': { schema: { type: 'string', minLength: 1 } },
  },
});

export const nounsOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'Tollgate sample: proper-noun search',
    version: '1.0.0',
    description:
      'Finds the people, places, organisations and other proper nouns in English text (compromise NLP, ' +
      'offline), with every occurrence as UTF-16 offsets, and answers whether given names occur. ' +
      'Metered per character (Unicode code point), priced per 1,000.',
  },
  paths: {
    '/nouns': {
      post: {
        operationId: 'extractNouns',
        summary: 'The proper nouns in a text',
        parameters: [
          {
            name: 'types',
            in: 'query',
            required: false,
            description: 'text/plain only: comma-separated types to keep',
            schema: { type: 'string' },
          },
        ],
        requestBody: textBody({ types: { type: 'array', items: nounType, minItems: 1 } }, []),
        responses: {
          '200': {
            description: 'Proper nouns grouped by type and normalised form, in order of first appearance',
            headers: unitsHeader,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/NounsResponse' } } },
          },
          ...errors,
        },
      },
    },
    '/nouns/search': {
      post: {
        operationId: 'searchNames',
        summary: 'Whether and where given names occur (case- and accent-insensitive, whole words)',
        parameters: [
          {
            name: 'name',
            in: 'query',
            required: false,
            description: 'text/plain only: a name to look for (repeat for several)',
            schema: { type: 'string' },
          },
        ],
        requestBody: textBody(
          { names: { type: 'array', items: { type: 'string', maxLength: 200 }, minItems: 1, maxItems: 100 } },
          ['names'],
        ),
        responses: {
          '200': {
            description: 'One result per name, in the order asked',
            headers: unitsHeader,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/SearchResponse' } } },
          },
          ...errors,
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness',
        'x-internal': true,
        responses: { '200': { description: 'Up' } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        'x-internal': true,
        responses: { '200': { description: 'OpenAPI 3.1' } },
      },
    },
  },
  components: {
    schemas: {
      Noun: {
        type: 'object',
        required: ['text', 'normalized', 'type', 'offsets', 'count'],
        properties: {
          text: { type: 'string', description: 'The first occurrence as written' },
          normalized: { type: 'string', description: 'Lower-case, accents removed, single spaces' },
          type: nounType,
          offsets: { type: 'array', items: offset },
          count: { type: 'integer', minimum: 1 },
        },
      },
      NounsResponse: {
        type: 'object',
        required: ['characters', 'nouns'],
        properties: {
          characters: { type: 'integer' },
          nouns: { type: 'array', items: { $ref: '#/components/schemas/Noun' } },
        },
      },
      SearchResponse: {
        type: 'object',
        required: ['characters', 'results'],
        properties: {
          characters: { type: 'integer' },
          results: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'found', 'count', 'offsets'],
              properties: {
                name: { type: 'string' },
                found: { type: 'boolean' },
                count: { type: 'integer' },
                offsets: {
                  type: 'array',
                  items: {
                    ...offset,
                    properties: {
                      ...offset.properties,
                      type: {
                        oneOf: [nounType, { type: 'null' }],
                        description: 'Proper noun the hit lies in',
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
      Problem: problemSchema,
    },
  },
} as const;

export const nounsRoutes: TollgateRoute[] = [
  { method: 'POST', path: '/nouns', dimension: 'characters', units: 1, public: false },
  { method: 'POST', path: '/nouns/search', dimension: 'characters', units: 1, public: false },
  { method: 'GET', path: '/health', dimension: 'requests', units: 0, public: true },
  { method: 'GET', path: '/openapi.json', dimension: 'requests', units: 0, public: true },
];
