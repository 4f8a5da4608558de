/** The real `tollgate` command (from the sources, through tsx) against a running Tollgate. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tollgate ARGS` with TOLLGATE_URL / TOLLGATE_TOKEN set; never rejects. */
export function runCli(url: string, token: string, args: string[], timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, TOLLGATE_URL: url, TOLLGATE_TOKEN: token }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: number }).code : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}
