import { main } from "../main.ts";

function assertEquals(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`expected ${expected}, got ${actual}`);
}

Deno.test("an unknown command exits with code 2", async () => {
  assertEquals(await main(["no-such-command"]), 2);
});

Deno.test("--help exits with code 0", async () => {
  assertEquals(await main(["--help"]), 0);
});
