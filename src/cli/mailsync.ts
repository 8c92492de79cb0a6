#!/usr/bin/env node
// The `mailsync` command, also the kubectl plugin `kubectl mailsync` when installed as
// kubectl-mailsync. Each subcommand is a row of COMMANDS: its synopsis, its flag table (usage text,
// parser options and the type of its values come from that table) and what it runs. It behaves as
// kubectl does: -h/--help anywhere prints the command's help and exits 0; a usage mistake is one
// line and a pointer to --help, exit 1; an API error is the server's one-line message, and a
// refusal names the missing permission. A command's module is loaded only when it runs, so help
// and usage errors answer at once.

import { APPROVE_FLAGS } from './approve-flags.js';
import { flagUsage, parseFlags, UsageError, type FlagTable, type ParsedArgs } from './flags.js';
import { OPERATOR_FLAGS } from './operator-flags.js';
import { apiMessage, statusCode } from '../kube/errors.js';
import { FAILURES_FLAGS } from './failures-flags.js';
import { IMPORT_FLAGS } from './import-flags.js';

/** What a command returns: an exit code, or 'running' for a server that keeps the process alive. */
type Outcome = number | 'running';

interface Command {
  /** After "mailsync ": the command and its arguments. */
  synopsis: string;
  summary: string;
  /** Extra paragraphs for the command's --help. */
  details?: string;
  flags: FlagTable;
  positionals: boolean;
  run(args: string[], name: string): Promise<Outcome>;
}

/** Binds a command's flag table to its run function with the table's own types. */
function command<T extends FlagTable>(
  c: Omit<Command, 'run'> & { flags: T; main(parsed: ParsedArgs<T>, name: string): Promise<Outcome> },
): Command {
  return { ...c, run: (args, name) => c.main(parseFlags(`mailsync ${name}`, c.flags, args, { positionals: c.positionals }), name) };
}

const MAILBOX_KINDS = ['mailbox', 'mailboxes', 'mbx'];

const decide = (decision: 'Approved' | 'Denied') =>
  command({
    synopsis: `${decision === 'Approved' ? 'approve' : 'deny'} mailbox NAME [flags]`,
    summary: `${decision === 'Approved' ? 'Approve' : 'Deny'} the mailbox's current address (needs the approve verb on mailboxes.mailsync.dev).`,
    details:
      decision === 'Approved'
        ? 'Records the Approved condition for the address the mailbox has now. With --address, only if that is\nstill the address you reviewed.'
        : 'Records the Denied condition for the address the mailbox has now: the mailbox processes no mail.\nWith --address, only if that is still the address you reviewed.',
    flags: APPROVE_FLAGS,
    positionals: true,
    async main({ values, positionals }, name) {
      const [kind, mailbox, ...extra] = positionals;
      if (!MAILBOX_KINDS.includes(kind ?? '') || !mailbox || extra.length) {
        throw new UsageError(`mailsync ${name}`, `expected "mailbox NAME", got "${positionals.join(' ')}"`);
      }
      const { approveMailbox } = await import('./approve.js');
      process.stdout.write(`${await approveMailbox({ ...values, name: mailbox, decision })}\n`);
      return 0;
    },
  });

const COMMANDS: Record<string, Command> = {
  operator: command({
    synopsis: 'operator [flags]',
    summary: 'Run the controller and sync workers.',
    flags: OPERATOR_FLAGS,
    positionals: false,
    async main({ values }) {
      const { runOperator } = await import('./operator.js');
      await runOperator(values);
      return 'running';
    },
  }),
  approve: decide('Approved'),
  deny: decide('Denied'),
  failures: command({
    synopsis: 'failures [MAILBOX] [flags]',
    summary: 'List what failed during sync: messages not processed, failing directions.',
    details: 'Reads status.recentFailures and status.sync of the mailboxes (the viewer role is enough).',
    flags: FAILURES_FLAGS,
    positionals: true,
    async main({ values, positionals }) {
      const { failuresCommand } = await import('./failures.js');
      process.stdout.write(await failuresCommand(values, positionals));
      return 0;
    },
  }),
  import: command({
    synopsis: 'import dynamics [flags]',
    summary:
      "Import a Dynamics 365 organization's email configuration as manifests; hand mailboxes over (--cutover) and back (--rollback).",
    details:
      'Reads the email server profiles, mailboxes and organization email settings of a Dataverse environment (client credentials,\n' +
      'as the Dynamics 365 connector signs in) and writes a Deployment, EmailServerProfiles, Mailboxes, Secret stubs and a\n' +
      'kustomization for one namespace into --out, with MIGRATION-REPORT.md. A dry run unless --dry-run=false: it prints\n' +
      'the verification summary and writes nothing. The client secret comes from --client-secret-file or $DYNAMICS_CLIENT_SECRET.\n' +
      'Apply the output as someone holding the mailsync-credentials-admin and mailsync-approver roles (docs/migration.md).',
    flags: IMPORT_FLAGS,
    positionals: true,
    async main({ values, positionals }) {
      const { importCommand } = await import('./import.js');
      process.stdout.write(await importCommand(values, positionals));
      return 0;
    },
  }),
};

function overview(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.synopsis.length)) + 2;
  return [
    'Usage: mailsync <command> [flags]',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.synopsis.padEnd(width)}${c.summary}`),
    '',
    'Also a kubectl plugin: install as kubectl-mailsync and run `kubectl mailsync approve mailbox NAME`.',
    "Run 'mailsync <command> --help' for a command's flags.",
    '',
  ].join('\n');
}

function help(c: Command): string {
  return [`Usage: mailsync ${c.synopsis}`, '', c.summary, ...(c.details ? ['', c.details] : []), '', 'Flags:', flagUsage(c.flags), ''].join(
    '\n',
  );
}

async function main(argv: string[]): Promise<Outcome> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(overview());
    return 0;
  }
  if (name === 'help') {
    const c = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    if (rest[0] !== undefined && !c) throw new UsageError('mailsync', `unknown command "${rest[0]}"`);
    process.stdout.write(c ? help(c) : overview());
    return 0;
  }
  const c = COMMANDS[name];
  if (!c) throw new UsageError('mailsync', name.startsWith('-') ? `unknown flag ${name}` : `unknown command "${name}"`);
  if (rest.some((a) => a === '-h' || a === '--help')) {
    process.stdout.write(help(c));
    return 0;
  }
  return c.run(rest, name);
}

/** Every failure is one line on stderr; API errors are the server's message, never the raw body. */
function report(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.command}: ${err.message}\nRun '${err.command} --help' for usage.\n`);
    return 1;
  }
  const text = statusCode(err) !== undefined ? apiMessage(err) : err instanceof Error ? err.message : String(err);
  process.stderr.write(`mailsync: ${text.replace(/\s*\n\s*/g, ' ')}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (outcome) => {
    if (outcome !== 'running') process.exit(outcome);
  },
  (err: unknown) => process.exit(report(err)),
);
