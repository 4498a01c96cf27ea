/**
 * Only the provider's own JSON parse errors are taken off the uncaught errors, and only while a
 * watcher is registered: any other error still ends the process as before.
 */
import assert from "node:assert/strict";
import { watchMalformedFrames } from "../../chain/malformed_frames.ts";

/** An uncaught error event for `error`; the result of dispatching it says whether it went on. */
function dispatchUncaught(error: Error): boolean {
  return globalThis.dispatchEvent(new ErrorEvent("error", { error, cancelable: true }));
}

/** A SyntaxError thrown, as far as its stack tells, from inside `@polkadot/rpc-provider`. */
function providerParseError(): SyntaxError {
  const error = new SyntaxError("Unexpected token '<', \"<html>502\" is not valid JSON");
  error.stack =
    `${error.message}\n    at JSON.parse (<anonymous>)\n    at WsProvider.#onSocketMessage ` +
    "(file:///cache/npm/registry.npmjs.org/@polkadot/rpc-provider/16.5.6/ws/index.js:1:1)";
  return error;
}

Deno.test("a provider's parse error goes to the watchers; any other error stays uncaught", () => {
  const heard: string[] = [];
  const unwatch = watchMalformedFrames((error) => heard.push(error.message));
  try {
    assert.equal(dispatchUncaught(providerParseError()), false, "taken off the uncaught errors");
    assert.equal(heard.length, 1);
    // A SyntaxError of the program's own code is a defect to see, not a frame to reconnect on.
    const own = new SyntaxError("Unexpected end of JSON input");
    own.stack = `${own.message}\n    at parseConfig (file:///app/config.ts:3:9)`;
    assert.equal(dispatchUncaught(own), true, "still uncaught");
    assert.equal(dispatchUncaught(new TypeError("x is undefined")), true, "still uncaught");
    assert.equal(heard.length, 1);
  } finally {
    unwatch();
  }
  // With the last watcher gone, the provider's errors are uncaught again and reach no one.
  assert.equal(dispatchUncaught(providerParseError()), true);
  assert.equal(heard.length, 1);
});
