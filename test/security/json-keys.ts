/**
 * Keys that appear more than once in one JSON object of `text`. JSON.parse keeps the last of a
 * repeated key, so a log line's duplicates are only visible in the raw text; this walks it.
 */
export function duplicateKeys(text: string): string[] {
  const dupes: string[] = [];
  // One entry per open container: the keys seen so far for an object, undefined for an array.
  const stack: (Set<string> | undefined)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          s += text.slice(j, j + 2);
          j += 2;
        } else s += text[j++];
      }
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        if (top.has(s)) dupes.push(s);
        top.add(s);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(undefined);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] !== undefined;
    }
  }
  return dupes;
}
