/**
 * Resolves once `condition()` holds, polling; fails naming `what` after `timeoutMs`, so that a
 * regression fails its test instead of hanging the suite.
 */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
