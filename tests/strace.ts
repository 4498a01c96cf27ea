/** Whether `strace` can run here: the tests that trace or fault system calls need it. */
export const hasStrace = (() => {
  try {
    return new Deno.Command("strace", { args: ["-V"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
