import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { createProgressReporter } from '../progress-reporter.js';
import { CliExit } from '../cli-exit.js';
import type { VerifyMessage, VerifyRequest } from '../verify-protocol.js';

interface VerifyFlags {
  sample?: number;
  seed?: number;
  json: boolean;
  quiet: boolean;
  progressInterval: number;
  codec?: string;
}

function nonNegativeInt(name: string) {
  return (text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

interface Outcome {
  records: number;
  checking: number;
  checked: number;
  problems: { index: number | null; reason: string }[];
  /** Set when the checking process died instead of finishing. */
  crash: string | null;
  failure: { message: string; code: string | null } | null;
}

/** Runs the check in a child process and gathers what it reports. */
function runCheck(request: VerifyRequest, onMessage: (message: VerifyMessage) => void): Promise<Outcome> {
  const entry = fileURLToPath(new URL('./verify-child.js', import.meta.url));
  const outcome: Outcome = { records: 0, checking: 0, checked: 0, problems: [], crash: null, failure: null };
  let done = false;
  return new Promise((resolve, reject) => {
    const child = fork(entry, [JSON.stringify(request)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (message: VerifyMessage) => {
      if (message.type === 'opened') Object.assign(outcome, { records: message.records, checking: message.checking });
      else if (message.type === 'progress') outcome.checked = message.checked;
      else if (message.type === 'problem') outcome.problems.push({ index: message.index, reason: message.reason });
      else if (message.type === 'done') [outcome.checked, done] = [message.checked, true];
      else if (message.type === 'failed') [outcome.failure, done] = [{ message: message.message, code: message.code }, true];
      onMessage(message);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!done) {
        outcome.crash = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      }
      resolve(outcome);
    });
  });
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('Check every record of a store (or a random sample): checksum, decoding, shape, counts')
    .argument('<store>', 'store folder')
    .option('--sample <n>', 'check only n records picked at random (see --seed)', nonNegativeInt('--sample'))
    .option('--seed <s>', 'seed of the --sample draw (default: random, printed so the draw can be repeated)', nonNegativeInt('--seed'))
    .option('--json', 'print the result as JSON', false)
    .option('-q, --quiet', 'no progress output', false)
    .option('--progress-interval <ms>', 'when not on a terminal, milliseconds between progress lines', nonNegativeInt('--progress-interval'), 5000)
    .addHelpText(
      'after',
      `
Each record's CRC-32 is checked, then it is decoded and compared with the header (shape, labels). A full
check also compares the record and reject counts with the header. The store is read in a separate
process, so a data file damaged badly enough to crash the LMDB reader is reported, not a crash.
Exit code 0: every checked record is intact; 1: damage found (listed), or the store cannot be opened.

Examples:
  imgstore verify ./train.lmdb
  imgstore verify ./train.lmdb --sample 10000 --seed 7`,
    )
    .action(async (path: string, flags: VerifyFlags) => {
      const seed = flags.seed ?? randomInt(0, 2 ** 31);
      const codecModule = flags.codec === undefined ? null : resolve(flags.codec);
      const request: VerifyRequest = { path, sample: flags.sample ?? null, seed, codecModule };
      const progress = flags.quiet || flags.json ? null : createProgressReporter(process.stderr, { label: 'verify', unit: 'rec', problems: 'damaged' }, flags.progressInterval);
      let total = 0;
      let found = 0;
      const started = performance.now();
      const outcome = await runCheck(request, (message) => {
        if (message.type === 'opened') total = message.checking;
        if (message.type === 'progress') progress?.update(message.checked, total, found);
        if (message.type === 'problem') {
          found++;
          if (!flags.json) {
            progress?.stop();
            console.log(message.index === null ? `store: ${message.reason}` : `damaged record ${message.index}: ${message.reason}`);
          }
        }
      }).finally(() => progress?.stop());
      const seconds = (performance.now() - started) / 1000;
      if (outcome.failure) throw new CliExit(1, outcome.failure.message);
      const sampled = request.sample !== null && outcome.checking < outcome.records;
      if (flags.json) {
        console.log(
          JSON.stringify(
            {
              path,
              records: outcome.records,
              checked: outcome.checked,
              ...(sampled ? { sample: outcome.checking, seed } : {}),
              intact: outcome.problems.length === 0 && outcome.crash === null,
              problems: outcome.problems,
              ...(outcome.crash ? { crash: `the reader ${outcome.crash} after ${outcome.checked} records` } : {}),
            },
            null,
            2,
          ),
        );
      }
      if (outcome.crash) {
        throw new CliExit(
          1,
          `Store ${path} is damaged: the process reading it ${outcome.crash} after checking ${outcome.checked} of ` +
            `${outcome.checking} records (LMDB pages themselves are damaged, beyond what record checksums can report)`,
        );
      }
      const what = sampled ? `${outcome.checked} of ${outcome.records} records (random sample, --seed ${seed})` : `all ${outcome.checked} records`;
      const damaged = outcome.problems.filter((p) => p.index !== null).map((p) => p.index);
      if (outcome.problems.length === 0) {
        if (!flags.json) console.log(`Checked ${what} of ${path} in ${seconds.toFixed(1)} s: all intact`);
        return;
      }
      throw new CliExit(
        1,
        `Store ${path}: ${damaged.length} damaged record(s) among ${what}` +
          (damaged.length ? `: ${damaged.slice(0, 50).join(', ')}${damaged.length > 50 ? ', ...' : ''}` : '') +
          (outcome.problems.length > damaged.length ? '; and store-wide problems (listed above)' : ''),
      );
    });
}
