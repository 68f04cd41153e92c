/** How CLI verbs talk to a running gateway: its HTTP API, with a bearer token when one is set. */
import type { Command } from 'commander';

/** The options of every verb that talks to the API (see apiOptions). */
export interface ApiOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** Declares the options of every verb that talks to the API. */
export function apiOptions(c: Command): Command {
  return c
    .option('--json', 'print JSON')
    .option('--url <url>', 'gateway HTTP API (default http://127.0.0.1:8080 or GRIDGATE_URL)')
    .option('--token <token>', 'API token (or GRIDGATE_TOKEN)');
}

export interface ApiInit {
  method?: string;
  /** Sent as is when a string, else as JSON. */
  body?: unknown;
  contentType?: string;
  accept?: string;
}

/**
 * One request to `/api/v1<path>` of the gateway that --url, GRIDGATE_URL or the default names, with
 * the --token or GRIDGATE_TOKEN bearer token. Any answer resolves; only a gateway that cannot be
 * reached throws, saying so.
 */
export async function apiFetch(
  o: Pick<ApiOptions, 'url' | 'token'>,
  path: string,
  init: ApiInit = {},
): Promise<Response> {
  const url = o.url ?? process.env.GRIDGATE_URL ?? 'http://127.0.0.1:8080';
  const token = o.token ?? process.env.GRIDGATE_TOKEN;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.accept) headers.accept = init.accept;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] = init.contentType ?? 'application/json';
  }
  try {
    const method = init.method ?? (body ? 'POST' : 'GET');
    return await fetch(`${url.replace(/\/+$/, '')}/api/v1${path}`, { method, headers, body });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`cannot reach the gateway at ${url} (${cause}); is it running? (gridgate start)`);
  }
}

/** The answer's body: parsed JSON, else its text (an export, a proxy's error page). */
export async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A refused request as a person reads it: `<status> <message><hint>`, then one detail a line. */
export function failure(status: number, body: unknown, hint = ''): string {
  const d = body as { message?: string; details?: string[] } | null;
  const message = typeof body === 'string' ? body : (d?.message ?? JSON.stringify(body));
  const details = d?.details?.length ? `\n  ${d.details.join('\n  ')}` : '';
  return `${status} ${message}${hint}${details}`;
}

/** apiFetch, resolving with the parsed body of a 2xx answer and throwing on any other. */
export async function apiRequest<T>(
  o: Pick<ApiOptions, 'url' | 'token'>,
  path: string,
  init: ApiInit = {},
): Promise<T> {
  const res = await apiFetch(o, path, init);
  const body = await readBody(res);
  if (!res.ok) throw new Error(failure(res.status, body));
  return body as T;
}
