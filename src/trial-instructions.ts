import { parse as parseYaml, stringify } from 'yaml';

/**
 * What `fleetsync simulate` prints: the simulator's address, its throwaway key and a config that
 * syncs it. A second trial in the same directory must not tell you to save over the config and
 * .env you already have: it then says what to add or replace. Pure.
 */

/** One trial simulator as `simulate` started it. */
export interface TrialOffer {
  vendor: string;
  baseUrl: string;
  /** Environment variable names and their throwaway values. */
  secrets: Record<string, string>;
  /** The config entry of the source that syncs it (its `${VAR}` credentials reference `secrets`). */
  source: Record<string, unknown>;
}

/** What already exists where the user works: the config file (its path and text) and .env's text; null when absent. */
export interface TrialSurroundings {
  configFile: string;
  configText: string | null;
  dotEnvText: string | null;
}

function configuredIds(text: string): string[] {
  try {
    // `{ apiKey: ${KEY} }` is no valid YAML until the reference is swapped out (as src/config.ts does).
    const doc = parseYaml(text.replace(/\$\{[^}]*\}/g, 'ref')) as { sources?: Array<{ id?: unknown }> } | null;
    return Array.isArray(doc?.sources) ? doc.sources.map((s) => (typeof s?.id === 'string' ? s.id : '')).filter((id) => id !== '') : [];
  } catch {
    return [];
  }
}

/** The config advice: save the whole config, add the entry to an existing one, or replace an earlier trial's entry. */
function configLines(offer: TrialOffer, around: TrialSurroundings): string[] {
  if (around.configText === null) return [`# a config that syncs it: save as ${around.configFile}`, stringify({ sources: [offer.source] }).trimEnd()];
  const id = String(offer.source.id);
  const entry = stringify([offer.source]).trimEnd().split('\n').map((l) => `  ${l}`);
  const said = configuredIds(around.configText).includes(id)
    ? `# ${around.configFile} has a source ${id} already (an earlier trial?): replace that entry under sources: with this one (the port and key are new on every start)`
    : `# ${around.configFile} exists: add this entry under its sources:`;
  return [said, ...entry];
}

/** The .env advice: put the lines in, or replace the ones an earlier trial left. */
function envLines(offer: TrialOffer, around: TrialSurroundings): string[] {
  const names = Object.keys(offer.secrets);
  const lines = names.map((k) => `${k}=${offer.secrets[k]}`);
  const present = around.dotEnvText === null ? [] : names.filter((k) => new RegExp(`^\\s*(export\\s+)?${k}=`, 'm').test(around.dotEnvText!));
  if (present.length > 0) {
    return [`# throwaway credentials, valid only against this simulator: .env has ${present.join(', ')} from an earlier trial; replace ${present.length === 1 ? 'that line' : 'those lines'} with:`, ...lines];
  }
  return ['# throwaway credentials, valid only against this simulator: put them in .env (or export them)', ...lines];
}

/** The whole text `simulate` prints once its simulator listens. */
export function trialInstructions(offer: TrialOffer, around: TrialSurroundings): string {
  return [
    `${offer.vendor} simulator on ${offer.baseUrl} (loopback only; Ctrl-C stops it)`,
    '',
    ...envLines(offer, around),
    '',
    ...configLines(offer, around),
    '',
    `# then: fleetsync sync --source ${String(offer.source.id)} --wait`,
  ].join('\n');
}
