import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { LocatedRow } from './validate.js';

export interface YamlRows {
  rows: LocatedRow[];
  /** Syntax or shape errors of the document itself (`line: message`); rows are empty when any. */
  errors: { line: number; message: string }[];
}

/**
 * A device file: a YAML list of devices, or `{ devices: [...] }`. Each row remembers where it and
 * each of its fields sit, so a validation error points at the exact line.
 */
export function parseDeviceYaml(text: string): YamlRows {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    return {
      rows: [],
      errors: doc.errors.map((e) => ({
        line: lineAt(e.pos[0]),
        message: e.message.split('\n')[0] ?? e.code,
      })),
    };
  }
  let seq: unknown = doc.contents;
  if (isMap(seq)) seq = seq.get('devices', true);
  if (seq === null || seq === undefined) return { rows: [], errors: [] };
  if (!isSeq(seq)) {
    return { rows: [], errors: [{ line: 1, message: 'expected a list of devices, or { devices: [...] }' }] };
  }
  const rows: LocatedRow[] = [];
  for (const item of seq.items) {
    const node = item as Node;
    const line = node.range ? lineAt(node.range[0]) : 1;
    rows.push({
      line,
      input: node.toJSON(),
      lineOf: (path) => {
        if (!isMap(node)) return line;
        // The deepest node that exists on the path: a missing key points at its parent.
        for (let n = path.length; n > 0; n--) {
          const at = node.getIn(path.slice(0, n), true) as Node | undefined;
          if (at && typeof at === 'object' && at.range) return lineAt(at.range[0]);
        }
        return line;
      },
    });
  }
  return { rows, errors: [] };
}
