// The cut-over: hand each imported mailbox over to the operator once the operator runs it, by
// setting its Dataverse delivery methods so that Dynamics stops processing it (the rule is in
// cutover-rules.ts), and roll that back. What changed is kept in cutover.json in the output
// directory, written after every row, so that a rollback restores every row changed so far even
// when a cut-over stopped halfway; MIGRATION-REPORT.md shows it.

import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Mailbox } from '../api/types.js';
import type { DataverseClient } from '../crm/dynamics-client.js';
import { recordId } from '../crm/dynamics-odata.js';
import { readDeliveryColumns, type DataverseSnapshot } from './dataverse.js';
import { directionsDynamicsProcesses, handOverChanges, operatorRuns, type DeliveryMethodsRow } from './cutover-rules.js';
import { DYNAMICS_MAILBOX_ID } from './map-mailbox.js';
import { compare } from './names.js';
import { CUTOVER_HEADING, cutoverSection, type CutoverRecord } from './report.js';
import { REPORT_FILE } from './writer.js';

export const CUTOVER_FILE = 'cutover.json';

export async function readCutoverState(dir: string): Promise<CutoverRecord[]> {
  const text = await readFile(path.join(dir, CUTOVER_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) return [];
  const state = JSON.parse(text) as { handedOver?: CutoverRecord[] };
  return state.handedOver ?? [];
}

/** Writes the state, and the report's cut-over section to match (the rest of the report is the import's). */
export async function writeCutoverState(dir: string, records: CutoverRecord[]): Promise<void> {
  const file = path.join(dir, CUTOVER_FILE);
  const sorted = [...records].sort((a, b) => compare(a.mailbox, b.mailbox));
  if (!records.length) await rm(file, { force: true });
  else await writeFile(file, `${JSON.stringify({ handedOver: sorted }, null, 2)}\n`);
  const reportFile = path.join(dir, REPORT_FILE);
  const report = await readFile(reportFile, 'utf8').catch(() => '');
  const at = report.indexOf(`\n${CUTOVER_HEADING}\n`);
  await writeFile(reportFile, `${at < 0 ? report : report.slice(0, at)}\n${cutoverSection(sorted)}`);
}

export interface CutoverOutcome {
  /** Rows changed now (or that would be, in a dry run). */
  changed: CutoverRecord[];
  /** Mailboxes left alone, with why. */
  skipped: { mailbox: string; why: string }[];
}

/**
 * Hands over the imported Mailboxes the operator runs. `done` are the rows changed by earlier runs
 * (skipped); `save` receives the full list after each change.
 */
export async function cutover(
  client: DataverseClient,
  mailboxes: Mailbox[],
  done: CutoverRecord[],
  opts: { dryRun: boolean; save: (records: CutoverRecord[]) => Promise<void> },
): Promise<CutoverOutcome> {
  const records = [...done];
  const out: CutoverOutcome = { changed: [], skipped: [] };
  for (const mbx of [...mailboxes].sort((a, b) => compare(a.metadata.name, b.metadata.name))) {
    const name = mbx.metadata.name;
    const id = mbx.metadata.annotations?.[DYNAMICS_MAILBOX_ID];
    if (!id) continue; // not imported from Dynamics
    if (records.some((r) => r.mailbox === name)) {
      out.skipped.push({ mailbox: name, why: 'handed over before' });
      continue;
    }
    const runs = operatorRuns(mbx);
    if (!runs.directions.length) {
      out.skipped.push({ mailbox: name, why: runs.why ?? 'the operator runs nothing for it' });
      continue;
    }
    const row = await readDeliveryColumns(client, id);
    const changes = handOverChanges(row, runs.directions);
    if (!Object.keys(changes).length) {
      const dynamics = directionsDynamicsProcesses(row);
      out.skipped.push({
        mailbox: name,
        why: `Dynamics does not process what the operator runs (${runs.directions.join(', ')})${dynamics.length ? `; it still processes ${dynamics.join(', ')}, which the operator does not run` : ''}`,
      });
      continue;
    }
    const before = Object.fromEntries(Object.keys(changes).map((k) => [k, row[k as keyof DeliveryMethodsRow]]));
    const record: CutoverRecord = {
      mailbox: name,
      mailboxId: id,
      directions: runs.directions.filter((d) => Object.keys(handOverChanges(row, [d])).length > 0),
      before,
      after: changes as Record<string, number | null>,
    };
    if (!opts.dryRun) {
      await client.update('mailboxes', recordId(id, 'mailbox id'), changes);
      records.push(record);
      await opts.save(records);
    }
    out.changed.push(record);
  }
  return out;
}

/** Restores every row the cut-over changed to its values before; returns what was restored and what failed. */
export async function rollback(
  client: DataverseClient,
  done: CutoverRecord[],
  opts: { dryRun: boolean; save: (records: CutoverRecord[]) => Promise<void> },
): Promise<{ restored: CutoverRecord[]; failed: { mailbox: string; why: string }[] }> {
  let remaining = [...done];
  const restored: CutoverRecord[] = [];
  const failed: { mailbox: string; why: string }[] = [];
  for (const r of [...done].sort((a, b) => compare(a.mailbox, b.mailbox))) {
    if (!opts.dryRun) {
      try {
        await client.update('mailboxes', recordId(r.mailboxId, 'mailbox id'), r.before);
      } catch (err) {
        failed.push({ mailbox: r.mailbox, why: (err as Error).message });
        continue;
      }
      remaining = remaining.filter((x) => x !== r);
      await opts.save(remaining);
    }
    restored.push(r);
  }
  return { restored, failed };
}

/**
 * The snapshot as it was before the cut-over: rows handed over get back their delivery methods from
 * before, so a re-run of the import after a cut-over writes the same Mailboxes (handing a mailbox
 * over must not turn its Mailbox's delivery methods to None).
 */
export function beforeHandOver(snapshot: DataverseSnapshot, records: CutoverRecord[]): DataverseSnapshot {
  if (!records.length) return snapshot;
  const before = new Map(records.map((r) => [r.mailboxId.toLowerCase(), r.before]));
  return { ...snapshot, mailboxes: snapshot.mailboxes.map((m) => ({ ...m, ...(before.get(m.mailboxid.toLowerCase()) ?? {}) })) };
}
