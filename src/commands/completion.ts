import { Argument } from 'commander';
import { COMPLETION_SHELLS, completionTree } from '../completion.js';
import type { CommandContext } from './common.js';

/** `fleetsync completion bash|zsh|fish`: prints a completion script for the shell. */
export function registerCompletion(ctx: CommandContext): void {
  ctx.program
    .command('completion')
    .description('print a shell completion script: source <(fleetsync completion bash), or zsh; fleetsync completion fish | source')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(COMPLETION_SHELLS)))
    .action((shell: keyof typeof COMPLETION_SHELLS) => {
      process.stdout.write(COMPLETION_SHELLS[shell](completionTree(ctx.program)));
    });
}
