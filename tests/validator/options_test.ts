import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../cli/command.ts";
import {
  PAGERDUTY_KEY_ENV,
  parseValidatorArgs,
  stateFileOf,
  type ValidatorOptions,
} from "../../validator/options.ts";

const HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const OTHER_HOTKEY = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

Deno.test("options: run_validator.sh short flags map onto the neuron options", () => {
  const o = parseValidatorArgs([
    "-e",
    "test",
    "-p",
    "/wallets",
    "-w",
    "cold",
    "-h",
    "hot",
    "-u",
    "116",
    "-l",
    "debug",
    "-d",
    "PDKEY",
    "-o",
    "9100",
    "-t",
    "2.5",
  ]);
  assert.equal(o.chainEndpoint, "wss://test.finney.opentensor.ai:443");
  assert.equal(o.walletPath, "/wallets");
  assert.equal(o.walletName, "cold");
  assert.equal(o.walletHotkey, "hot");
  assert.equal(o.netuid, 116);
  assert.equal(o.logLevel, "debug");
  assert.equal(o.pagerdutyKey, "PDKEY");
  assert.equal(o.prometheusPort, 9100);
  assert.equal(o.timeoutSeconds, 2.5);
  assert.match(stateFileOf(o, HOTKEY).path, /cold\/hot\/netuid116\/validator\/state\.db$/);
  // A local run never shares the chain validator's state.
  assert.match(
    stateFileOf(parseValidatorArgs(["-w", "cold", "-h", "hot", "--local"]), HOTKEY).path,
    /cold\/hot\/local\/validator\/state\.db$/,
  );
});

Deno.test("options: the default state path of a --hotkey-uri is its address's, not the wallet's", () => {
  const other = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";
  const uri = ["--logging.logging_dir", "/logs", "-w", "cold", "-h", "hot", "--hotkey-uri", "//A"];
  assert.deepEqual(stateFileOf(parseValidatorArgs(uri), HOTKEY), {
    path: `/logs/${HOTKEY}/netuid79/validator/state.db`,
    origin: "default state file (from --logging.logging_dir, the --hotkey-uri address)",
    // Where the wallet's names put it, named when no state is at `path`.
    walletNamesDefault: "/logs/cold/hot/netuid79/validator/state.db",
  });
  assert.equal(
    stateFileOf(parseValidatorArgs([...uri, "--local", "--neuron.name", "n"]), other).path,
    `/logs/${other}/local/n/state.db`,
  );
  // A wallet's hotkey keeps the path its validator has always had, whatever key the file holds.
  const wallet = parseValidatorArgs(["--logging.logging_dir", "/logs", "-w", "cold", "-h", "hot"]);
  assert.deepEqual(stateFileOf(wallet, other), {
    path: "/logs/cold/hot/netuid79/validator/state.db",
    origin: "default state file (from --logging.logging_dir, --wallet.name, --wallet.hotkey)",
    walletNamesDefault: null,
  });
  assert.deepEqual(stateFileOf(parseValidatorArgs([...uri, "--state", "/s.db"]), HOTKEY), {
    path: "/s.db",
    origin: "--state",
    walletNamesDefault: null,
  });
});

Deno.test("options: defaults follow the reference and run_validator.sh", () => {
  const o = parseValidatorArgs([]);
  assert.equal(o.netuid, 79);
  assert.equal(o.chainEndpoint, "wss://entrypoint-finney.opentensor.ai:443");
  assert.equal(o.walletName, "taos");
  assert.equal(o.walletHotkey, "validator");
  assert.equal(o.timeoutSeconds, 3.0);
  assert.equal(o.maxResponseBytes, 64 * 1024 * 1024);
  assert.equal(
    parseValidatorArgs(["--neuron.max_response_bytes", "1048576"]).maxResponseBytes,
    1048576,
  );
  // A round holds at most 512 MiB of replies, or one reply at the cap when that is larger.
  assert.equal(o.maxRoundResponseBytes, 512 * 1024 * 1024);
  assert.equal(
    parseValidatorArgs(["--neuron.max_response_bytes", "1073741824"]).maxRoundResponseBytes,
    1073741824,
  );
  assert.equal(
    parseValidatorArgs([
      "--neuron.max_response_bytes",
      "1048576",
      "--neuron.max_round_response_bytes",
      "16777216",
    ]).maxRoundResponseBytes,
    16777216,
  );
  assert.equal(o.prometheusPort, 9001);
  assert.equal(o.pagerdutyKey, null);
  assert.equal(o.scoring.maxInstructionsPerBook, 20);
  assert.equal(o.scoring.sharpeLookback, 720);
  assert.equal(o.scoring.maxDelayNs, 500_000_000);
  assert.equal(o.scoring.minDelayNs, 10_000_000);
  assert.equal(o.scoring.alpha, 0.1);
  assert.deepEqual([o.fundamentalFeed, o.externalFeed], [null, null]);
  assert.equal(o.commitScheme, "auto");
  assert.equal(
    parseValidatorArgs(["--neuron.commit_scheme", "timelock"]).commitScheme,
    "timelock",
  );
  assert.deepEqual(o.notes, []);
  const fed = parseValidatorArgs([
    "--fundamental-feed",
    "btc.csv",
    "--external-feed",
    "http://h/t",
  ]);
  assert.deepEqual([fed.fundamentalFeed, fed.externalFeed], ["btc.csv", "http://h/t"]);
});

Deno.test("options: the PagerDuty routing key may come from the environment; a flag wins", () => {
  Deno.env.set(PAGERDUTY_KEY_ENV, "FROM-ENV");
  try {
    assert.equal(parseValidatorArgs([]).pagerdutyKey, "FROM-ENV");
    assert.equal(parseValidatorArgs(["-d", "FROM-FLAG"]).pagerdutyKey, "FROM-FLAG");
    assert.equal(parseValidatorArgs(["--pagerduty.key", "FROM-FLAG"]).pagerdutyKey, "FROM-FLAG");
    // An empty flag turns paging off, as the reference's run script passes it, and says so.
    const empty = parseValidatorArgs(["-d", ""]);
    assert.equal(empty.pagerdutyKey, null);
    assert.match(empty.notes.join("\n"), /PagerDuty key given on the command line is empty/);
  } finally {
    Deno.env.delete(PAGERDUTY_KEY_ENV);
  }
  assert.equal(parseValidatorArgs([]).pagerdutyKey, null);
  assert.deepEqual(parseValidatorArgs(["-d", ""]).notes, [], "no key anywhere: nothing to say");
  // run_validator.sh's PD_KEY='""' reaching taos unquoted: two quote characters, no routing key.
  for (const quotes of ['""', "''"]) {
    const quoted = parseValidatorArgs(["-d", quotes]);
    assert.equal(quoted.pagerdutyKey, null);
    assert.deepEqual(quoted.notes, [
      `the PagerDuty key is only quote characters (${quotes}): taken as no key, so nothing is paged`,
    ]);
  }
});

Deno.test("options: the metrics of a --local run are labelled netuid local unless --netuid is given", () => {
  assert.equal(parseValidatorArgs([]).metricsNetuid, 79);
  assert.equal(parseValidatorArgs(["--local"]).metricsNetuid, "local");
  assert.equal(parseValidatorArgs(["--local", "--netuid", "80"]).metricsNetuid, 80);
  assert.equal(parseValidatorArgs(["--netuid", "80"]).metricsNetuid, 80);
});

Deno.test("options: --config and --simulation.xml_config naming one file in two spellings agree", () => {
  const same: [string, string][] = [
    ["./run.xml", "run.xml"],
    ["configs/../run.xml", "run.xml"],
    [`${Deno.cwd()}/run.xml`, "run.xml"],
    ["small", "small"],
  ];
  for (const [config, xml] of same) {
    const options = parseValidatorArgs(["--config", config, "--simulation.xml_config", xml]);
    assert.equal(options.simulationConfig, config, `${config} and ${xml}`);
  }
  // A preset's name and a file of that name are two things.
  assert.throws(
    () => parseValidatorArgs(["--config", "small", "--simulation.xml_config", "./small"]),
    /--config and --simulation\.xml_config set the same thing and were given different values \('small' and '\.\/small'\)/,
  );
});

Deno.test("options: a setting given under both its names with different values is refused", () => {
  const refused: [string[], RegExp][] = [
    [
      ["--config", "small", "--simulation.xml_config", "run.xml"],
      /^--config and --simulation\.xml_config set the same thing and were given different values \('small' and 'run\.xml'\): give one of them$/,
    ],
    [
      ["--config", "./a.xml", "--simulation.xml_config", "configs/a.xml"],
      /^--config and --simulation\.xml_config set the same thing and were given different values \('\.\/a\.xml' and 'configs\/a\.xml'\): give one of them$/,
    ],
    [
      ["--config", "a.xml", "--simulation.xml_config", "b.xml"],
      /^--config and --simulation\.xml_config set the same thing and were given different values \('a\.xml' and 'b\.xml'\): give one of them$/,
    ],
    [
      ["-d", "KEY-ONE", "--pagerduty.key", "KEY-TWO"],
      /^-d\/--alerting\.pagerduty\.integration_key and --pagerduty\.key set the same thing and were given different values: give one of them$/,
    ],
    [["--simulation.xml_config="], /^--simulation\.xml_config: must not be empty$/],
  ];
  for (const [args, message] of refused) {
    assert.throws(() => parseValidatorArgs(args), (e: unknown) => {
      assert.ok(e instanceof UsageError, args.join(" "));
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /KEY-/, "the key is not echoed");
      return true;
    });
  }
  // The same value twice, or one name alone, is taken.
  assert.equal(
    parseValidatorArgs(["--config", "small", "--simulation.xml_config", "small"]).simulationConfig,
    "small",
  );
  assert.equal(parseValidatorArgs(["--simulation.xml_config", "small"]).simulationConfig, "small");
  assert.equal(parseValidatorArgs(["-d", "K", "--pagerduty.key", "K"]).pagerdutyKey, "K");
});

Deno.test("options: -e takes every network name the miner and the SDK take", () => {
  assert.equal(
    parseValidatorArgs(["-e", "archive"]).chainEndpoint,
    "wss://archive.chain.opentensor.ai:443",
  );
  assert.equal(
    parseValidatorArgs(["--subtensor.network", "latent-lite"]).chainEndpoint,
    "wss://lite.sub.latent.to:443",
  );
  const saved = Deno.env.get("BT_SUBTENSOR_CHAIN_ENDPOINT");
  Deno.env.set("BT_SUBTENSOR_CHAIN_ENDPOINT", "ws://10.1.2.3:9944");
  try {
    assert.equal(parseValidatorArgs(["-e", "local"]).chainEndpoint, "ws://10.1.2.3:9944");
  } finally {
    if (saved === undefined) Deno.env.delete("BT_SUBTENSOR_CHAIN_ENDPOINT");
    else Deno.env.set("BT_SUBTENSOR_CHAIN_ENDPOINT", saved);
  }
  assert.throws(
    () => parseValidatorArgs(["-e", "mainnet"]),
    /-e\/--subtensor\.chain_endpoint: "mainnet" is neither a known network/,
  );
  // Named by the flag that gave it, as the miner and taos metagraph name it.
  assert.throws(
    () => parseValidatorArgs(["--subtensor.network", "mainnet"]),
    / --subtensor\.network: "mainnet" is neither a known network/,
  );
  assert.throws(
    () => parseValidatorArgs(["--subtensor.network", ""]),
    / --subtensor\.network: must not be empty$/,
  );
});

Deno.test("options: long reference forms, --local miners, -s/-x accepted with a note", () => {
  const o = parseValidatorArgs([
    "--subtensor.chain_endpoint",
    "ws://10.0.0.1:9944",
    "--logging.trace",
    "--alerting.pagerduty.integration_key",
    "K2",
    "--prometheus.level",
    "OFF",
    "--neuron.timeout",
    "5",
    "--scoring.sharpe.lookback",
    "100",
    "--local",
    "--miner",
    `3:${HOTKEY}@127.0.0.1:8091`,
    "--miner",
    `4:${OTHER_HOTKEY}@[::1]:8092`,
    "-s",
    "1",
    "-x",
    "0",
  ]);
  assert.equal(o.chainEndpoint, "ws://10.0.0.1:9944");
  assert.equal(o.logLevel, "trace");
  // The miner's spelling works too.
  assert.equal(parseValidatorArgs(["--logging.level", "debug"]).logLevel, "debug");
  assert.equal(parseValidatorArgs(["--logging.level", "warn"]).logLevel, "warning");
  // The reference's switches win over a named level, wherever they stand, as in the miner.
  assert.equal(parseValidatorArgs(["--logging.trace", "-l", "error"]).logLevel, "trace");
  assert.equal(parseValidatorArgs(["-l", "error", "--logging.trace"]).logLevel, "trace");
  assert.equal(parseValidatorArgs(["--logging.debug", "--logging.trace"]).logLevel, "trace");
  // btwallet's variables name the wallet and hotkey when the flags do not.
  Deno.env.set("BT_WALLET_NAME", "from-env");
  Deno.env.set("BT_WALLET_HOTKEY", "../x");
  try {
    assert.throws(() => parseValidatorArgs([]), /^.*BT_WALLET_HOTKEY: '\.\.\/x' must be a single/);
    const named = parseValidatorArgs(["--wallet.hotkey", "hk"]);
    assert.deepEqual([named.walletName, named.walletHotkey], ["from-env", "hk"]);
    assert.equal(parseValidatorArgs(["-w", "flag", "-h", "hk"]).walletName, "flag");
  } finally {
    Deno.env.delete("BT_WALLET_NAME");
    Deno.env.delete("BT_WALLET_HOTKEY");
  }
  assert.equal(o.pagerdutyKey, "K2");
  assert.equal(o.prometheusPort, null);
  assert.equal(o.timeoutSeconds, 5);
  assert.equal(o.scoring.sharpeLookback, 100);
  assert.deepEqual(o.miners, [
    { uid: 3, hotkey: HOTKEY, host: "127.0.0.1", port: 8091 },
    { uid: 4, hotkey: OTHER_HOTKEY, host: "::1", port: 8092 },
  ]);
  // Host names as DNS and /etc/hosts give them, a trailing dot and a container's `_` included.
  for (const host of ["localhost", "miner-1.example.com.", "taos_miner", "10.0.0.7", "::1"]) {
    const [miner] = parseValidatorArgs(["--local", "--miner", `0:${HOTKEY}@${host}:1`]).miners;
    assert.equal(miner.host, host);
  }
  assert.equal(o.notes.length, 2);
  assert.match(o.notes[0], /^-s has no effect/);
  assert.match(o.notes[1], /^-x has no effect/);
});

Deno.test("options: bad values name the flag", () => {
  const cases: [string[], RegExp][] = [
    [["-t", "0"], /--neuron\.timeout: '0' must be positive/],
    [
      ["--prometheus.level", "verbose"],
      // Quoted as typed, not upper-cased.
      /--prometheus\.level: 'verbose' must be OFF, or INFO, DEBUG/,
    ],
    [["-t", "soon"], /--neuron\.timeout/],
    // As `taos sim` words it.
    [["--duration", "200000d"], /^--duration: '200000d' is longer than the clock's 104 days$/],
    [["--duration", "soon"], /^--duration: 'soon' is not a duration \(e\.g\. 90s, 10m, 1h\)$/],
    [
      ["--neuron.max_response_bytes", "1000"],
      /--neuron\.max_response_bytes: '1000' must be between 65536 and 1073741824/,
    ],
    [
      ["--neuron.max_round_response_bytes", "1048576"],
      /--neuron\.max_round_response_bytes: '1048576' must be at least --neuron\.max_response_bytes \(67108864\)/,
    ],
    [["--neuron.max_round_response_bytes", "2e12"], /must be at most 1099511627776$/],
    [["-o", "70000"], /--prometheus\.port/],
    // Unused when OFF, but still a mistake.
    [["--prometheus.level", "OFF", "-o", "70000"], /--prometheus\.port: '70000' must be <= 65535/],
    [["-u", "-1"], /--netuid/],
    // Bounds without a message of their own read as the others, not as zod's defaults.
    [["-t", "601"], /--neuron\.timeout: '601' must be <= 600$/],
    [["--neuron.save_interval", "-5"], /--neuron\.save_interval: '-5' must be >= 0$/],
    [["--threads", "5000"], /--threads: '5000' must be <= 1024$/],
    [
      ["--scoring.sharpe.normalization_min", "1e999"],
      /--scoring\.sharpe\.normalization_min: '1e999' must be a finite number$/,
    ],
    [["-u", "0x4f"], /--netuid: '0x4f' must be a number/],
    [["-t", "Infinity"], /--neuron\.timeout: 'Infinity' must be a number/],
    [["-l", "loud"], /-l\/--log-level: 'loud'/],
    [["--logging.level", "loud"], /^--logging\.level: 'loud' must be one of error,/],
    [
      ["--neuron.commit_scheme", "drand"],
      /--neuron\.commit_scheme: 'drand' must be one of auto, hash, timelock/,
    ],
    [["-e", "nowhere"], /-e\/--subtensor\.chain_endpoint: "nowhere" is neither/],
    [["--miner", `0:${HOTKEY}@h:1`], /--miner: only valid with --local/],
    [["--local", "--miner", "zero@h:1"], /--miner: 'zero@h:1' must look like/],
    [["--local", "--miner", `0:${HOTKEY}@a:1`, "--miner", `0:${HOTKEY}@b:2`], /uid 0 given twice/],
    // A host no connection can be made to was taken, and the miner failed every round.
    [
      ["--local", "--miner", `0:${HOTKEY}@exa*mple.com:8091`],
      /^--miner host: 'exa\*mple\.com' is not an IP address or host name$/,
    ],
    [["--local", "--miner", `0:${HOTKEY}@a b:8091`], /^--miner host: 'a b' is not an IP/],
    [["--local", "--miner", `0:${HOTKEY}@[fe80::zz]:8091`], /^--miner host: 'fe80::zz' is not/],
    [["--scoring.max_delay", "1", "--scoring.min_delay", "2"], /--scoring\.max_delay/],
    [["--duration", "forever"], /--duration/],
    [["--no-such-flag"], /no-such-flag/],
    [["-w", "../../elsewhere"], /--wallet\.name: '\.\.\/\.\.\/elsewhere' must be a single file/],
    [["-h", ".."], /--wallet\.hotkey: '\.\.' must be a single file name/],
    [["--neuron.name", "a/b"], /--neuron\.name: 'a\/b' must be a single file name/],
    // `--state=` ran on a temporary database that saved nothing, an empty logging directory put
    // the state in the working directory.
    [["--state="], /^--state: must not be empty$/],
    [["--state", ":memory:"], /^--state: ':memory:' is a database in memory, which would save/],
    [["--logging.logging_dir="], /^--logging\.logging_dir: must not be empty$/],
    [["--wallet.path="], /^--wallet\.path: must not be empty$/],
    [["--http.host="], /^--http\.host: must not be empty$/],
    [["--config="], /^--config: must not be empty$/],
    [["--local", "--hotkey-uri="], /^--hotkey-uri: must not be empty$/],
    [["--fundamental-feed="], /^--fundamental-feed: must not be empty$/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseValidatorArgs(args), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${args.join(" ")} throws a UsageError`);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("options: the reference validator's flags without a counterpart are accepted with a note", () => {
  const o = parseValidatorArgs([
    "--local",
    "--wandb.off",
    "--neuron.device",
    "cuda",
    "--axon.port",
    "8091",
    "--logging.record_log",
  ]);
  assert.equal(o.notes.length, 1);
  assert.match(
    o.notes[0],
    /^--logging\.record_log, --neuron\.device, --wandb\.off, --axon\.port: the reference validator's, no effect here/,
  );
  assert.throws(() => parseValidatorArgs(["--local", "--wandb.of"]), /Unknown option '--wandb.of'/);
});

Deno.test("options: the SDK's --logging.enable_third_party_loggers and --subtensor._mock <value> are accepted with a note", () => {
  // The reference validator's parser has every flag of the SDK's logging and subtensor parsers;
  // --subtensor._mock takes a value there (`--subtensor._mock False`).
  const o = parseValidatorArgs([
    "--local",
    "--logging.enable_third_party_loggers",
    "--subtensor._mock",
    "False",
    "--seed",
    "3",
  ]);
  assert.equal(o.seed, 3);
  assert.equal(o.notes.length, 1);
  assert.match(o.notes[0], /--subtensor\._mock\b.*: the reference validator's, no effect here/);
  assert.match(o.notes[0], /--logging\.enable_third_party_loggers\b/);
});

Deno.test("options: the SDK's BT_LOGGING_* variables, which set the reference's log level and state root, are named as not read", () => {
  const variables = { BT_LOGGING_DEBUG: "1", BT_LOGGING_LOGGING_DIR: "/data/bittensor" };
  for (const [name, value] of Object.entries(variables)) Deno.env.set(name, value);
  try {
    const o = parseValidatorArgs(["--local"]);
    assert.equal(o.logLevel, "info");
    assert.equal(o.loggingDir, join(homedir(), ".bittensor", "validators"));
    assert.deepEqual(o.notes, [
      "BT_LOGGING_DEBUG, BT_LOGGING_LOGGING_DIR: the SDK's environment variables, not read here " +
      "(give --logging.debug, --logging.logging_dir instead)",
    ]);
    // A variable whose flag is given changes nothing the flag does not already say.
    const flagged = parseValidatorArgs(["--local", "--logging.logging_dir", "/data/bittensor"]);
    assert.deepEqual(flagged.notes, [
      "BT_LOGGING_DEBUG: the SDK's environment variables, not read here " +
      "(give --logging.debug instead)",
    ]);
  } finally {
    for (const name of Object.keys(variables)) Deno.env.delete(name);
  }
});

Deno.test("options: a YAML --config, the reference's file of flags, is refused as such", () => {
  for (const file of ["~/.bittensor/validator.yml", "run.YAML"]) {
    assert.throws(
      () => parseValidatorArgs(["--local", "--config", file]),
      (e: Error) => {
        assert.ok(e instanceof UsageError);
        assert.match(
          e.message,
          /^--config: .*: a Bittensor YAML file of flags is not read; --config names the simulation's configuration \(a preset, or a \.json, \.toml or \.xml file\): give the flags themselves$/,
        );
        return true;
      },
    );
  }
});

Deno.test("options: a path flag's leading ~ is the home directory, also after '=' where the shell leaves it", () => {
  const home = homedir();
  // Taken as it is, `--state=~/v/state.db` would make a directory named ~ in the working
  // directory.
  const o = parseValidatorArgs([
    "--state=~/v/state.db",
    "--config=~/small.json",
    "--fundamental-feed=~/feed.csv",
  ]);
  assert.equal(o.stateGiven, join(home, "v/state.db"));
  assert.equal(o.simulationConfig, join(home, "small.json"));
  assert.equal(o.fundamentalFeed, join(home, "feed.csv"));
  assert.equal(parseValidatorArgs(["--state", "~x/state.db"]).stateGiven, "~x/state.db");
});

Deno.test("options: --neuron.axon_off is taken and said to have no effect, as no axon is served", () => {
  assert.deepEqual(parseValidatorArgs(["--neuron.axon_off"]).notes, [
    "--neuron.axon_off has no effect: this validator serves no axon",
  ]);
});

Deno.test("options: -t=2 is -t 2, and a misspelt flag after --state is refused, not a file name", () => {
  assert.equal(parseValidatorArgs(["-t=2"]).timeoutSeconds, 2);
  assert.throws(
    () => parseValidatorArgs(["--state", "--neuron-reset"]),
    (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /^--state: needs a value, and --neuron-reset is no option/);
      return true;
    },
  );
});

Deno.test("options: each range takes its end values and refuses one step past them", () => {
  const o = parseValidatorArgs([]);
  // The README's defaults.
  assert.deepEqual([o.saveIntervalSeconds, o.weightsIntervalSeconds], [30, 120]);
  const parse = (...args: string[]) => parseValidatorArgs(args);
  // Equal bounds pin every execution delay (how reproducible runs are made).
  const pinned = parse("--scoring.min_delay", "100", "--scoring.max_delay", "100").scoring;
  assert.deepEqual([pinned.minDelayNs, pinned.maxDelayNs], [100, 100]);
  assert.equal(parse("--scoring.sharpe.lookback", "2").scoring.sharpeLookback, 2);
  assert.equal(parse("--neuron.moving_average_alpha", "1").scoring.alpha, 1);
  assert.equal(parse("--books", "4096").books, 4096);
  assert.equal(parse("-t", "600").timeoutSeconds, 600);
  assert.equal(
    parse("--simulation.seeding.live", "--simulation.seeding.external.sampling_seconds", "86400")
      .seeding?.samplingSeconds,
    86400,
  );
  assert.equal(parse("--local", "--miner", `0:${HOTKEY}@h:65535`).miners[0].port, 65535);
  const refused: [string[], RegExp][] = [
    [["--scoring.sharpe.lookback", "1"], /^--scoring\.sharpe\.lookback: '1' must be >= 2$/],
    // An alpha of 0 would never move a score.
    [["--neuron.moving_average_alpha", "0"], /^--neuron\.moving_average_alpha: '0' must be > 0$/],
    [["--neuron.moving_average_alpha", "1.01"], /moving_average_alpha: '1\.01' must be <= 1$/],
    [["--books", "4097"], /^--books: '4097' must be <= 4096$/],
    [
      ["--simulation.seeding.live", "--simulation.seeding.external.sampling_seconds", "86401"],
      /sampling_seconds: '86401' must be <= 86400$/,
    ],
    [["--local", "--miner", `0:${HOTKEY}@h:0`], /^--miner port: '0' must be >= 1$/],
    [["--local", "--miner", `0:${HOTKEY}@h:65536`], /^--miner port: '65536' must be <= 65535$/],
  ];
  for (const [args, message] of refused) {
    assert.throws(() => parseValidatorArgs(args), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${args.join(" ")} throws a UsageError`);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("options: each numeric flag reaches its own option and is refused past its own bounds", () => {
  // [flag, a value it takes, where the value lands, a value it refuses]: each value taken differs
  // from the flag's default, so a flag read under another flag's name shows here.
  const flags: [string, string, (o: ValidatorOptions) => unknown, string][] = [
    ["netuid", "80", (o) => o.netuid, "65536"],
    ["prometheus.port", "9100", (o) => o.prometheusPort, "65536"],
    ["scoring.sharpe.normalization_min", "-3", (o) => o.scoring.normalizationMin, "1e999"],
    ["scoring.sharpe.normalization_max", "3", (o) => o.scoring.normalizationMax, "1e999"],
    ["scoring.min_delay", "7", (o) => o.scoring.minDelayNs, "-1"],
    ["scoring.max_delay", "900000000", (o) => o.scoring.maxDelayNs, "1.5"],
    ["scoring.max_instructions_per_book", "7", (o) => o.scoring.maxInstructionsPerBook, "0"],
    ["scoring.sharpe.lookback", "100", (o) => o.scoring.sharpeLookback, "1"],
    [
      "scoring.activity.trade_volume_sampling_interval",
      "300000000000",
      (o) => o.scoring.volumeSamplingInterval,
      "0",
    ],
    [
      "scoring.activity.trade_volume_assessment_period",
      "43200000000000",
      (o) => o.scoring.volumeAssessmentPeriod,
      "0",
    ],
    // The README gives the cap no upper bound.
    ["scoring.activity.capital_turnover_cap", "1000", (o) => o.scoring.capitalTurnoverCap, "0"],
    ["neuron.moving_average_alpha", "0.5", (o) => o.scoring.alpha, "0"],
    ["neuron.max_response_bytes", "1048576", (o) => o.maxResponseBytes, "1000"],
    ["neuron.max_round_response_bytes", "2000000000", (o) => o.maxRoundResponseBytes, "2e12"],
    ["neuron.timeout", "7", (o) => o.timeoutSeconds, "601"],
    // The README's range is 1 to 1000000: 0 would refuse every connection.
    ["http.max_connections_per_ip", "1", (o) => o.httpMaxConnectionsPerIp, "0"],
    ["seed", "5", (o) => o.seed, "-1"],
    ["neuron.save_interval", "0", (o) => o.saveIntervalSeconds, "-1"],
    ["neuron.weights_interval", "0", (o) => o.weightsIntervalSeconds, "-1"],
    ["simulations", "3", (o) => o.simulations, "0"],
    ["books", "4096", (o) => o.books, "0"],
    ["threads", "1024", (o) => o.threads, "1025"],
  ];
  for (const [flag, taken, field, refused] of flags) {
    assert.equal(field(parseValidatorArgs([`--${flag}`, taken])), Number(taken), flag);
    assert.throws(() => parseValidatorArgs([`--${flag}`, refused]), (e: unknown) => {
      assert.ok(e instanceof UsageError, `--${flag} ${refused} throws a UsageError`);
      assert.ok(e.message.startsWith(`--${flag}: '${refused}' `), e.message);
      return true;
    });
  }
});

Deno.test("options: -e wins over --subtensor.network, whichever stands first", () => {
  for (
    const args of [
      ["-e", "test", "--subtensor.network", "finney"],
      ["--subtensor.network", "finney", "-e", "test"],
    ]
  ) {
    assert.equal(
      parseValidatorArgs(args).chainEndpoint,
      "wss://test.finney.opentensor.ai:443",
      args.join(" "),
    );
  }
  // The flag that wins is the one checked, and named, when its value is bad.
  assert.throws(
    () => parseValidatorArgs(["-e", "nowhere", "--subtensor.network", "elsewhere"]),
    /^UsageError: -e\/--subtensor\.chain_endpoint: "nowhere" is neither/,
  );
});
