/** Whether `strace` can run here: the tests that trace or fault system calls need it. */
const hasStrace = (() => {
  try {
    return new Deno.Command("strace", { args: ["-V"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

/** The name and `ignore` of a test that needs strace: where it is missing the test is skipped,
 * and its name says why. */
export function needsStrace(name: string): { name: string; ignore: boolean } {
  return { name: hasStrace ? name : `${name} (SKIPPED: strace not found)`, ignore: !hasStrace };
}

/**
 * Runs `script` with `deno eval` under strace and returns, in order, its fsyncs of paths under
 * `dir` (`fsync <path>`) and its renames of a file matching `renamed` (`rename`).
 */
export async function traceSyncsAndRenames(
  script: string,
  dir: string,
  renamed: RegExp,
): Promise<string[]> {
  const trace = `${dir}/trace.txt`;
  const run = await new Deno.Command("strace", {
    args: ["-f", "-e", "trace=openat,fsync,rename,renameat,renameat2", "-o", trace]
      .concat([Deno.execPath(), "eval", script]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (run.code !== 0) throw new Error(new TextDecoder().decode(run.stderr));
  const fds = new Map<string, string>();
  const calls: string[] = [];
  for (const line of Deno.readTextFileSync(trace).split("\n")) {
    const opened = /openat\(AT_FDCWD, "([^"]+)", .*\) = (\d+)$/.exec(line);
    if (opened) fds.set(opened[2], opened[1]);
    const synced = /fsync\((\d+)\)\s+= 0$/.exec(line);
    const path = synced ? fds.get(synced[1]) : undefined;
    if (path?.startsWith(dir)) calls.push(`fsync ${path}`);
    if (/rename(at2?)?\(/.test(line) && renamed.test(line) && / = 0$/.test(line)) {
      calls.push("rename");
    }
  }
  return calls;
}
