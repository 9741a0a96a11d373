import type { CredentialReference } from '../secret-refs.js';
import { table } from '../status.js';
import { formatDuration } from '../time-text.js';
import { formatHeadroom, type ProbeVerdict } from './verdict.js';

// What `fleetsync check` found, as a table or JSON, and whether it failed. Pure.

/** One source's result. Never holds a secret: references are names, verdicts are vendor messages. */
export interface SourceResult {
  id: string;
  vendor: string;
  origin: 'config' | 'database';
  references: CredentialReference[];
  /** Problems of a stored source's definition. */
  problems: string[];
  /** Unset variables, unreadable files, refused credentials: problems when requests are made, else only said. */
  credentialProblems: string[];
  probe: ProbeVerdict | null;
  /** Why no request was made, when none was. */
  skipped: string | null;
}

/** Everything one check found. */
export interface CheckReport {
  file: string;
  /** Sources in the config file, whether checked or not (--source). */
  inFile: number;
  /** False with --config-only: no vendor request, unset references are only named. */
  requests: boolean;
  /** The sources stored in Postgres: read (how many), or why not. */
  stored: { read: boolean; count: number; problem: string | null };
  /** Why no request could be sent (Redis), or null. */
  redis: string | null;
  sources: SourceResult[];
}

/** What fails a source: a bad stored definition, credentials that do not resolve (when requests are made), the probe's problem. */
export function problemsOf(r: SourceResult, requests: boolean): string[] {
  return [...r.problems, ...(requests ? r.credentialProblems : []), ...(r.probe?.problem ? [r.probe.problem] : [])];
}

/** Whether the check failed (exit 1): a source's problem, or Postgres or Redis out of reach when requests were asked for. */
export function checkFailed(report: CheckReport): boolean {
  if (report.requests && (report.redis !== null || !report.stored.read)) return true;
  return report.sources.some((s) => problemsOf(s, report.requests).length > 0);
}

/** `apiKey ${AUTOMOX_API_KEY}`, `token ${file:/run/secrets/t} (unreadable)`, `apiKey (inline)`. */
export function formatReferences(refs: readonly CredentialReference[]): string {
  if (refs.length === 0) return '-';
  return refs
    .map((r) => {
      if (r.kind === 'inline') return `${r.key} (inline)`;
      const ref = r.kind === 'file' ? `\${file:${r.name}}` : `\${${r.name}}`;
      return `${r.key} ${ref}${r.resolves ? '' : r.kind === 'file' ? ' (unreadable)' : ' (unset)'}`;
    })
    .join(', ');
}

/** The last column: what is wrong, else what is worth saying, else "ok". */
function resultText(r: SourceResult, requests: boolean): string {
  const problems = problemsOf(r, requests).map((p) => p.replace(/^(sources\[\d+\]|source "[^"]+")\./, ''));
  if (problems.length > 0) return problems.join('; ');
  if (!requests && r.credentialProblems.length > 0) return `valid; ${r.credentialProblems.map((p) => p.replace(/^.*?credentials\./, 'credentials.')).join('; ')}`;
  return r.probe?.note ?? r.skipped ?? (r.probe ? 'ok' : 'valid');
}

function headerLines(report: CheckReport): string[] {
  const inFile = report.inFile;
  const stored = report.stored.read ? `${report.stored.count} stored in Postgres` : `sources stored in Postgres not checked: ${report.stored.problem ?? 'not read'}`;
  const lines = [`config ${report.file}: valid; ${inFile} source${inFile === 1 ? '' : 's'} in the file, ${stored}`];
  if (report.redis !== null) lines.push(`no vendor request sent: ${report.redis}`);
  return lines;
}

/** The check as a table: one row per source. */
export function formatCheck(report: CheckReport): string {
  const lines = headerLines(report);
  if (report.sources.length > 0) {
    const head = report.requests ? ['source', 'vendor', 'credentials', 'auth', 'reachable', 'latency', 'headroom', 'result'] : ['source', 'vendor', 'credentials', 'result'];
    const rows = report.sources.map((s) => {
      const p = s.probe;
      const first = [s.id, s.vendor + (s.origin === 'database' ? ' (stored)' : ''), formatReferences(s.references)];
      const probeCols = report.requests ? [p?.auth ?? '-', p?.reachable ?? '-', p?.latencyMs == null ? '-' : formatDuration(p.latencyMs / 1000), formatHeadroom(p?.headroom ?? null)] : [];
      return [...first, ...probeCols, resultText(s, report.requests)];
    });
    lines.push(...table([head, ...rows]));
  }
  const failed = report.sources.filter((s) => problemsOf(s, report.requests).length > 0).length;
  const n = report.sources.length;
  if (failed > 0) lines.push(`${failed} of ${n} source${n === 1 ? '' : 's'} ${failed === 1 ? 'has' : 'have'} a problem`);
  else lines.push(checkFailed(report) ? 'the check is incomplete: see above' : `${n === 1 ? 'the source' : `all ${n} sources`} passed`);
  return lines.join('\n');
}

/** The check as one JSON document: the report, each source's problems, and `ok`. */
export function checkJson(report: CheckReport): unknown {
  return { ok: !checkFailed(report), ...report, sources: report.sources.map((s) => ({ ...s, ok: problemsOf(s, report.requests).length === 0 })) };
}
