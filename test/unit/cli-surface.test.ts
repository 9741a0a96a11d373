import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bashCompletion, completionTree, fishCompletion, zshCompletion } from '../../src/completion.js';
import { EXIT_CODE_TABLE } from '../../src/exit-codes.js';
import { createLogger } from '../../src/logger.js';
import { buildProgram } from '../../src/program.js';
import { fleetsyncVersion } from '../../src/version.js';

const program = buildProgram(createLogger({ level: 'silent' }));
const tree = completionTree(program);

/** What bash offers for the words typed so far (the last one is the word being completed). */
function complete(...words: string[]): string[] {
  const script = `${bashCompletion(tree)}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _fleetsync; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8', cwd: 'test' }).split('\n').filter((l) => l !== '').sort();
}

describe('shell completion, generated from the command tree', () => {
  it('completes commands, subcommands, options and fixed choices in bash', () => {
    expect(complete('fleetsync', 'sy')).toEqual(['sync']);
    expect(complete('fleetsync', 're')).toEqual(['report', 'resume']);
    expect(complete('fleetsync', 'runs', '')).toEqual(['cancel', 'logs', 'retry', 'show']);
    expect(complete('fleetsync', 'sync', '--w')).toEqual(['--wait']);
    expect(complete('fleetsync', 'sync', '--source', 'ax', '--mode', '')).toEqual(['full', 'incremental']);
    expect(complete('fleetsync', 'report', '')).toEqual(['compliance', 'health', 'inventory', 'stale', 'time']);
    expect(complete('fleetsync', 'report', 'health', '--format', 'c')).toEqual(['csv']);
    expect(complete('fleetsync', '--config', 'x.yaml', 'state', '')).toEqual(['reset', 'show']);
    expect(complete('fleetsync', 'completion', '')).toEqual(['bash', 'fish', 'zsh']);
    // Values the command checks itself (its own message for a wrong one) are offered too.
    expect(complete('fleetsync', 'simulate', '')).toEqual(['automox', 'famoco', 'famoco-insights', 'izuma', 'rest', 'toggl']);
    expect(complete('fleetsync', 'sources', 'add', 'x', '--vendor', 'fa')).toEqual(['famoco', 'famoco-insights']);
    expect(complete('fleetsync', 'sources', 'update', 'x', '--vendor', 'iz')).toEqual(['izuma']);
    expect(complete('fleetsync', 'ch')).toEqual(['check']);
    expect(complete('fleetsync', 'check', '--')).toEqual(['--config-only', '--help', '--json', '--source', '--timeout']);
    expect(complete('fleetsync', 'sync', '--d')).toEqual(['--dry-run']);
    expect(complete('fleetsync', 'state', 'reset', '--d')).toEqual(['--dry-run']);
    expect(complete('fleetsync', 'webhooks', '')).toEqual(['list', 'register', 'remove', 'serve']);
    expect(complete('fleetsync', 'webhooks', 'register', '--source', 'tg', '--plan', '')).toEqual(['free', 'premium', 'starter']);
    expect(complete('fleetsync', 'webhooks', 'serve', '--')).toEqual(['--help', '--host', '--port']);
    // --config completes file names (here: the files of test/).
    expect(complete('fleetsync', '--config', 'helpers.t')).toEqual(['helpers.ts']);
  });

  it('writes zsh (through bashcompinit) and fish scripts from the same tree', () => {
    expect(zshCompletion(tree)).toMatch(/^# fleetsync completion for zsh[^\n]*\nautoload -U \+X bashcompinit && bashcompinit\n/);
    const fish = fishCompletion(tree);
    expect(fish).toContain("complete -c fleetsync -n '__fish_use_subcommand' -a 'sync'");
    expect(fish).toContain("complete -c fleetsync -n '__fish_seen_subcommand_from report' -l format -xa 'table csv json'");
    expect(fish).toContain("complete -c fleetsync -n '__fish_seen_subcommand_from runs' -a 'retry'");
  });
});

describe('--version and the exit codes', () => {
  it('prints the version of package.json', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(fleetsyncVersion()).toBe(pkg.version);
    expect(program.version()).toBe(`fleetsync ${pkg.version}`);
  });

  it("the README's exit-code table is src/exit-codes.ts's, code for code", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Exit codes'));
    const rows = [...section.matchAll(/^\| `(\d+)` \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2]! }));
    expect(rows).toEqual(EXIT_CODE_TABLE.map((r) => ({ code: r.code, meaning: r.meaning })));
  });
});
