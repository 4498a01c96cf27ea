/**
 * `taos replay <script.json>`: runs an instruction script through the exchange core and prints
 * every event, then the final books and accounts, as JSON lines.
 * @module
 */
import { type Command, parseFlags, stdoutWriteError, UsageError } from "../cli/command.ts";
import { ExchangeCode, ExchangeError } from "../native/exchange.ts";
import { parseReplayScript, ReplayScriptError, runReplay } from "./replay.ts";
import { parseJson } from "./strict_json.ts";
import { decodeUtf8Text } from "./utf8_text.ts";

const help = `Usage: taos replay [options] <script.json>

Runs an instruction script through the exchange core and prints one JSON line per event
(accepted, place, trade, cancel, expire, stp, remainder, reset, reject, margin_call,
loan_settled), then one final line {"final":{"books":[...],"accounts":[...]}} with the
resulting books, balances and fee state (traded volume, tier and rates per account and book).

The script is {"exchange": {...}, "batches": [{"timestamp": ns, "responses": [...]}]}:
"exchange" takes the reference's exchange attributes (priceDecimals, volumeDecimals,
baseDecimals, quoteDecimals, maxLeverage, maxLoan, maintenanceMargin, books, agents,
balances {base, quote}, feePolicy {historySlots, slotPeriod, tiers}); "responses" are agent
responses in the reference's format (PLACE_ORDER_LIMIT, PLACE_ORDER_MARKET, CANCEL_ORDERS,
RESET_AGENT). Numbers in the output are decimal strings at the configured decimals.

What an agent sends is rejected per instruction: a response (or one cancellation or reset
entry) with an unknown type, an enum value out of range, a field of the wrong JSON type or
an unknown field becomes a reject line with reason INVALID_INSTRUCTION, the offending
"field" and the "problem", and the rest runs. What the script itself gets wrong (not JSON,
the exchange parameters, batches, a batch's timestamp or responses list, a response's
delay) fails the whole script with exit code 2 and names the field.

Arguments:
  <script.json>   the script file ("-" reads standard input)

Options:
  -h, --help      show this help

Exit codes: 0 done, 1 internal error, 2 bad arguments or invalid script.

Example:
  taos replay sim/examples/replay_example.json`;

/** Largest script read; endless input (`taos replay - < /dev/zero`) must not fill memory. */
const MAX_SCRIPT_BYTES = 512 * 1024 * 1024;

/** All of `stream`, or an error once it passes {@linkcode MAX_SCRIPT_BYTES}. */
async function readAll(stream: ReadableStream<Uint8Array<ArrayBuffer>>): Promise<Uint8Array> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_SCRIPT_BYTES) throw new Error(`more than ${MAX_SCRIPT_BYTES >> 20} MiB`);
    chunks.push(chunk);
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

/** How messages name the script's source: `-` is standard input. */
function sourceName(path: string): string {
  return path === "-" ? "standard input" : path;
}

async function readScript(path: string): Promise<unknown> {
  const source = sourceName(path);
  let text: string;
  try {
    if (path !== "-" && (await Deno.stat(path)).size > MAX_SCRIPT_BYTES) {
      throw new Error(`more than ${MAX_SCRIPT_BYTES >> 20} MiB`);
    }
    // Every source through the size cap: a device or a pipe (`/dev/zero`, `<(yes)`) has no size
    // to check beforehand.
    const bytes = path === "-"
      ? await readAll(Deno.stdin.readable)
      : await readAll((await Deno.open(path)).readable);
    text = decodeUtf8Text(bytes);
  } catch (error) {
    throw new UsageError(`cannot read ${source}: ${(error as Error).message}`);
  }
  // A closed or forgotten pipe, not a script cut short.
  if (path === "-" && text.trim() === "") {
    throw new UsageError(
      "standard input is empty: give the script there, or its file in place of -",
    );
  }
  try {
    // A key given twice (a second "volume") would count in silence as JSON.parse keeps the last.
    return parseJson(text);
  } catch (error) {
    const message = (error as Error).message;
    throw new UsageError(
      error instanceof SyntaxError
        ? `${source} is not valid JSON: ${message}`
        : `${source}: ${message}`,
    );
  }
}

/** Buffers output lines and writes them to stdout in large chunks. */
function lineWriter(): { emit: (line: string) => void; flush: () => void } {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let size = 0;
  let closed = false;
  const flush = () => {
    const bytes = encoder.encode(pending.join(""));
    pending = [];
    size = 0;
    try {
      for (let written = 0; written < bytes.length && !closed;) {
        written += Deno.stdout.writeSync(bytes.subarray(written));
      }
    } catch (error) {
      // A reader that went away (`taos replay x.json | head`) is not an error of ours.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw stdoutWriteError(error);
      closed = true;
    }
  };
  const emit = (line: string) => {
    if (closed) return;
    pending.push(line, "\n");
    size += line.length + 1;
    if (size >= 1 << 16) flush();
  };
  return { emit, flush };
}

/** `taos replay`. */
export const command: Command = {
  name: "replay",
  summary: "run an instruction script through the exchange core",
  help,
  shortHelp: true,
  async run(args: string[]): Promise<number> {
    const parsed = parseFlags({ args, options: {}, allowPositionals: true, strict: true });
    if (parsed.positionals.length !== 1) {
      throw new UsageError("expected exactly one script file (see taos replay --help)");
    }
    const path = parsed.positionals[0];
    if (path === "") {
      throw new UsageError("<script.json>: must not be empty (- reads standard input)");
    }
    const writer = lineWriter();
    try {
      const script = parseReplayScript(await readScript(path));
      runReplay(script, writer.emit);
    } catch (error) {
      const source = sourceName(path);
      if (error instanceof ReplayScriptError) throw new UsageError(`${source}: ${error.message}`);
      if (error instanceof ExchangeError && error.code === ExchangeCode.config) {
        throw new UsageError(`${source}: exchange configuration rejected: ${error.message}`);
      }
      if (error instanceof ExchangeError) {
        console.error(`taos replay: exchange core failed: ${error.message}`);
        return 1;
      }
      throw error;
    } finally {
      writer.flush();
    }
    return 0;
  },
};
