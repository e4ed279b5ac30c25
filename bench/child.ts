// Runs `node <args>` as a child process (cwd: the repo root) and resolves with its stdout and
// wall time; rejects with the tail of stderr when it fails.
import { spawn } from "node:child_process";

export function runNode(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ stdout: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve({ stdout, ms });
      else reject(new Error(`node ${args.join(" ")} exited with ${code}\n${stderr}`));
    });
  });
}

export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
