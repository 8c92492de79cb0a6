// The built CLI as a child process: help for every command exits 0, usage mistakes exit 1 with one
// line and a pointer to --help, as kubectl behaves. (What it prints for API errors is tested on a
// real API server in integration/dev/dev-cluster.test.ts.)

import { mailsync } from '../../support/cli.js';

const COMMANDS = ['operator', 'approve', 'deny', 'import'];

test('mailsync, mailsync --help and mailsync help list every command and exit 0', async () => {
  for (const args of [[], ['--help'], ['-h'], ['help']]) {
    const r = await mailsync(args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Usage: mailsync <command> \[flags\]\n/);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  }
});

test.each(
  COMMANDS.flatMap((c) => [
    [c, '--help'],
    [c, '-h'],
    ['help', c],
  ]),
)('mailsync %s %s prints the command help and exits 0', async (...args) => {
  const r = await mailsync(args);
  const command = args[0] === 'help' ? args[1] : args[0];
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(new RegExp(`^Usage: mailsync ${command} `));
  expect(r.stdout).toMatch(/^ {2}-h, --help {2,}show this help$/m);
  expect(r.stdout).toMatch(/^ {6}--kubeconfig PATH /m);
});

test('--help wins over other flags, even bad ones', async () => {
  const r = await mailsync(['approve', 'mailbox', 'ann', '--bogus', '-h']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Usage: mailsync approve mailbox NAME \[flags\]/);
});

test.each([
  [['operator', '--bogus'], 'mailsync operator: unknown flag --bogus', 'mailsync operator'],
  [['operator', '--shards', 'many'], 'mailsync operator: --shards="many": must be an integer from 1 to 1024', 'mailsync operator'],
  [['operator', '--role=leader'], 'mailsync operator: --role="leader": must be one of all, controller, worker', 'mailsync operator'],
  [
    ['operator', '--outgoing-poll', '30'],
    'mailsync operator: --outgoing-poll="30": is not a duration: use a number with ms, s, m or h, e.g. 30s, 5m or 1h30m',
    'mailsync operator',
  ],
  [['operator', '--leader-elect=no'], 'mailsync operator: flag --leader-elect takes true or false, not "no"', 'mailsync operator'],
  [['approve', 'mailbox', 'ann', '--adress', 'a@b.example'], 'mailsync approve: unknown flag --adress', 'mailsync approve'],
  [['deny', 'mailbox'], 'mailsync deny: expected "mailbox NAME", got "mailbox"', 'mailsync deny'],
  [['approve', 'profile', 'x'], 'mailsync approve: expected "mailbox NAME", got "profile x"', 'mailsync approve'],
  [['approve', 'mailbox', 'ann', '-n'], 'mailsync approve: flag -n needs a value (NS)', 'mailsync approve'],
  [['import', 'crm'], 'mailsync import: expected "dynamics", got "crm"', 'mailsync import'],
  [
    ['import', 'dynamics', '--tenant-id', 't', '--client-id', 'c'],
    'mailsync import: --url is required (the Dataverse environment and the app registration to read it with)',
    'mailsync import',
  ],
  [
    ['import', 'dynamics', '--url', 'https://contoso.crm.dynamics.com', '--tenant-id', 't', '--client-id', 'c', '--dry-run=false'],
    'mailsync import: --dry-run=false needs --out DIR: where to write the manifests',
    'mailsync import',
  ],
  [['import', 'dynamics', '--wave-size', '0'], 'mailsync import: --wave-size="0": must be an integer from 1 to 10000', 'mailsync import'],
  [
    ['import', 'dynamics', '--first-sync-since', '1d'],
    'mailsync import: --first-sync-since="1d": must be a duration such as 24h or 90m, or empty for none',
    'mailsync import',
  ],
  [['frobnicate'], 'mailsync: unknown command "frobnicate"', 'mailsync'],
  [['--bogus'], 'mailsync: unknown flag --bogus', 'mailsync'],
])('mailsync %j exits 1 with one line and a pointer to --help', async (args, line, command) => {
  const r = await mailsync(args);
  expect(r).toEqual({ code: 1, stdout: '', stderr: `${line}\nRun '${command} --help' for usage.\n` });
});

test('a bad value in an environment variable names the variable', async () => {
  const r = await mailsync(['operator'], { LOG_LEVEL: 'loud' });
  expect(r).toEqual({
    code: 1,
    stdout: '',
    stderr:
      'mailsync operator: LOG_LEVEL (environment)="loud": must be one of trace, debug, info, warn, error, fatal, silent\nRun \'mailsync operator --help\' for usage.\n',
  });
});
