/** A miner client with no network: the loop tests script each miner's reply instead. */
import type { MinerClient, MinerReply, MinerRequest } from "../../validator/miner_client.ts";

/** Every miner answers its request at once with `response(request)`, in `processTime` seconds. */
export function answering(
  response: (request: MinerRequest) => unknown,
  processTime: number,
): MinerClient {
  return {
    query: (requests, _timeout, check) =>
      Promise.resolve(requests.map((r): MinerReply => ({
        uid: r.uid,
        outcome: "ok",
        processTime,
        message: "",
        checked: check(r.uid, response(r)),
      }))),
  };
}

/** Every miner places one market buy of 1 on book 0 each round, so each uid trades. */
export const marketBuyers: MinerClient = answering(({ uid }) => ({
  agent_id: uid,
  instructions: [{
    type: "PLACE_ORDER_MARKET",
    agentId: uid,
    bookId: 0,
    direction: 0,
    quantity: 1,
    clientOrderId: null,
  }],
}), 0.05);
