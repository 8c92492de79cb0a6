import { duration, flagUsage, integer, list, oneOf, parseFlags, UsageError, type FlagTable } from '../../../src/cli/flags.js';

const TABLE = {
  kubeconfig: { value: 'PATH', help: 'kubeconfig to use' },
  namespace: { short: 'n', value: 'NS', env: 'TEST_FLAGS_NAMESPACE', help: 'namespace' },
  role: { value: 'ROLE', default: 'all', parse: oneOf(['all', 'worker']), help: 'role' },
  shards: { value: 'N', default: () => 16, defaultText: 'sixteen', parse: integer(1, 1024), help: 'shards' },
  poll: { value: 'DURATION', parse: duration, help: 'poll' },
  'leader-elect': { default: true, help: 'elect a leader' },
  verbose: { help: 'more output' },
  domains: { value: 'LIST', parse: list, help: 'domains' },
} as const satisfies FlagTable;

const parse = (...args: string[]) => parseFlags('mailsync test', TABLE, args, { positionals: true });
const usageError = (...args: string[]) => {
  try {
    parseFlags('mailsync test', TABLE, args);
  } catch (err) {
    if (err instanceof UsageError) return `${err.command}: ${err.message}`;
    throw err;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
};

afterEach(() => delete process.env.TEST_FLAGS_NAMESPACE);

test('defaults, typed and camelCased; switches are false unless defaulted', () => {
  const { values, positionals } = parse('mailbox', 'ann');
  expect(values).toEqual({
    kubeconfig: undefined,
    namespace: undefined,
    role: 'all',
    shards: 16,
    poll: undefined,
    leaderElect: true,
    verbose: false,
    domains: undefined,
  });
  expect(positionals).toEqual(['mailbox', 'ann']);
});

test('flags win over the environment, which wins over defaults', () => {
  process.env.TEST_FLAGS_NAMESPACE = 'from-env';
  expect(parse().values.namespace).toBe('from-env');
  expect(parse('-n', 'from-flag').values.namespace).toBe('from-flag');
  expect(parse('--namespace=from-flag').values.namespace).toBe('from-flag');
  process.env.TEST_FLAGS_NAMESPACE = '';
  expect(parse().values.namespace).toBeUndefined();
});

test('values are parsed: integers, choices, durations, lists', () => {
  const { values } = parse('--shards', '4', '--role', 'worker', '--poll', '1h30m', '--domains', 'a.example, b.example,');
  expect(values).toMatchObject({ shards: 4, role: 'worker', poll: 5_400_000, domains: ['a.example', 'b.example'] });
});

test('switches take --x, --x=true and --x=false, as kubectl does', () => {
  expect(parse('--leader-elect=false').values.leaderElect).toBe(false);
  expect(parse('--leader-elect=true', '--verbose').values).toMatchObject({ leaderElect: true, verbose: true });
});

test('each mistake is one message that names the flag and the expected form', () => {
  expect(usageError('--frobnicate')).toBe('mailsync test: unknown flag --frobnicate');
  expect(usageError('-x')).toBe('mailsync test: unknown flag -x');
  expect(usageError('--kubeconfig')).toBe('mailsync test: flag --kubeconfig needs a value (PATH)');
  expect(usageError('--verbose=yes')).toBe('mailsync test: flag --verbose takes true or false, not "yes"');
  expect(usageError('--shards', '0')).toBe('mailsync test: --shards="0": must be an integer from 1 to 1024');
  expect(usageError('--role', 'boss')).toBe('mailsync test: --role="boss": must be one of all, worker');
  expect(usageError('--poll', '5 minutes')).toBe(
    'mailsync test: --poll="5 minutes": is not a duration: use a number with ms, s, m or h, e.g. 30s, 5m or 1h30m',
  );
  expect(usageError('stray')).toBe('mailsync test: unexpected argument "stray"');
});

test('a bad environment value names the variable', () => {
  const table = { shards: { value: 'N', env: 'TEST_FLAGS_SHARDS', parse: integer(1, 4), help: 'shards' } } as const satisfies FlagTable;
  process.env.TEST_FLAGS_SHARDS = 'many';
  try {
    expect(() => parseFlags('mailsync test', table, [])).toThrow('TEST_FLAGS_SHARDS (environment)="many": must be an integer from 1 to 4');
  } finally {
    delete process.env.TEST_FLAGS_SHARDS;
  }
});

test('the usage text comes from the same table: every flag, its value, default and variable, and --help', () => {
  expect(flagUsage(TABLE).split('\n')).toEqual([
    '      --kubeconfig PATH  kubeconfig to use',
    '  -n, --namespace NS     namespace (env TEST_FLAGS_NAMESPACE)',
    '      --role ROLE        role (default: all)',
    '      --shards N         shards (default: sixteen)',
    '      --poll DURATION    poll',
    '      --leader-elect     elect a leader (default: true)',
    '      --verbose          more output',
    '      --domains LIST     domains',
    '  -h, --help             show this help',
  ]);
});
