import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ERRORS, type ErrorCode, GridgateError } from '../../processors/errors.js';
import type { RowProblem } from '../../processors/registry/types.js';
import { RowsRejected } from '../../processors/registry/validate.js';

/** What every API error looks like on the wire (README, "Errors"). */
export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  details: readonly string[];
  /** A refused device import: each bad row with its line. */
  problems?: readonly RowProblem[];
}

/** Room for a caller to echo a URL or content type in a message without echoing a whole attack. */
const ECHO_MAX = 200;

function echo(text: string | undefined): string {
  const t = text ?? '';
  return t.length > ECHO_MAX ? `${t.slice(0, ECHO_MAX)}…` : t;
}

/**
 * A 4xx that fastify or a plugin raised without a catalogue code gets the first of these whose
 * catalogue status it has, else GG_ERR_BAD_REQUEST.
 */
const BY_STATUS: readonly ErrorCode[] = [
  'GG_ERR_UNAUTHORIZED',
  'GG_ERR_FORBIDDEN',
  'GG_ERR_NOT_FOUND',
  'GG_ERR_CONFLICT',
  'GG_ERR_BODY_TOO_LARGE',
  'GG_ERR_UNSUPPORTED_MEDIA_TYPE',
];

/**
 * Any error a route, hook or fastify itself raised -> a catalogue error. fastify's own codes
 * (FST_ERR_CTP_*, FST_ERR_VALIDATION) are translated so a client sees one vocabulary (JSON bodies
 * are parseJsonBody's, which throws catalogue errors itself); anything that is not a client mistake
 * becomes GG_ERR_INTERNAL, whose message names the request id and never the cause (it may hold a
 * path, a URL or a stack).
 */
function toGridgateError(err: unknown, req: FastifyRequest, log: Logger): GridgateError {
  if (err instanceof GridgateError) return err;
  const e = err as Partial<FastifyError> & { validation?: { instancePath?: string; message?: string }[] };
  const route = `${req.method} ${echo(req.routeOptions.url ?? req.url.split('?')[0])}`;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return GridgateError.of('GG_ERR_BODY_TOO_LARGE', [req.routeOptions.bodyLimit, route]);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return GridgateError.of('GG_ERR_UNSUPPORTED_MEDIA_TYPE', [echo(req.headers['content-type'])]);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return GridgateError.of('GG_ERR_BAD_REQUEST', ['the body length does not match content-length']);
    case 'FST_ERR_VALIDATION':
      return new GridgateError(
        'GG_ERR_BAD_REQUEST',
        e.message ?? 'request does not match the route schema',
        (e.validation ?? []).map((v) => `${v.instancePath || '(body)'}: ${v.message ?? 'invalid'}`),
      );
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = BY_STATUS.find((c) => ERRORS[c].statusCode === status) ?? 'GG_ERR_BAD_REQUEST';
    return new GridgateError(code, e.message ?? ERRORS[code].template);
  }
  log.error({ err, reqId: req.id, route }, 'HTTP handler failed');
  return GridgateError.of('GG_ERR_INTERNAL', [req.id]);
}

/** The server's error handler: every error leaves as an ApiErrorBody with the catalogue's status. */
export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply, log: Logger) {
  const ge = toGridgateError(err, req, log);
  // A body that is too large is not read: closing the connection stops the upload instead of
  // leaving the client sending (and the socket holding) the rest of it.
  if (ge.code === 'GG_ERR_BODY_TOO_LARGE') reply.header('connection', 'close');
  const body: ApiErrorBody = { code: ge.code, message: ge.message, details: ge.details };
  if (ge instanceof RowsRejected) body.problems = ge.problems;
  return reply.status(ge.statusCode).send(body);
}

/** 404 for a path or method the API does not have. */
export function routeNotFound(req: FastifyRequest): GridgateError {
  return GridgateError.of('GG_ERR_ROUTE_NOT_FOUND', [req.method, echo(req.url.split('?')[0])]);
}

/** Keys that secure-json-parse (fastify's JSON parser) refuses: setting them could change prototypes. */
const RISKY = /__proto__|constructor|\\u/;

/**
 * application/json bodies. Like fastify's default parser (secure-json-parse, protoAction 'error'),
 * a body holding `__proto__` or `constructor.prototype` is refused, but with a message that says
 * so instead of "Body is not valid JSON". The reviver only runs when the text could hold one of
 * those keys (an escaped `\u005f_proto__` included, hence `\u`).
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) {
    throw GridgateError.of('GG_ERR_BODY_INVALID', [
      'JSON',
      'it is empty; send a JSON value, or no content-type header with no body',
    ]);
  }
  try {
    if (!RISKY.test(text)) return JSON.parse(text);
    return JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw GridgateError.of('GG_ERR_BODY_FORBIDDEN_KEY', ['__proto__']);
      if (
        key === 'constructor' &&
        typeof value === 'object' &&
        value !== null &&
        Object.hasOwn(value, 'prototype')
      ) {
        throw GridgateError.of('GG_ERR_BODY_FORBIDDEN_KEY', ['constructor.prototype']);
      }
      return value;
    });
  } catch (err) {
    if (err instanceof GridgateError) throw err;
    throw GridgateError.of('GG_ERR_BODY_INVALID', ['JSON', (err as Error).message]);
  }
}
