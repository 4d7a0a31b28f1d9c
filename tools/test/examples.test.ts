import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot, runProcess } from '../test-support/index.js';

// The cluster recipes under examples/ parse, and say what the README says they do.
describe('examples/', () => {
  it('kubernetes/convert-indexed-job.yaml is an Indexed Job whose completions equal --shard-count', () => {
    const job = parse(readFileSync(join(repoRoot, 'examples/kubernetes/convert-indexed-job.yaml'), 'utf8'));
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed' } });
    const [container] = job.spec.template.spec.containers;
    const command: string[] = container.command;
    expect(command.slice(0, 4)).toEqual(['npx', '--yes', '@imgstore/cli', 'convert']);
    expect(command).toContain('--resume');
    expect(Number(command[command.indexOf('--shard-count') + 1])).toBe(job.spec.completions);
    expect(command).not.toContain('--shard-index'); // each pod takes JOB_COMPLETION_INDEX
  });

  it('slurm/convert-array.sh is valid bash and an array job running convert --resume', async () => {
    const path = join(repoRoot, 'examples/slurm/convert-array.sh');
    const check = await runProcess('bash', ['-n', path]);
    expect(check.code, check.stderr).toBe(0);
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^#SBATCH --array=0-\d+$/m);
    expect(text).toMatch(/@imgstore\/cli convert "\$IMAGES" "\$OUT" --resume/);
  });
});
