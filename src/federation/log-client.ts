/**
 * Reads a partner's transparency log over the peer protocol: signed (RFC 9421) GETs to
 * `<partner>/federation/v1/log/<path>` (src/server/log-routes.ts), and sends cosignatures back
 * (POST `<partner>/federation/v1/log/cosignatures`). Answers are size-bounded and
 * returned as bytes; the caller (app/witness.ts) opens and checks everything it reads.
 */
import type { Peer } from "../app/ports.js";
import type { PartnerLogClient } from "../app/witness.js";
import { AccordError } from "../errors.js";
import { signedFetch } from "./http-peer-client.js";
import type { RequestSigner } from "./request-signing.js";

const MAX_BYTES = 1 << 20;

export class HttpLogClient implements PartnerLogClient {
  readonly #signer: RequestSigner;

  constructor(opts: { readonly signer: RequestSigner }) {
    this.#signer = opts.signer;
  }

  get(peer: Peer, path: string): Promise<Uint8Array> {
    return this.#send(peer, path, { method: "GET" });
  }

  post(peer: Peer, path: string, body: string): Promise<Uint8Array> {
    return this.#send(peer, path, {
      method: "POST",
      body,
      contentType: "text/plain; charset=utf-8",
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }

  async #send(
    peer: Peer,
    path: string,
    init: Parameters<typeof signedFetch>[2],
  ): Promise<Uint8Array> {
    let url: URL;
    try {
      url = new URL(`/federation/v1/log/${path}`, peer.url);
    } catch {
      throw new AccordError("ERR_BAD_REQUEST", `\`${peer.url}\` is not a URL`);
    }
    const res = await signedFetch(this.#signer, url, init);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (!res.ok) {
      throw new AccordError(
        "ERR_PEER_UNAVAILABLE",
        `partner \`${peer.nodeId}\` answered ${String(res.status)} for its log's \`${path}\``,
      );
    }
    if (bytes.length > MAX_BYTES) {
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        `partner \`${peer.nodeId}\`'s answer is too large`,
      );
    }
    return bytes;
  }
}
