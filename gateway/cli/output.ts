import Table from 'cli-table3';

/**
 * What verbs print: tables and error lists. Colour only goes to a terminal: piped into a file,
 * `grep` or a script, escape codes are noise in the data. NO_COLOR (https://no-color.org: present
 * and not empty) turns colour off everywhere; FORCE_COLOR (not `0`) turns it on for a pipe, as in
 * Node and chalk.
 */
export function colourWanted(
  stream: { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** A cli-table3 table whose header and borders are coloured only when `colourWanted()`. */
export function table(head: string[], colour = colourWanted()): Table.Table {
  // cli-table3 colours the head red and the borders grey unless told to use no styles.
  return new Table(colour ? { head } : { head, style: { head: [], border: [] } });
}

/** Every error on stderr, then how many and where, and exit code 1; true when there were none. */
export function reportErrors(errors: readonly string[], where: string): boolean {
  if (errors.length === 0) return true;
  for (const e of errors) console.error(e);
  console.error(`${errors.length} error(s) in ${where}`);
  process.exitCode = 1;
  return false;
}
