/**
 * Instruction records field by field (`tx_instruction`, 64 bytes, little-endian), for streams
 * that send the core what `InstructionBatch` would never pack: unknown kinds, enum values out of
 * range, nonzero padding, any integer each field holds.
 * @module
 */
import { InstructionBatch } from "../../native/exchange.ts";
import type { Instruction, RawRecord } from "./model.ts";

/** Bytes of one record. */
export const RECORD_SIZE = 64;

/** Reads the record at `offset`. */
export function readRecord(view: DataView, offset: number): RawRecord {
  return {
    kind: view.getUint8(offset),
    direction: view.getUint8(offset + 1),
    currency: view.getUint8(offset + 2),
    timeInForce: view.getUint8(offset + 3),
    stp: view.getUint8(offset + 4),
    postOnly: view.getUint8(offset + 5),
    flags: view.getUint8(offset + 6),
    pad0: view.getUint8(offset + 7),
    agentId: view.getInt32(offset + 8, true),
    bookId: view.getUint32(offset + 12, true),
    clientOrderId: view.getUint32(offset + 16, true),
    orderId: view.getUint32(offset + 20, true),
    volume: view.getBigInt64(offset + 24, true),
    price: view.getBigInt64(offset + 32, true),
    leverageE9: view.getBigInt64(offset + 40, true),
    expiryNs: view.getBigUint64(offset + 48, true),
    senderId: view.getInt32(offset + 56, true),
    reserved: view.getUint32(offset + 60, true),
  };
}

/** Writes `record` at `offset`. */
export function writeRecord(view: DataView, offset: number, record: RawRecord): void {
  view.setUint8(offset, record.kind);
  view.setUint8(offset + 1, record.direction);
  view.setUint8(offset + 2, record.currency);
  view.setUint8(offset + 3, record.timeInForce);
  view.setUint8(offset + 4, record.stp);
  view.setUint8(offset + 5, record.postOnly);
  view.setUint8(offset + 6, record.flags);
  view.setUint8(offset + 7, record.pad0);
  view.setInt32(offset + 8, record.agentId, true);
  view.setUint32(offset + 12, record.bookId, true);
  view.setUint32(offset + 16, record.clientOrderId, true);
  view.setUint32(offset + 20, record.orderId, true);
  view.setBigInt64(offset + 24, record.volume, true);
  view.setBigInt64(offset + 32, record.price, true);
  view.setBigInt64(offset + 40, record.leverageE9, true);
  view.setBigUint64(offset + 48, record.expiryNs, true);
  view.setInt32(offset + 56, record.senderId, true);
  view.setUint32(offset + 60, record.reserved, true);
}

/** Appends one instruction that is not raw to `batch`. */
export function append(batch: InstructionBatch, instruction: Instruction): void {
  if (instruction.kind === "limit") batch.limit(instruction);
  else if (instruction.kind === "market") batch.market(instruction);
  else if (instruction.kind === "cancel") batch.cancel(instruction);
  else if (instruction.kind === "reset") batch.reset(instruction.agentId);
  else throw new Error("a raw record has no InstructionBatch form");
}

/** The record `InstructionBatch` packs for an instruction that is not raw. */
export function recordOf(instruction: Instruction): RawRecord {
  const batch = new InstructionBatch(1);
  append(batch, instruction);
  const bytes = batch.bytes;
  return readRecord(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
}
