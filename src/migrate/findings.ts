// What the import could not carry over as it was, one line per object and setting, for
// MIGRATION-REPORT.md and the dry-run summary:
//   NotMigrated  the setting has no equivalent the operator can honour; it is dropped, or replaced
//                by the nearest thing the operator does (the finding says which)
//   Changed      carried over in another form (S2S becomes an app registration, Outlook becomes None)
//   Action       carried over, but a person must do something before it works (fill a Secret, grant a permission)

import { compare } from './names.js';

export type FindingKind = 'NotMigrated' | 'Changed' | 'Action';

export interface Finding {
  kind: FindingKind;
  /** The object of the output it concerns ("EmailServerProfile contoso-exchange", "Mailbox ann.contoso.example"), or the Dataverse row that was left out. */
  object: string;
  /** The Dataverse table and column, e.g. emailserverprofile.incomingauthenticationprotocol. */
  setting: string;
  /** Its value in Dynamics, as the report shows it. */
  value: string;
  /** What the import did and why. */
  why: string;
}

export const byFinding = (a: Finding, b: Finding): number =>
  compare(a.kind, b.kind) ||
  compare(a.setting, b.setting) ||
  compare(a.why, b.why) ||
  compare(a.value, b.value) ||
  compare(a.object, b.object);

/** Collects findings for one object. */
export class Findings {
  readonly list: Finding[] = [];

  for(object: string): (kind: FindingKind, setting: string, value: unknown, why: string) => void {
    return (kind, setting, value, why) => this.list.push({ kind, object, setting, value: String(value), why });
  }

  sorted(): Finding[] {
    return [...this.list].sort(byFinding);
  }
}
