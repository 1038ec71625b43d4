// `mung-runtime serve` on an ephemeral loopback port, started by a test and
// stopped after it; and the CLI, run for the answers to compare with.

import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { binary } from "./env.js";

/** How long the first start may take: it compiles the interpreter when the cache is cold. */
const SERVER_START_MS = 900_000;

/**
 * Starts `mung-runtime serve --addr 127.0.0.1:0 ...args` and resolves once it
 * listens: `{ base, stop(), stderr() }`.
 */
export async function startServer(args = []) {
  const child = spawn(binary(), ["serve", "--addr", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (t) => (stderr += t));
  const base = await new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mung-runtime serve did not listen within ${SERVER_START_MS} ms\n--- stderr\n${stderr}`));
    }, SERVER_START_MS);
    child.stdout.setEncoding("utf8").on("data", (t) => {
      stdout += t;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`mung-runtime serve exited (${code ?? signal}) before it listened\n--- stderr\n${stderr}`));
    });
    child.on("error", reject);
  });
  if (!base.startsWith("http://127.0.0.1:")) throw new Error(`not a loopback address: ${base}`);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return {
    base,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A temporary directory, removed by `cleanup()`. */
export function tempDir() {
  const path = mkdtempSync(join(tmpdir(), "mung-runtime-client-"));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A token file with the given tokens; returns its path. */
export function tokenFile(dir, tokens) {
  const path = join(dir, "tokens");
  writeFileSync(path, `# test tokens\n${tokens.join("\n")}\n`, { mode: 0o600 });
  return path;
}

const run = promisify(execFile);

/**
 * Runs `mung-runtime ...args`: `{ code, stdout, stderr }` (stdout as a
 * Buffer). Never rejects for a non-zero exit status.
 */
export async function cli(args) {
  try {
    const { stdout, stderr } = await run(binary(), args, { encoding: "buffer", maxBuffer: 256 << 20 });
    return { code: 0, stdout, stderr: stderr.toString() };
  } catch (e) {
    if (typeof e.code !== "number") throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr.toString() };
  }
}
