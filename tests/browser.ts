/**
 * Tests in headless Chromium: playwright-core driving the system's Chromium (`.ci/run` installs
 * it). Where it is missing the tests are ignored, and their names say why.
 * @module
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);

/**
 * Registers a test that needs Chromium. The browser's connection and timers outlive a page, so
 * the resource and op sanitizers are off.
 */
export function browserTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: haveChromium ? name : `${name} (SKIPPED: ${CHROMIUM} not found)`,
    ignore: !haveChromium,
    sanitizeResources: false,
    sanitizeOps: false,
  }, fn);
}

/** Launches headless Chromium; the caller closes it. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}
