import assert from "node:assert/strict";
import { MAX_EVENT_TEXT, parseAgentEvent } from "../../miner/agent_protocol.ts";

Deno.test("the text of an event from the agent's worker is cut to its bound, counted in characters", () => {
  assert.equal(MAX_EVENT_TEXT, 2000);
  const long = "😀".repeat(MAX_EVENT_TEXT + 500);
  for (
    const [event, field] of [
      [{ kind: "agent-error", message: long }, "message"],
      [{ kind: "exiting", message: long }, "message"],
      [{ kind: "load-failed", message: long }, "message"],
      [{ kind: "stray", text: long }, "text"],
      [{ kind: "crashed", message: long, outOfMemory: false }, "message"],
      [{ kind: "step-failed", id: 1, message: long, seconds: 0, problem: "error" }, "message"],
      [{
        kind: "step",
        id: 1,
        response: { agent_id: 1, instructions: [] },
        seconds: 0,
        dropped: long,
      }, "dropped"],
      [{
        kind: "step",
        id: 1,
        response: { agent_id: 1, instructions: [] },
        seconds: 0,
        ignored: long,
      }, "ignored"],
      [{ kind: "loaded", file: long }, "file"],
      [{ kind: "loaded", file: null, warning: long }, "warning"],
      [{ kind: "step-failed", id: 1, message: "x", seconds: 0, problem: "error", at: long }, "at"],
    ] as const
  ) {
    const parsed = parseAgentEvent(event) as Record<string, unknown> | null;
    assert.ok(parsed !== null, event.kind);
    const cut = `${"😀".repeat(MAX_EVENT_TEXT - 40)}… (540 more characters)`;
    assert.equal(parsed[field], cut, event.kind);
    assert.ok([...cut].length <= MAX_EVENT_TEXT);
    // Relayed, an event is checked twice (in the agent's process and by the host): the same text.
    assert.deepEqual(parseAgentEvent(parsed), parsed, event.kind);
  }
  // Text within the bound, and the compressed reply, arrive whole.
  const wire = "A".repeat(3 * MAX_EVENT_TEXT);
  const step = { kind: "step", id: 1, seconds: 0, ignored: "leverage", wire, instructions: 3 };
  assert.deepEqual(parseAgentEvent(step), step);
});

Deno.test("a step carries either its response or its wire form with its instruction count", () => {
  const response = { agent_id: 1, instructions: [] };
  const step = { kind: "step", id: 1, seconds: 0 };
  assert.deepEqual(parseAgentEvent({ ...step, response }), { ...step, response });
  for (
    const wrong of [
      step,
      { ...step, response, wire: "eJw=", instructions: 0 },
      { ...step, wire: "eJw=" },
      { ...step, response, instructions: 0 },
    ]
  ) {
    assert.equal(parseAgentEvent(wrong), null, JSON.stringify(wrong));
  }
});
