/**
 * Exchange core throughput against the npm package `nodejs-order-book`, on the same seeded mixed
 * workload: 60% limit orders near the touch, 25% cancels of earlier orders, 15% market orders.
 * The core takes the workload as flat instruction batches through FFI (events drained after each
 * batch); the peer takes the same operations one call at a time. Ends with one JSON line.
 *
 * ```sh
 * deno task bench exchange            # or: deno run -A bench/exchange.ts --ops 2000000
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { OrderBook } from "nodejs-order-book";
import { Exchange, toUnits } from "../native/exchange.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    ops: { type: "string", default: "2000000" },
    seed: { type: "string", default: "79" },
    batch: { type: "string", default: "4096" },
  },
  strict: true,
});
const opCount = Number(values.ops);
const seed = Number(values.seed);
const batchSize = Number(values.batch);
for (const [name, value] of [["ops", opCount], ["seed", seed], ["batch", batchSize]] as const) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench exchange: --${name} must be a positive integer`);
    Deno.exit(2);
  }
}

const AGENTS = 64;
const LOT = 10_000; // one unit of base at baseDecimals 4
const LIMIT = 1;
const MARKET = 2;
const CANCEL = 3;

/** mulberry32: small, fast, seeded. */
function random(state: number): () => number {
  return () => {
    state = (state + 0x6D2B79F5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The workload as parallel arrays: kind, side (0 buy), agent, volume (base units), price, target. */
interface Workload {
  kind: Uint8Array;
  side: Uint8Array;
  agent: Int32Array;
  volume: Float64Array;
  price: Float64Array;
  /** Cancels: index of the placement being cancelled; its core order id in `orderId`. */
  target: Int32Array;
  orderId: Int32Array;
}

function generate(count: number): Workload {
  const rand = random(seed);
  const w: Workload = {
    kind: new Uint8Array(count),
    side: new Uint8Array(count),
    agent: new Int32Array(count),
    volume: new Float64Array(count),
    price: new Float64Array(count),
    target: new Int32Array(count).fill(-1),
    orderId: new Int32Array(count).fill(-1),
  };
  const placedLimits: number[] = [];
  let mid = 30_000; // 300.00 in ticks
  let nextOrderId = 0;
  for (let i = 0; i < count; i++) {
    if (i % 64 === 0) mid += rand() < 0.5 ? -1 : 1;
    const roll = i < 2_000 ? 0 : rand();
    const side = rand() < 0.5 ? 0 : 1;
    w.side[i] = side;
    w.agent[i] = Math.floor(rand() * AGENTS);
    if (roll < 0.60) {
      // Near the touch: mostly passive, one in ten crossing by a few ticks.
      const offset = rand() < 0.9 ? 1 + Math.floor(rand() * 10) : -Math.floor(rand() * 3);
      w.kind[i] = LIMIT;
      w.price[i] = side === 0 ? mid - offset : mid + offset;
      w.volume[i] = LOT * (1 + Math.floor(rand() * 10));
      w.orderId[i] = nextOrderId++;
      placedLimits.push(i);
    } else if (roll < 0.85) {
      const recent = Math.min(placedLimits.length, 2_000);
      const target = placedLimits[placedLimits.length - 1 - Math.floor(rand() * recent)];
      w.kind[i] = CANCEL;
      w.target[i] = target;
      w.agent[i] = w.agent[target];
    } else {
      w.kind[i] = MARKET;
      w.volume[i] = LOT * (1 + Math.floor(rand() * 5));
      w.orderId[i] = nextOrderId++;
    }
  }
  return w;
}

/** Packs the workload into 64-byte tx_instruction records (layout of taos_exchange.h). */
function pack(w: Workload): Uint8Array {
  const count = w.kind.length;
  const bytes = new Uint8Array(count * 64);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) {
    const o = i * 64;
    view.setUint8(o, w.kind[i]);
    view.setUint8(o + 1, w.side[i]);
    view.setUint8(o + 4, 0); // no self-trade prevention: the peer has none
    view.setInt32(o + 8, w.agent[i], true);
    view.setUint32(o + 12, 0, true);
    view.setUint32(o + 16, 0xFFFF_FFFF, true);
    if (w.kind[i] === CANCEL) {
      view.setUint32(o + 20, w.orderId[w.target[i]], true);
    } else {
      view.setUint32(o + 20, 0xFFFF_FFFF, true);
      view.setBigInt64(o + 24, BigInt(w.volume[i]), true);
      if (w.kind[i] === LIMIT) view.setBigInt64(o + 32, BigInt(w.price[i]), true);
    }
  }
  return bytes;
}

function runCore(records: Uint8Array, count: number): { seconds: number; events: number } {
  const exchange = Exchange.open({
    books: 1,
    agents: AGENTS,
    priceDecimals: 2,
    volumeDecimals: 4,
    baseDecimals: 4,
    quoteDecimals: 8,
    initialBase: toUnits("1000000", 4),
    initialQuote: toUnits("1000000000", 8),
    feeTiers: [{ volumeRequired: 0n, makerE9: 1_000_000n, takerE9: 2_000_000n }],
  });
  try {
    let events = 0;
    const started = performance.now();
    for (let first = 0, step = 1; first < count; first += batchSize, step++) {
      const last = Math.min(count, first + batchSize);
      exchange.submitRecords(BigInt(step) * 1_000_000n, records.subarray(first * 64, last * 64));
      events += exchange.skipEvents();
    }
    const seconds = (performance.now() - started) / 1000;
    exchange.check();
    return { seconds, events };
  } finally {
    exchange.close();
  }
}

function runPeer(w: Workload): number {
  const book = new OrderBook();
  const count = w.kind.length;
  const ids = Array.from({ length: count }, (_, i) => String(i));
  const sides = ["buy", "sell"] as never[];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const kind = w.kind[i];
    if (kind === LIMIT) {
      book.limit({ side: sides[w.side[i]], id: ids[i], size: w.volume[i], price: w.price[i] });
    } else if (kind === MARKET) {
      book.market({ side: sides[w.side[i]], size: w.volume[i] });
    } else {
      book.cancel(ids[w.target[i]]);
    }
  }
  return (performance.now() - started) / 1000;
}

const rate = (ops: number, seconds: number) => Math.round(ops / seconds);
const human = (perSecond: number) =>
  perSecond >= 1e6
    ? `${(perSecond / 1e6).toFixed(2)} M ops/s`
    : `${(perSecond / 1e3).toFixed(1)} k ops/s`;

console.log(
  `workload: ${opCount} ops (60% limit near the touch, 25% cancel, 15% market), seed ${seed}`,
);
const workload = generate(opCount);
const records = pack(workload);

// One short warm-up pass each, so neither side is measured while its code is still cold.
const warmup = Math.min(opCount, 100_000);
runCore(records, warmup);
runPeer(generate(warmup));

const core = runCore(records, opCount);
const coreRate = rate(opCount, core.seconds);
console.log(
  `exchange core (FFI, batches of ${batchSize}): ${core.seconds.toFixed(3)} s, ${human(coreRate)}` +
    ` (${core.events} events)`,
);
const peerSeconds = runPeer(workload);
const peerRate = rate(opCount, peerSeconds);
console.log(`nodejs-order-book:                ${peerSeconds.toFixed(3)} s, ${human(peerRate)}`);
const ratio = Math.round((coreRate / peerRate) * 10) / 10;
console.log(`ratio: ${ratio}x`);
console.log(JSON.stringify({
  bench: "exchange",
  core_ops_per_s: coreRate,
  peer_ops_per_s: peerRate,
  ratio,
}));
