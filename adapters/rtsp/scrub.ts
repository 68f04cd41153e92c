/**
 * Removes RTSP credentials from text ffmpeg wrote (its errors echo the input URL, userinfo and
 * all) before the text is logged, kept as a status or put into an error message.
 */
export function makeScrubber(secrets: readonly (string | undefined)[]): (text: string) => string {
  const words = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    words.add(s);
    words.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is replaced whole.
  const list = [...words].filter((w) => w.length > 0).sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
    for (const w of list) out = out.split(w).join('***');
    return out;
  };
}

/** The URL handed to ffmpeg: credentials go into the userinfo, percent-encoded (RFC 3986 §3.2.1). */
export function urlWithCredentials(url: string, username?: string, password?: string): string {
  if (!username && !password) return url;
  const u = new URL(url);
  u.username = encodeURIComponent(username ?? '');
  u.password = encodeURIComponent(password ?? '');
  return u.toString();
}
