/** Reports fed to `ValidatorMetrics` by hand, and the reading of the `/metrics` text it renders. */
import type { PublishState } from "../../sim/engine.ts";
import type { MinerScoreDetail, ReportInput, ValidatorMetrics } from "../../validator/metrics.ts";

/**
 * Reports a publish at `timestamp` with `books` and no accounts or notices, at step rate 0 with no
 * scores, unless `input` says otherwise.
 */
export function reportBooks(
  metrics: ValidatorMetrics,
  timestamp: number,
  books: PublishState["books"],
  input: Partial<ReportInput> = {},
): void {
  metrics.report({
    publish: { timestamp, final: false, books, accounts: [], notices: [], eventsProcessed: 0 },
    stepRate: 0,
    ownUid: null,
    scores: new Map(),
    details: [],
    initialBalances: new Map(),
    usage: { cpu: 0, ram: 0, disk: 0 },
    ...input,
  });
}

/**
 * A miner's scoring details with one book per Sharpe ratio, observed three times, every other
 * figure 0 unless `fields` says otherwise.
 */
export function sharpeDetail(
  uid: number,
  sharpes: number[],
  fields: Partial<Omit<MinerScoreDetail, "uid" | "books">> = {},
): MinerScoreDetail {
  const volume = { total: 0, maker: 0, taker: 0, self: 0 };
  return {
    uid,
    reward: 0,
    score: 0,
    observations: 3,
    pnl: 0,
    inventoryValueChange: 0,
    pnlChange: 0,
    books: sharpes.map((sharpe) => ({
      sharpe,
      activityFactor: 1,
      inventoryValue: 0,
      pnl: 0,
      volume,
    })),
    ...fields,
  };
}

/** The lines of `/metrics` text `text` that are series of `family`. */
export function familySeries(text: string, family: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${family}{`));
}

/** The value of label `name` in a series line, undefined where the line has no such label. */
export function labelValue(line: string, name: string): string | undefined {
  return new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1];
}

/** The value of miner `uid`'s `miner_gauges` series named `name`, as `/metrics` text prints it. */
export function minerGaugeValue(text: string, uid: number, name: string): string | undefined {
  return new RegExp(
    `^miner_gauges\\{agent_id="${uid}",miner_gauge_name="${name}",[^}]*\\} (\\S+)$`,
    "m",
  ).exec(text)?.[1];
}
