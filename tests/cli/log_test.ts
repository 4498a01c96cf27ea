import assert from "node:assert/strict";
import { makeLogger, untrustedText } from "../../cli/log.ts";

/** Runs `work` with console.error captured; returns what it printed. */
function capture(work: () => void): string[] {
  const printed: string[] = [];
  const original = console.error;
  console.error = (text: string) => printed.push(text);
  try {
    work();
  } finally {
    console.error = original;
  }
  return printed;
}

Deno.test("a log entry stays on one line, whatever line breaks its message carries", () => {
  const printed = capture(() => {
    const log = makeLogger("info");
    log(
      "warning",
      'neuron refresh failed: WebSocket is not connected\nFailed WS Request: {"id":1}',
    );
    log("debug", "not shown at info");
  });
  assert.equal(printed.length, 1);
  assert.match(
    printed[0],
    /^\d{4}-\d\d-\d\dT[\d:.]+Z WARNING neuron refresh failed: WebSocket is not connected Failed WS Request: \{"id":1\}$/,
  );
});

Deno.test("a logger writes its own level and the more severe ones, nothing more verbose", () => {
  const printed = capture(() => {
    for (const level of ["error", "info", "trace"] as const) {
      const log = makeLogger(level);
      for (const at of ["error", "warning", "info", "debug", "trace"] as const) log(at, level);
    }
  });
  const levels = printed.map((line) => line.split(" ").slice(1).filter((w) => w !== "").join(" "));
  assert.deepEqual(levels, [
    "ERROR error",
    "ERROR info",
    "WARNING info",
    "INFO info",
    "ERROR trace",
    "WARNING trace",
    "INFO trace",
    "DEBUG trace",
    "TRACE trace",
  ]);
});

Deno.test("a log entry carries no terminal escape sequence, whatever its message quotes", () => {
  // A validator's bad request body is text another party chose: printed as it came, its escape
  // sequences would drive the terminal.
  const printed = capture(() =>
    makeLogger("info")("warning", 'request failed: "{"a": \u001b[2J\u001b[31mX\t\u007f\u009b"')
  );
  // DEL (U+007F) is a control character too: some terminals erase the character before it.
  assert.match(
    printed[0],
    /WARNING request failed: "\{"a": \\u001b\[2J\\u001b\[31mX\\u0009\\u007f\\u009b"$/,
  );
});

Deno.test("text another party chose is escaped and cut for the log", () => {
  assert.equal(untrustedText("a\nb\u001b[31m\u009bc", 100), "a\\u000ab\\u001b[31m\\u009bc");
  assert.equal(untrustedText("x".repeat(10), 4), "xxxx… (6 more characters)");
  assert.equal(untrustedText("5GrwvaEF", 64), "5GrwvaEF");
});

Deno.test("untrusted text is cut between characters, never inside a surrogate pair", () => {
  // Each emoji is two UTF-16 units: a cut after three units would keep half of the second one.
  assert.equal(untrustedText("😀😀😀", 2), "😀😀… (1 more character)");
  assert.equal(untrustedText("a😀b", 2), "a😀… (1 more character)");
  assert.equal(untrustedText("😀😀", 2), "😀😀");
});

Deno.test("a line break and the indentation around it become one space", () => {
  // A stack trace's frames are indented: each break and its spaces read as one gap.
  const printed = capture(() =>
    makeLogger("info")("error", "boom  \n    at f (a.ts:1:2)\r\n    at g (b.ts:3:4)")
  );
  assert.ok(printed[0].endsWith(" ERROR   boom at f (a.ts:1:2) at g (b.ts:3:4)"), printed[0]);
});

Deno.test("one UTF-16 unit is one character up to U+FFFF, a lone surrogate too", () => {
  // U+FFFF is the last code point of one unit; a lone surrogate is one unit that pairs with none.
  assert.equal(untrustedText("\uffffab", 2), "\uffffa… (1 more character)");
  assert.equal(untrustedText("\ud83dab", 2), "\ud83da… (1 more character)");
  assert.equal(untrustedText("\u{10000}ab", 2), "\u{10000}a… (1 more character)");
});
