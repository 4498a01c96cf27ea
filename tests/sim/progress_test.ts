import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../cli/command.ts";
import { clock, compact, Progress, progressMode } from "../../sim/progress.ts";
import { spawnTaos } from "./taos_process.ts";

const HOUR = 3600e9;

/** Feeds a run of one simulated hour in 100 steps and returns everything written. */
function drive(options: ConstructorParameters<typeof Progress>[1]): string {
  let written = "";
  const progress = new Progress(HOUR, { ...options, write: (text) => (written += text) });
  for (let step = 0; step <= 100; step++) progress.update((HOUR * step) / 100, step * 1000);
  return written;
}

Deno.test("progress on a terminal is a redrawn bar with rate and ETA, ended by a newline", () => {
  const written = drive({ tty: true, mode: "auto", columns: () => 200 });
  assert.match(
    written,
    /^\r\[-{30}\]   0% 00:00:00\/01:00:00 simulated, [\d.]+[kMG]? messages\/s, ETA \?/,
  );
  assert.match(
    written,
    /\r\[#{30}\] 100% 01:00:00\/01:00:00 simulated, .* messages\/s, ETA 00:00:00\n$/,
  );
  assert.ok(written.includes("\x1b[K"), "intermediate draws clear the rest of the line");
});

Deno.test("the bar fits within the terminal's width, so that a redraw leaves nothing behind", () => {
  for (const columns of [80, 60, 20]) {
    const frames = drive({ tty: true, mode: "auto", columns: () => columns })
      .split("\r").filter((frame) => frame !== "").map((frame) =>
        frame.replaceAll("\x1b[K", "").replaceAll("\n", "")
      );
    assert.ok(frames.length > 1);
    // Sized to the terminal: a fixed frame of about 96 characters would overrun narrower ones.
    for (const frame of frames) assert.ok(frame.length < columns, `${columns}: ${frame}`);
    assert.ok(frames.at(-1)!.startsWith("["), frames.at(-1)!);
  }
  const wide = drive({ tty: true, mode: "auto", columns: () => 80 }).split("\r").at(-1)!;
  assert.match(wide, /^\[#+\] 100% 01:00:00\/01:00:00 simulated, .* messages\/s, ETA 00:00:00\n$/);
});

Deno.test("progress is silent when piped unless asked for, then one line per 10 %", () => {
  assert.equal(drive({ tty: false, mode: "auto" }), "");
  assert.equal(drive({ tty: true, mode: "never" }), "");
  const lines = drive({ tty: false, mode: "always" }).split("\n").filter((line) => line !== "");
  assert.deepEqual(
    lines.map((line) => line.split(" ")[0]),
    ["0%", "10%", "20%", "30%", "40%", "50%", "60%", "70%", "80%", "90%", "100%"],
  );
  assert.ok(lines.every((line) => !line.includes("\r")));
  // A decile's line comes once that much has run: 10 % at 6 of 60 minutes, not at 3 (rounded).
  assert.match(lines[1], /^10% 00:06:00\/01:00:00 simulated, /);
  assert.match(lines[9], /^90% 00:54:00\/01:00:00 simulated, /);
});

/** Runs `body` with `performance.now()` reading `clockMs.now` (restored after). */
function withClock(clockMs: { now: number }, body: () => void): void {
  const original = performance.now;
  performance.now = () => clockMs.now;
  try {
    body();
  } finally {
    performance.now = original;
  }
}

/**
 * What a bar on a 200-column terminal writes when a quarter of the hour, 50 000 messages, has run
 * in `wallMs` of wall time.
 */
function quarterRunIn(wallMs: number): string {
  const wall = { now: 1_000 };
  let written = "";
  withClock(wall, () => {
    const progress = new Progress(HOUR, {
      tty: true,
      mode: "auto",
      columns: () => 200,
      write: (text) => (written += text),
    });
    wall.now += wallMs;
    progress.update(HOUR / 4, 50_000);
  });
  return written;
}

Deno.test("the rate is messages per wall second and the ETA the time the rest takes at this pace", () => {
  // A quarter of the run in 10 s of wall time: the other three quarters take 30 s more.
  const written = quarterRunIn(10_000);
  // The whole frame: a quarter of the 30-character bar is 7.5 characters, drawn as 8 (rounded).
  assert.equal(
    written,
    "\r[########----------------------]  25% 00:15:00/01:00:00 simulated, 5.0k messages/s, " +
      "ETA 00:00:30\x1b[K",
  );
});

Deno.test("the ETA is rounded to the nearest second", () => {
  // A quarter in 9.9 s: the rest takes 29.7 s, shown as 30 rather than cut to 29.
  const written = quarterRunIn(9_900);
  assert.ok(written.endsWith(", 5.1k messages/s, ETA 00:00:30\x1b[K"), JSON.stringify(written));
});

Deno.test("simulated time past the run's length shows as 100 %, on a terminal and piped", () => {
  // The last step of a run may end after its duration.
  for (const tty of [true, false]) {
    let written = "";
    const progress = new Progress(HOUR, {
      tty,
      mode: "always",
      columns: () => 200,
      write: (text) => (written += text),
    });
    progress.update(HOUR * 1.5, 1000);
    assert.match(written, tty ? /^\r\[#{30}\] 100% 01:30:00\/01:00:00 simulated, .*\n$/ : /^100% /);
  }
});

Deno.test("after a note, the bar is drawn again at the next update however soon it comes", () => {
  const wall = { now: 1_000 };
  const frames: string[] = [];
  withClock(wall, () => {
    const progress = new Progress(HOUR, {
      tty: true,
      columns: () => 200,
      write: (text) => frames.push(text),
    });
    progress.update(HOUR / 10, 10);
    wall.now += 10;
    progress.note("warning: slow");
    wall.now += 10;
    progress.update(HOUR / 5, 20);
    // Within 100 ms of the last frame and no note: not drawn.
    wall.now += 10;
    progress.update(HOUR / 4, 30);
  });
  assert.equal(frames.length, 3, JSON.stringify(frames));
  assert.equal(frames[1], "\r\x1b[Kwarning: slow\n");
  assert.match(frames[2], /^\r\[#{6}-{24}\] {2}20% /);
});

Deno.test("simulated time is shown in whole seconds passed, counts with k, M and G from 1000", () => {
  // Floored: 59.6 s have not made a minute yet.
  assert.equal(clock(59.6e9), "00:00:59");
  assert.equal(clock(3599.999e9), "00:59:59");
  assert.equal(clock(90e9), "00:01:30");
  assert.equal(clock(25 * HOUR), "25:00:00");
  assert.deepEqual(
    [999, 1000, 1500, 1e6, 2.5e6, 1e9].map(compact),
    ["999", "1.0k", "1.5k", "1.00M", "2.50M", "1.00G"],
  );
});

Deno.test("progressMode maps --quiet and --progress, and refuses both", () => {
  assert.equal(progressMode({}), "auto");
  assert.equal(progressMode({ quiet: true }), "never");
  assert.equal(progressMode({ progress: true }), "always");
  assert.throws(() => progressMode({ quiet: true, progress: true }), UsageError);
});

Deno.test("a progress reader that went away stops the progress, not the run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "out");
    const child = spawnTaos(
      ["sim", "--config", "small", "--duration", "1h", "--progress", "--out", out],
      { stdout: "piped", stderr: "piped" },
    );
    // The reader of the progress lines (a `| head -1`, a log shipper that died) is gone before
    // the first line.
    await child.stderr.cancel();
    const { code, stdout } = await child.output();
    assert.equal(code, 0);
    assert.match(new TextDecoder().decode(stdout), /^messages processed: /);
    const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    assert.equal(summary.duration, 3600e9);
    assert.equal(summary.interrupted, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on a dumb terminal the bar is redrawn with spaces, not escape codes", () => {
  let written = "";
  const progress = new Progress(HOUR, {
    tty: true,
    mode: "auto",
    terminal: "dumb",
    columns: () => 80,
    write: (text) => (written += text),
  });
  progress.update(HOUR / 2, 1000);
  const bar = written.slice(1);
  progress.note("warning: short");
  // The note covers the whole bar it replaces: no tail of it is left on the line.
  assert.equal(written, `\r${bar}\r${"warning: short".padEnd(bar.length)}\n`);
  progress.update(HOUR, 2000);
  assert.ok(!written.includes("\x1b"), JSON.stringify(written));
  assert.ok(written.endsWith("ETA 00:00:00\n"), JSON.stringify(written));
  // The finished bar ended its line: a note after it is on a line of its own, unpadded.
  progress.note("done");
  assert.ok(written.endsWith("ETA 00:00:00\n\rdone\n"), JSON.stringify(written.slice(-40)));
});

Deno.test("on a dumb terminal a shorter bar covers the longer one drawn before it", () => {
  let written = "";
  let columns = 80;
  const progress = new Progress(HOUR, {
    tty: true,
    mode: "auto",
    terminal: "dumb",
    columns: () => columns,
    write: (text) => (written += text),
  });
  progress.update(HOUR / 2, 1000);
  const wide = written.slice(1);
  // The terminal narrowed: the last bar is shorter, drawn over the whole of the one before.
  columns = 30;
  progress.update(HOUR, 2000);
  const last = written.slice(1 + wide.length);
  assert.ok(last.startsWith("\r["), JSON.stringify(last));
  assert.ok(last.slice(1).trimEnd().length < 30, JSON.stringify(last));
  assert.equal(last.length, 1 + wide.length + 1, JSON.stringify(last));
});
