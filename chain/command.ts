/**
 * `taos metagraph`: prints a subnet's hyperparameters and neurons as the chain reports them, for
 * operators checking registration, permits, stake and served axons before starting a validator
 * or miner.
 *
 * ```sh
 * taos metagraph --network finney --netuid 79
 * taos metagraph -e ws://127.0.0.1:9944 --netuid 2 --json
 * ```
 * @module
 */
import { type Command, parseFlags, printOut } from "../cli/command.ts";
import { endpointFlag, integerFlag } from "../cli/flag_values.ts";
import { SubtensorClient } from "./client.ts";
import { ChainError, describeRpcError } from "./errors.ts";
import { readHyperparameters, readMetagraph } from "./subnet.ts";

const HELP = `Usage: taos metagraph [options]

Prints a subnet's hyperparameters and its neurons as read from a subtensor node: the table
shows uid, hotkey, stake, validator permit and axon; --json adds coldkey, last update and the
rest of each neuron's record (active, validator trust, trust, consensus, incentive, dividends,
emission).

Options:
  --network <name|url>  finney, test, archive, latent-lite, local or a ws:// / wss:// URL
                        (default finney); also spelled -e/--subtensor.chain_endpoint and
                        --subtensor.network, as for the miner and the validator (-e wins,
                        then --network)
  -u, --netuid <n>      subnet id (default 79)
  --json                print one JSON object instead of a table
  -h, --help            show this help`;

/** The `taos metagraph` command. */
export const command: Command = {
  name: "metagraph",
  summary: "print a subnet's hyperparameters and neurons from the chain",
  help: HELP,
  shortHelp: true,
  async run(args: string[]): Promise<number> {
    const { values } = parseFlags({
      args,
      options: {
        network: { type: "string" },
        "subtensor.chain_endpoint": { type: "string", short: "e" },
        "subtensor.network": { type: "string" },
        netuid: { type: "string", short: "u" },
        json: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    const netuid = integerFlag("netuid", values.netuid, 0, 65535) ?? 79;
    // -e wins, then --network, as -e wins over --subtensor.network for the miner and validator;
    // checked before connecting, so that a bad name is told under the flag that gave it.
    const network = endpointFlag([
      ["-e/--subtensor.chain_endpoint", values["subtensor.chain_endpoint"]],
      ["--network", values.network],
      ["--subtensor.network", values["subtensor.network"]],
    ], "finney");
    // Every line but the output goes to stderr in the command's own form.
    const toStderr = (line: string) => console.error(`taos metagraph: ${line}`);
    let client: SubtensorClient;
    try {
      client = await SubtensorClient.connect({
        network,
        connectTimeoutMs: 30_000,
        log: toStderr,
        // The library's lines too: it would print some on stdout, into --json output.
        libraryLog: toStderr,
      });
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      console.error(`taos metagraph: ${error.message}`);
      return 1;
    }
    let lines: string[];
    try {
      const [params, metagraph] = await Promise.all([
        readHyperparameters(client, netuid),
        readMetagraph(client, netuid),
      ]);
      lines = values.json
        ? [metagraphJson(metagraph, params)]
        : metagraphTable(netuid, metagraph, params);
    } catch (error) {
      // Whatever goes wrong after connecting (an RPC error, a dropped socket, no reply) is told
      // in one line.
      if (!(error instanceof Error)) throw error;
      console.error(`taos metagraph: reading subnet ${netuid} failed: ${describeRpcError(error)}`);
      return 1;
    } finally {
      await client.close();
    }
    // Printed once read, so that a refused write is told as standard output's, not the node's.
    for (const line of lines) printOut(line);
    return 0;
  },
};

type Metagraph = Awaited<ReturnType<typeof readMetagraph>>;
type Hyperparameters = Awaited<ReturnType<typeof readHyperparameters>>;

/** `--json`: the subnet in one line, each neuron with its standing (a Map would print as {}). */
function metagraphJson(metagraph: Metagraph, params: Hyperparameters): string {
  const { standing, ...rest } = metagraph;
  const neurons = metagraph.neurons.map((n) => ({ ...n, ...standing.get(n.uid) }));
  return JSON.stringify(
    { ...rest, neurons, hyperparameters: params },
    (_, v) => typeof v === "bigint" ? v.toString() : v,
  );
}

/** The subnet's summary line, then a table of its neurons. */
function metagraphTable(netuid: number, metagraph: Metagraph, params: Hyperparameters): string[] {
  const lines = [
    `subnet ${netuid} at block ${metagraph.block}: ${metagraph.neurons.length} neurons, ` +
    `tempo ${params.tempo}, weights rate limit ${params.weightsRateLimit}, ` +
    `version key ${params.weightsVersion}, commit-reveal ${
      params.commitRevealEnabled ? `on (${params.commitRevealPeriod} epochs)` : "off"
    }, min weights ${params.minAllowedWeights}, max weight ${params.maxWeightsLimit}/65535`,
    "uid  hotkey                                            stake (TAO)  vp  axon",
  ];
  for (const n of metagraph.neurons) {
    // An IPv6 address is bracketed so its port stays readable, as in a URL.
    const host = n.axon?.ip.includes(":") ? `[${n.axon.ip}]` : n.axon?.ip;
    const axon = n.axon ? `${host}:${n.axon.port}` : "-";
    lines.push(
      `${String(n.uid).padStart(3)}  ${n.hotkey}  ${n.stake.toFixed(3).padStart(11)}  ${
        n.validatorPermit ? "y " : "  "
      }  ${axon}`,
    );
  }
  return lines;
}
