/**
 * The POPRF public info of a match session (spec/match.md §info): it binds every evaluation and
 * every filter to one agreement and one key epoch, so keys rotate per epoch and outputs from one
 * agreement say nothing under another.
 *
 *   info = "accord-match-v1" || I2OSP(len(agreementId), 2) || agreementId || I2OSP(epoch, 4)
 *
 * with `agreementId` in UTF-8. Both values are public; they travel in the clear in the request.
 */

const TAG = new TextEncoder().encode("accord-match-v1");

export function matchInfo(agreementId: string, epoch: number): Uint8Array {
  const id = new TextEncoder().encode(agreementId);
  if (id.length === 0 || id.length > 0xffff)
    throw new RangeError("an agreement id is 1 to 65535 bytes");
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) {
    throw new RangeError("a key epoch is an integer from 0 to 2^32 - 1");
  }
  const out = new Uint8Array(TAG.length + 2 + id.length + 4);
  out.set(TAG, 0);
  const view = new DataView(out.buffer);
  view.setUint16(TAG.length, id.length);
  out.set(id, TAG.length + 2);
  view.setUint32(TAG.length + 2 + id.length, epoch);
  return out;
}
