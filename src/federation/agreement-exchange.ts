/**
 * The agreement exchange's client side over HTTP (spec/agreement.md "Signature exchange"): POSTs
 * a signed `accord-agreement-exchange/1` message to a partner's
 * `/federation/v1/agreements/signatures` (the request itself signed, RFC 9421, like every peer
 * request) and returns its answer. The answer is attacker-controlled: size-bounded here, then
 * shape-checked and signature-verified by the app (src/app/agreements.ts). Also pushes a consent
 * this node signed, as originator, to its holder (`/federation/v1/consents`).
 */
import type { Peer } from "../app/ports.js";
import type { AgreementExchange, ExchangeMessage } from "../app/agreements.js";
import type { Consent } from "../core/agreement/lifecycle.js";
import { readPeerAnswer, signedFetch } from "./http-peer-client.js";
import type { RequestSigner } from "./request-signing.js";

export const AGREEMENT_EXCHANGE_PATH = "/federation/v1/agreements/signatures";
/** Where an originator pushes a consent it signed to the holder (spec/agreement.md). */
export const CONSENT_PUSH_PATH = "/federation/v1/consents";
const MAX_RESPONSE_BYTES = 1 << 20;

export class HttpAgreementExchange implements AgreementExchange {
  private readonly signer: RequestSigner;
  private readonly timeoutMs: number;

  constructor(options: { signer: RequestSigner; timeoutMs?: number }) {
    this.signer = options.signer;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async exchange(peer: Peer, message: ExchangeMessage): Promise<unknown> {
    const res = await signedFetch(this.signer, new URL(AGREEMENT_EXCHANGE_PATH, peer.url), {
      method: "POST",
      body: JSON.stringify(message),
      contentType: "application/json",
      timeoutMs: this.timeoutMs,
    });
    return readPeerAnswer(res, peer, "exchange", MAX_RESPONSE_BYTES);
  }

  async pushConsent(peer: Peer, consent: Consent): Promise<unknown> {
    const res = await signedFetch(this.signer, new URL(CONSENT_PUSH_PATH, peer.url), {
      method: "POST",
      body: JSON.stringify({ consent }),
      contentType: "application/json",
      timeoutMs: this.timeoutMs,
    });
    return readPeerAnswer(res, peer, "consent", MAX_RESPONSE_BYTES);
  }
}
