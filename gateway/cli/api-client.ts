/** How CLI verbs talk to a running gateway: its HTTP API, with a bearer token when one is set. */
export interface ApiTarget {
  url: string;
  token?: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function apiRequest<T>(
  target: ApiTarget,
  path: string,
  init: { method?: string; body?: unknown; contentType?: string } = {},
): Promise<T> {
  const url = `${target.url.replace(/\/$/, '')}/api/v1${path}`;
  const headers: Record<string, string> = {};
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] = init.contentType ?? 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ApiError(
      `cannot reach the gateway at ${target.url} (${cause}); is it running? (gridgate start)`,
      0,
    );
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const d = data as { code?: string; message?: string; details?: string[] } | undefined;
    const details = d?.details?.length ? `\n  ${d.details.join('\n  ')}` : '';
    throw new ApiError(`${res.status} ${d?.message ?? text}${details}`, res.status);
  }
  return data as T;
}

/** Common options of every verb that talks to the API. */
export function targetFrom(opts: { url?: string; token?: string }): ApiTarget {
  return {
    url: opts.url ?? process.env.GRIDGATE_URL ?? 'http://127.0.0.1:8080',
    token: opts.token ?? process.env.GRIDGATE_TOKEN,
  };
}
