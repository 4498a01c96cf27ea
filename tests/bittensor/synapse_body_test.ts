import assert from "node:assert/strict";
import { z } from "zod";
import {
  baseSchema,
  describeIssues,
  emptyTerminal,
  synapseFromBody,
  type SynapseKind,
} from "../../bittensor/synapse.ts";

const Open: SynapseKind<Record<string, unknown>> = {
  name: "Open",
  fields: z.record(z.string(), z.unknown()),
  requiredFields: [],
  hashFields: [],
};

const terminal = {
  status_code: 200,
  status_message: "Success",
  process_time: 0.25,
  ip: "10.0.0.1",
  port: 8091,
  version: 10002000,
  nonce: 1795637102174123456n,
  uuid: "c3a4",
  hotkey: "5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX",
  signature: "0x12ab",
};

const canonical = {
  name: "Open",
  timeout: 3.5,
  total_size: 120,
  header_size: 0,
  dendrite: terminal,
  axon: { ...emptyTerminal(), hotkey: "5G" },
  computed_body_hash: "a7ff",
  extra: [1, 2],
};

/** What the schema alone makes of `body`: the result, or the error synapseFromBody must throw. */
function bySchema(body: Record<string, unknown>) {
  const parsed = baseSchema.safeParse(body);
  if (!parsed.success) return { error: `synapse body: ${describeIssues(parsed.error)}` };
  const { extra } = body;
  return {
    synapse: { name: "Open", ...parsed.data, fields: extra === undefined ? {} : { extra } },
  };
}

function byFunction(body: Record<string, unknown>) {
  try {
    return { synapse: synapseFromBody(Open, body) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

Deno.test("base fields: the same result as the schema for canonical and other bodies", () => {
  const variants: Record<string, unknown>[] = [
    canonical,
    { ...canonical, timeout: null, total_size: null, header_size: null, computed_body_hash: null },
    { ...canonical, dendrite: null, axon: null },
    { ...canonical, dendrite: { ...terminal, nonce: 12345 } },
    { ...canonical, dendrite: { ...terminal, nonce: "12345" } },
    { ...canonical, dendrite: { ...terminal, nonce: 1.5 } },
    { ...canonical, dendrite: { ...terminal, nonce: -5n } },
    { ...canonical, dendrite: { ...terminal, status_code: "404", port: " 80" } },
    { ...canonical, dendrite: { ...terminal, process_time: "0.5" } },
    { ...canonical, dendrite: { ...terminal, process_time: Infinity } },
    { ...canonical, dendrite: { ...terminal, version: 2 ** 60 } },
    { ...canonical, dendrite: { ...terminal, hotkey: 5 } },
    { ...canonical, dendrite: { ...terminal, surplus: true } },
    { ...canonical, dendrite: { status_code: 200 } },
    { ...canonical, dendrite: [] },
    { ...canonical, dendrite: "x" },
    { ...canonical, axon: undefined },
    { ...canonical, timeout: -1 },
    { ...canonical, timeout: Infinity },
    { ...canonical, timeout: "3" },
    { ...canonical, total_size: 1.5 },
    { ...canonical, header_size: 2 ** 60 },
    { ...canonical, computed_body_hash: 7 },
    { name: "Open" },
    {},
  ];
  for (const body of variants) {
    assert.deepEqual(
      byFunction(body),
      bySchema(body),
      JSON.stringify(body, (_k, v) => typeof v === "bigint" ? `${v}n` : v),
    );
  }
});
