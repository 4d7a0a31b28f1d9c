import { Command, CommanderError } from 'commander';
import { ImgstoreError, InvalidOptionError } from '@imgstore/core';
import { version } from '../package.json';
import { convertCommand } from './commands/convert-command.js';
import { infoCommand } from './commands/info-command.js';
import { verifyCommand } from './commands/verify-command.js';
import { manifestCommand } from './commands/manifest-command.js';
import { benchCommand } from './commands/bench-command.js';
import { previewCommand } from './commands/preview-command.js';
import { exportCommand } from './commands/export-command.js';
import { CliExit } from './cli-exit.js';
import { loadCodecModule } from '@imgstore/convert';
import { registerBuiltInCodecs } from '@imgstore/convert/internal';
import { defaultCodecs } from '@imgstore/codec';

/** Exit codes: 0 success, 1 failure (bad input, damaged store, rejects under --strict), 2 usage error. */
export function createProgram(): Command {
  registerBuiltInCodecs();
  const program = new Command('imgstore')
    .description('Turn image folders into fast, safe, portable LMDB training stores')
    .version(version, '-v, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)');
  for (const command of [convertCommand(), infoCommand(), verifyCommand(), manifestCommand(), benchCommand(), previewCommand(), exportCommand()]) {
    program.addCommand(command.version(version, '-v, --version').showHelpAfterError('(run with --help for usage)'));
  }
  // Reading commands take --codec <module> for stores written with a codec of the user's own.
  for (const command of program.commands) {
    if (command.name() === 'convert') continue;
    command.option('--codec <module>', "module file exporting the store's codec, when it is not built in (" + defaultCodecs.ids().join(', ') + ')');
  }
  program.hook('preAction', async (_program, action) => {
    const spec = action.opts<{ codec?: string }>().codec;
    if (action.name() !== 'convert' && spec !== undefined) await loadCodecModule(spec);
  });
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI on `argv` (as process.argv) and returns the exit code instead of exiting. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed help, the version, or the usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliExit) {
      console.error(`imgstore: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof ImgstoreError) {
      console.error(`imgstore: ${error.message}`);
      return error instanceof InvalidOptionError ? 2 : 1;
    }
    console.error('imgstore: unexpected error:', error);
    return 1;
  }
}
