import type { Argument, Command, Option } from 'commander';

/**
 * Shell completion for fleetsync, generated from the command tree itself, so a new command or
 * option completes without anyone editing a script: commands and subcommands, options, and the
 * fixed choices of options and arguments (`--format table|csv|json`, `report inventory|...`);
 * `--config` completes file names. Pure: the scripts are text.
 */

/** One command as completion sees it. */
export interface CompletionNode {
  /** The words from the program to this command: "fleetsync runs show". */
  path: string;
  description: string;
  options: Array<{ flags: string[]; takesValue: boolean; choices: string[] }>;
  /** Choices of the command's first argument with fixed choices (none: empty). */
  argChoices: string[];
  commands: CompletionNode[];
}

// Values to offer for an argument or option that checks them itself (`simulate <vendor>`,
// `--vendor`): commander's `.choices()` would replace the command's own message for a wrong value.
const offered = new WeakMap<Argument | Option, readonly string[]>();

/** Marks the values completion offers for `x` without commander enforcing them; returns `x`. */
export function completes<T extends Argument | Option>(x: T, values: readonly string[]): T {
  offered.set(x, values);
  return x;
}

/** The completion tree of a commander program (with its implicit --help). */
export function completionTree(cmd: Command, parent = ''): CompletionNode {
  const path = parent ? `${parent} ${cmd.name()}` : cmd.name();
  const options = cmd.options.map((o) => ({
    flags: [o.short, o.long].filter((f): f is string => typeof f === 'string'),
    takesValue: o.required || o.optional,
    choices: [...(o.argChoices ?? offered.get(o) ?? [])],
  }));
  options.push({ flags: ['-h', '--help'], takesValue: false, choices: [] });
  const choicesOf = (a: Argument) => a.argChoices ?? offered.get(a) ?? [];
  const arg = cmd.registeredArguments.find((a) => choicesOf(a).length > 0);
  return { path, description: cmd.description(), options, argChoices: [...(arg ? choicesOf(arg) : [])], commands: cmd.commands.map((c) => completionTree(c, path)) };
}

function walk(n: CompletionNode): CompletionNode[] {
  return [n, ...n.commands.flatMap(walk)];
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** A bash completion script (bash 4+); zsh loads it through bashcompinit. */
export function bashCompletion(root: CompletionNode): string {
  const nodes = walk(root);
  const entry = (map: string, key: string, value: string) => `${map}[${q(key)}]=${q(value)}`;
  const lines = ['# fleetsync completion for bash: source <(fleetsync completion bash)', 'declare -gA _fleetsync_cmds _fleetsync_opts _fleetsync_valued _fleetsync_choices'];
  for (const n of nodes) {
    lines.push(entry('_fleetsync_cmds', n.path, n.commands.map((c) => c.path.split(' ').pop()!).join(' ')));
    lines.push(entry('_fleetsync_opts', n.path, n.options.flatMap((o) => o.flags).join(' ')));
    lines.push(entry('_fleetsync_valued', n.path, ` ${n.options.filter((o) => o.takesValue).flatMap((o) => o.flags).join(' ')} `));
    if (n.argChoices.length) lines.push(entry('_fleetsync_choices', n.path, n.argChoices.join(' ')));
    for (const o of n.options) for (const f of o.flags) if (o.choices.length) lines.push(entry('_fleetsync_choices', `${n.path} ${f}`, o.choices.join(' ')));
  }
  lines.push(`_fleetsync() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="${root.path}" skip=0 i w
  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    if [[ $w == -* ]]; then
      [[ \${_fleetsync_valued[$path]} == *" $w "* || \${_fleetsync_valued[${q(root.path)}]} == *" $w "* ]] && skip=1
    elif [[ " \${_fleetsync_cmds[$path]} " == *" $w "* ]]; then
      path="$path $w"
    fi
  done
  if ((skip)); then
    if [[ $prev == -c || $prev == --config ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
    local key="$path $prev"
    [[ -z \${_fleetsync_choices[$key]+x} ]] && key="${root.path} $prev"
    COMPREPLY=($(compgen -W "\${_fleetsync_choices[$key]}" -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${_fleetsync_opts[$path]}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "\${_fleetsync_cmds[$path]} \${_fleetsync_choices[$path]}" -- "$cur"))
  fi
}
complete -F _fleetsync fleetsync`);
  return `${lines.join('\n')}\n`;
}

/** A zsh completion script: the bash one through zsh's bashcompinit. */
export function zshCompletion(root: CompletionNode): string {
  return `# fleetsync completion for zsh: source <(fleetsync completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bashCompletion(root)}`;
}

/** A fish completion script. */
export function fishCompletion(root: CompletionNode): string {
  const out = ['# fleetsync completion for fish: fleetsync completion fish | source', `complete -c ${root.path} -f`];
  for (const n of walk(root)) {
    const words = n.path.split(' ').slice(1);
    // The command is reached when all its words were seen; its subcommands are offered then.
    const cond = words.length === 0 ? '__fish_use_subcommand' : words.map((w) => `__fish_seen_subcommand_from ${w}`).join('; and ');
    for (const c of n.commands) out.push(`complete -c ${root.path} -n ${q(cond)} -a ${q(c.path.split(' ').pop()!)} -d ${q(c.description.slice(0, 80))}`);
    if (n.argChoices.length) out.push(`complete -c ${root.path} -n ${q(cond)} -a ${q(n.argChoices.join(' '))}`);
    for (const o of n.options) {
      const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = o.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
      const parts = [`complete -c ${root.path}`, words.length ? `-n ${q(cond)}` : '', long ? `-l ${long}` : '', short ? `-s ${short}` : '', o.takesValue ? (o.choices.length ? `-xa ${q(o.choices.join(' '))}` : long === 'config' ? '-rF' : '-x') : ''];
      out.push(parts.filter((p) => p !== '').join(' '));
    }
  }
  return `${out.join('\n')}\n`;
}

/** The shells `fleetsync completion` writes for. */
export const COMPLETION_SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;
