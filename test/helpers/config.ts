import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TEST_WORKER } from '../helpers.js';

/** A lane window far above what a simulator needs, so tests never wait on our own limits. */
export const FAST = { windows: [{ max: 1000, durationMs: 1000 }] };

/** A lane slow enough that a worker killed after a few pages is still mid-walk, fast enough for a test. */
export const SLOW = { windows: [{ max: 20, durationMs: 1000 }] };

/** A config object of the given sources with the fast-retry test worker; `extra` adds or replaces top-level keys. */
export function testConfig(sources: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  return { sources, worker: TEST_WORKER, ...extra };
}

/** `${NAME}`: a credential the config reads from the environment at parse time. */
const fromEnv = (name: string) => `\${${name}}`;

/** An Automox source (pages of 5) whose API key comes from environment variable `keyVar`. */
export function automoxSource(id: string, baseUrl: string, keyVar: string, extra: Record<string, unknown> = {}) {
  return { id, vendor: 'automox', baseUrl, credentials: { apiKey: fromEnv(keyVar) }, pageSize: 5, ...extra };
}

/** A Famoco MDM source (pages of 5) whose token comes from environment variable `tokenVar`. */
export function famocoSource(id: string, baseUrl: string, tokenVar: string, extra: Record<string, unknown> = {}) {
  return { id, vendor: 'famoco', baseUrl, credentials: { token: fromEnv(tokenVar) }, pageSize: 5, ...extra };
}

/** An Izuma source (pages of 5) whose API key comes from environment variable `keyVar`. */
export function izumaSource(id: string, baseUrl: string, keyVar: string, extra: Record<string, unknown> = {}) {
  return { id, vendor: 'izuma', baseUrl, credentials: { apiKey: fromEnv(keyVar) }, pageSize: 5, ...extra };
}

/** A temporary directory for config files and screenshots; `remove()` deletes it with its content. */
export interface TempDir {
  path: string;
  /** Writes `value` as YAML to `name` in the directory and returns the file's path. */
  writeYaml(name: string, value: unknown): Promise<string>;
  remove(): Promise<void>;
}

/** Creates a fresh directory under the OS temp dir, named `<prefix><random>`. */
export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    writeYaml: async (name, value) => {
      const file = join(path, name);
      await writeFile(file, stringify(value));
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
