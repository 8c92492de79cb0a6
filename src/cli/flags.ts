// One table per command for its flags and the environment variables that stand in for them. From
// the table come node:util parseArgs' options, the usage text and the type of the parsed values,
// so a flag is written once. Usage mistakes throw UsageError, which the entry point prints as one
// line with a pointer to --help (as kubectl does).

import { parseArgs } from 'node:util';
import { parseDuration } from '../api/quantities.js';

export interface FlagSpec<V = unknown> {
  /** One line for the usage text. */
  help: string;
  /** Placeholder of the value in the usage text (e.g. PATH). Absent: a switch (`--x`, `--x=false`). */
  value?: string;
  short?: string;
  /** Environment variable read when the flag is not given (an empty value counts as unset). */
  env?: string;
  /** Used when neither the flag nor the environment variable is set; a function is called then. */
  default?: V | (() => V);
  /** How the usage text shows the default when it is computed (a function) or needs words. */
  defaultText?: string;
  /** Turns the text into the value; throws with a message that says what form is expected. */
  parse?: (text: string) => V;
}

export type FlagTable = Readonly<Record<string, FlagSpec<unknown>>>;

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Parsed<F> = F extends { parse: (text: string) => infer V } ? V : F extends { value: string } ? string : boolean;
type AlwaysSet<F> = F extends { default: unknown } ? true : F extends { value: string } ? false : true;

type KeysWhere<T, Set extends boolean> = { [K in keyof T]: AlwaysSet<T[K]> extends Set ? K : never }[keyof T];

/** The parsed values of a table, with camelCase keys; optional only for a value flag without default. */
export type FlagValues<T extends FlagTable> = { -readonly [K in KeysWhere<T, true> as Camel<K & string>]: Parsed<T[K]> } & {
  -readonly [K in KeysWhere<T, false> as Camel<K & string>]?: Parsed<T[K]>;
};

/** A mistake in how the command was called: printed as one line, exit code 1. */
export class UsageError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Every command takes -h/--help (the entry point answers it before parsing); shown in every usage. */
const HELP: FlagSpec = { help: 'show this help', short: 'h' };

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const isSwitch = (spec: FlagSpec): boolean => spec.value === undefined;

function parseSwitch(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new Error('takes true or false');
}

export interface ParsedArgs<T extends FlagTable> {
  values: FlagValues<T>;
  positionals: string[];
}

/**
 * Parses `args` against `table`: the flag, else its environment variable, else its default.
 * `command` names the command in messages ("mailsync operator"). Switches accept `--x`,
 * `--x=true` and `--x=false`, as kubectl's do.
 */
export function parseFlags<T extends FlagTable>(
  command: string,
  table: T,
  args: string[],
  opts: { positionals?: boolean } = {},
): ParsedArgs<T> {
  // `--switch=false` is not something parseArgs understands: take it out first.
  const explicit: Record<string, boolean> = {};
  const rest: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    const spec = m ? table[m[1]] : undefined;
    if (m && spec && isSwitch(spec)) {
      try {
        explicit[m[1]] = parseSwitch(m[2]);
      } catch {
        throw new UsageError(command, `flag --${m[1]} takes true or false, not "${m[2]}"`);
      }
    } else rest.push(arg);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(table).map(([name, spec]) => [
          name,
          { type: isSwitch(spec) ? ('boolean' as const) : ('string' as const), ...(spec.short ? { short: spec.short } : {}) },
        ]),
      ),
    });
  } catch (err) {
    throw new UsageError(command, parseArgsMessage(err as Error & { code?: string }, table));
  }
  if (!opts.positionals && parsed.positionals.length) throw new UsageError(command, `unexpected argument "${parsed.positionals[0]}"`);

  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    const given = explicit[name] ?? parsed.values[name];
    const fromEnv = spec.env ? process.env[spec.env] || undefined : undefined;
    let value: unknown;
    if (given !== undefined && typeof given !== 'string')
      value = given; // a switch
    else if (given !== undefined) value = convert(command, `--${name}`, spec, given);
    else if (fromEnv !== undefined)
      value = isSwitch(spec) ? convertSwitchEnv(command, spec.env!, fromEnv) : convert(command, `${spec.env} (environment)`, spec, fromEnv);
    else if (spec.default !== undefined) value = typeof spec.default === 'function' ? (spec.default as () => unknown)() : spec.default;
    else value = isSwitch(spec) ? false : undefined;
    values[camel(name)] = value;
  }
  return { values: values as FlagValues<T>, positionals: parsed.positionals };
}

function convert(command: string, where: string, spec: FlagSpec, text: string): unknown {
  if (!spec.parse) return text;
  try {
    return spec.parse(text);
  } catch (err) {
    throw new UsageError(command, `${where}="${text}": ${(err as Error).message}`);
  }
}

function convertSwitchEnv(command: string, env: string, text: string): boolean {
  try {
    return parseSwitch(text);
  } catch {
    throw new UsageError(command, `${env} (environment) takes true or false, not "${text}"`);
  }
}

/** parseArgs' own messages are long and name its internals; ours say what to change. */
function parseArgsMessage(err: Error & { code?: string }, table: FlagTable): string {
  const flag = /'(-[^' ,]+)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = flag.replace(/^-+/, '');
    const spec = table[name] ?? Object.values(table).find((s) => s.short === name);
    if (spec && isSwitch(spec)) return `flag ${flag} takes no value (use ${flag}=false to switch it off)`;
    return `flag ${flag} needs a value${spec?.value ? ` (${spec.value})` : ''}`;
  }
  return err.message;
}

/** The flag lines of a usage text, aligned, with defaults and environment variables. */
export function flagUsage(table: FlagTable): string {
  const rows = Object.entries({ ...table, help: HELP }).map(([name, spec]) => {
    const left = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    const shown = spec.defaultText ?? (spec.default === undefined || typeof spec.default === 'function' ? undefined : String(spec.default));
    const notes = [shown !== undefined ? `default: ${shown}` : '', spec.env ? `env ${spec.env}` : ''].filter(Boolean).join('; ');
    return [left, notes ? `${spec.help} (${notes})` : spec.help];
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`).join('\n');
}

// --- value parsers, for the tables' `parse` --------------------------------------------------------

export const integer =
  (min: number, max: number) =>
  (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
    return n;
  };

export const oneOf =
  <const V extends string>(choices: readonly V[]) =>
  (text: string): V => {
    if (!(choices as readonly string[]).includes(text)) throw new Error(`must be one of ${choices.join(', ')}`);
    return text as V;
  };

/** "30s", "5m", "1h30m", "500ms" to milliseconds, as API fields are read; anything else is refused, not read as a default. */
export function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error('is not a duration: use a number with ms, s, m or h, e.g. 30s, 5m or 1h30m');
  return ms;
}

/** A comma-separated list; blanks dropped. */
export const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
