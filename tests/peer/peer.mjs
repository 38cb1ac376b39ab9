// An independent ActivityPub server for Tributary's federation tests, built on Fedify
// (https://fedify.dev) so that Tributary is checked against code it did not write. It
// serves one actor, the Person `peer` at /users/peer, on 127.0.0.1 only, and a JSON
// control API under /control/ that the Rust tests (tests/it/support/peer.rs) drive.
// Inbound activities are verified by Fedify's own signature code; outbound ones are
// signed by Fedify with one HTTP signature spec only (see `guardedFetch`). Test use only:
// it lets Fedify fetch private addresses and keeps everything in memory.
//
// Usage: node peer.mjs --signing cavage|rfc9421   (or TRIBUTARY_PEER_SIGNING)
//   TRIBUTARY_PEER_LOG=debug|info|warning   Fedify's log level on stderr (warning).
// Prints `LISTENING http://127.0.0.1:PORT` on stdout when ready, and nothing else there.
//
// Control API (JSON in, JSON out; a bad request is 400, a failed lookup 502, both
// `{"error": "..."}`). `to`/`actor` take an actor id, `handle` also a handle; each send
// looks the actor up (signed GET), sends at once and answers with the ids it made plus
// `status` (what the remote inbox answered last, or null) and, when Fedify failed,
// `error`. `"sharedInbox": true` in any send body delivers to the shared inbox.
//   POST /control/follow        {handle}                  -> {actor, follow, status}
//   POST /control/undo-follow   {actor, follow}           -> {undo, status}
//   POST /control/reply         {to, inReplyTo, content}  -> {note, create, status}
//   POST /control/like          {to, object}              -> {like, status}
//   POST /control/undo-like     {to, like, object}        -> {undo, status}
//   POST /control/announce      {to, object}              -> {announce, status}
//   POST /control/undo-announce {to, announce, object}    -> {undo, status}
//   POST /control/delete-note   {to, note}                -> {delete, status}
//   GET  /control/inbox   -> [{type, id, actor, object, inbox, raw}]
//   GET  /control/sent    -> [{url, method, spec: rfc9421|draft-cavage|unsigned, status, refused}]
//   GET  /control/lookup?uri=URI -> the object as Fedify parsed it (compact JSON-LD), or 404

import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";

import { createFederation, MemoryKvStore } from "@fedify/fedify";
import * as vocab from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, defaultTextFormatter } from "@logtape/logtape";

const IDENTIFIER = "peer";
/** Fedify's names for the two HTTP signature specs, by the option that picks one. */
const SPECS = {
  cavage: "draft-cavage-http-signatures-12",
  rfc9421: "rfc9421",
};
/** Request bodies larger than this are refused (the control API and the inbox). */
const MAX_BODY_BYTES = 1024 * 1024;
const RSA_BITS = 2048;

const { values: args } = parseArgs({
  options: { signing: { type: "string" } },
  strict: true,
});
const signing = args.signing ?? process.env.TRIBUTARY_PEER_SIGNING ?? "";
if (!(signing in SPECS)) {
  process.stderr.write(
    `peer: --signing must be cavage or rfc9421 (got ${JSON.stringify(signing)})\n`,
  );
  process.exit(2);
}
const onlySpec = SPECS[signing];

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { stderr: (record) => process.stderr.write(defaultTextFormatter(record)) },
  loggers: [
    {
      category: ["fedify"],
      sinks: ["stderr"],
      lowestLevel: process.env.TRIBUTARY_PEER_LOG ?? "warning",
    },
    { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
  ],
});

// Every outgoing request, in order: { url, method, spec, status, refused }.
const sent = [];
// Every activity the inbox accepted, in order (see the inbox listener).
const inbox = [];
// The activities and notes this peer made, served at their ids; deleted notes answer 410.
const documents = new Map();
const gone = new Set();

/**
 * The spec a request is signed with: RFC 9421 puts its parameters in Signature-Input,
 * draft-cavage has a Signature header alone.
 */
function specOf(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  if (headers.has("signature")) return "draft-cavage";
  return "unsigned";
}

function isLoopback(hostname) {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

/**
 * Fedify calls the global fetch for every request it makes. This wrapper records each
 * one, and enforces the chosen signing spec: Fedify "double-knocks" (on a 4xx or 5xx
 * answer to a request signed one way it signs again the other way, and an RFC 9421
 * Accept-Signature challenge gets an RFC 9421 answer), and no option turns that off. A
 * request signed with the other spec never leaves: it is recorded as refused and fails
 * like a network error, so the caller sees the first answer's status.
 *
 * WebFinger lookups of `acct:` handles always go to https (RFC 7033 section 4); on the
 * loopback, where the tests run plain HTTP, an unsigned https request goes to http.
 */
const realFetch = globalThis.fetch;
globalThis.fetch = async function guardedFetch(input, init) {
  let request = new Request(input, init);
  const spec = specOf(request.headers);
  const url = new URL(request.url);
  if (spec === "unsigned" && url.protocol === "https:" && isLoopback(url.hostname)) {
    url.protocol = "http:";
    request = new Request(url, request);
  }
  const entry = { url: url.href, method: request.method, spec, status: null, refused: false };
  sent.push(entry);
  const wanted = signing === "cavage" ? "draft-cavage" : "rfc9421";
  if (spec !== "unsigned" && spec !== wanted) {
    entry.refused = true;
    process.stderr.write(
      `peer: refused to send ${request.method} ${url.href} signed with ${spec} ` +
        `(this peer signs with ${wanted} only)\n`,
    );
    throw new TypeError(`the peer signs with ${wanted} only; a ${spec} retry was refused`);
  }
  try {
    const response = await realFetch(request);
    entry.status = response.status;
    return response;
  } catch (error) {
    entry.error = String(error?.message ?? error);
    throw error;
  }
};

// A 2048-bit RSA key, as Mastodon makes (Fedify's generateCryptoKeyPair makes 4096-bit
// ones, which take seconds to generate).
const keyPair = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: RSA_BITS,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);

const federation = createFederation({
  kv: new MemoryKvStore(),
  // No queue: sendActivity sends at once and resolves when the remote inbox answered.
  allowPrivateAddress: true,
  firstKnock: onlySpec,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new vocab.Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Test peer",
      summary: `A Fedify test peer signing with ${signing}.`,
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new vocab.Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((key) => key.multikey),
    });
  })
  .mapHandle((_ctx, username) => (username === IDENTIFIER ? IDENTIFIER : null))
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === IDENTIFIER ? [keyPair] : []));

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  // Every delivery counts: the tests must see a duplicate if one is sent.
  .withIdempotency(() => null)
  .on(vocab.Activity, async (ctx, activity) => {
    const raw = ctx.data?.body ?? null;
    inbox.push({
      type: raw?.type ?? null,
      id: activity.id?.href ?? null,
      actor: activity.actorId?.href ?? null,
      object: raw?.object ?? null,
      inbox: ctx.data?.path ?? null,
      raw,
    });
  })
  .onError((_ctx, error) => {
    process.stderr.write(`peer: inbox listener failed: ${error?.stack ?? error}\n`);
  });

// The control API: each handler takes the parsed JSON body (or the query) and returns
// [status, JSON].
const control = {
  "POST /control/follow": async (ctx, body) => {
    const handle = requireString(body, "handle");
    const actor = await lookupActor(ctx, handle);
    const follow = new vocab.Follow({
      id: newId(ctx, "follow"),
      actor: ctx.getActorUri(IDENTIFIER),
      object: actor.id,
      to: actor.id,
    });
    const result = await deliver(ctx, actor, follow, body);
    return [200, { actor: actor.id.href, follow: follow.id.href, ...result }];
  },
  "POST /control/undo-follow": async (ctx, body) => {
    const actor = await lookupActor(ctx, requireString(body, "actor"));
    const undo = new vocab.Undo({
      id: newId(ctx, "undo"),
      actor: ctx.getActorUri(IDENTIFIER),
      object: new vocab.Follow({
        id: requireUrl(body, "follow"),
        actor: ctx.getActorUri(IDENTIFIER),
        object: actor.id,
      }),
      to: actor.id,
    });
    const result = await deliver(ctx, actor, undo, body);
    return [200, { undo: undo.id.href, ...result }];
  },
  "POST /control/reply": async (ctx, body) => {
    const actor = await lookupActor(ctx, requireString(body, "to"));
    const inReplyTo = requireUrl(body, "inReplyTo");
    const noteId = newId(ctx, "note");
    const note = new vocab.Note({
      id: noteId,
      attribution: ctx.getActorUri(IDENTIFIER),
      content: requireString(body, "content"),
      replyTarget: inReplyTo,
      published: Temporal.Now.instant(),
      to: vocab.PUBLIC_COLLECTION,
      cc: actor.id,
      tags: [new vocab.Mention({ href: actor.id, name: actorHandle(actor) })],
    });
    const create = new vocab.Create({
      id: new URL(`${noteId.href}#create`),
      actor: ctx.getActorUri(IDENTIFIER),
      object: note,
      published: note.published,
      to: vocab.PUBLIC_COLLECTION,
      cc: actor.id,
    });
    await remember(note);
    const result = await deliver(ctx, actor, create, body);
    return [200, { note: noteId.href, create: create.id.href, ...result }];
  },
  "POST /control/like": async (ctx, body) => {
    const actor = await lookupActor(ctx, requireString(body, "to"));
    const like = new vocab.Like({
      id: newId(ctx, "like"),
      actor: ctx.getActorUri(IDENTIFIER),
      object: requireUrl(body, "object"),
      to: actor.id,
    });
    const result = await deliver(ctx, actor, like, body);
    return [200, { like: like.id.href, ...result }];
  },
  "POST /control/undo-like": async (ctx, body) => {
    const actor = await lookupActor(ctx, requireString(body, "to"));
    const undo = new vocab.Undo({
      id: newId(ctx, "undo"),
      actor: ctx.getActorUri(IDENTIFIER),
      object: new vocab.Like({
        id: requireUrl(body, "like"),
        actor: ctx.getActorUri(IDENTIFIER),
        object: requireUrl(body, "object"),
      }),
      to: actor.id,
    });
    const result = await deliver(ctx, actor, undo, body);
    return [200, { undo: undo.id.href, ...result }];
  },
  "POST /control/announce": async (ctx, body) => {
    const actor = await lookupActor(ctx, requireString(body, "to"));
    const announce = new vocab.Announce({
      id: newId(ctx, "announce"),
      actor: ctx.getActorUri(IDENTIFIER),
      object: requireUrl(body, "object"),
      published: Temporal.Now.instant(),
      to: vocab.PUBLIC_COLLECTION,
      cc: actor.id,
    });
    const result = await deliver(ctx, actor, announce, body);
    return [200, { announce: announce.id.href, ...result }];
  },
  "POST /control/undo-announce": async (ctx, body) => {
    const actor = await lookupActor(ctx, requireString(body, "to"));
    const undo = new vocab.Undo({
      id: newId(ctx, "undo"),
      actor: ctx.getActorUri(IDENTIFIER),
      object: new vocab.Announce({
        id: requireUrl(body, "announce"),
        actor: ctx.getActorUri(IDENTIFIER),
        object: requireUrl(body, "object"),
      }),
      to: vocab.PUBLIC_COLLECTION,
      cc: actor.id,
    });
    const result = await deliver(ctx, actor, undo, body);
    return [200, { undo: undo.id.href, ...result }];
  },
  "POST /control/delete-note": async (ctx, body) => {
    const actor = await lookupActor(ctx, requireString(body, "to"));
    const noteId = requireUrl(body, "note");
    const del = new vocab.Delete({
      id: newId(ctx, "delete"),
      actor: ctx.getActorUri(IDENTIFIER),
      object: new vocab.Tombstone({ id: noteId }),
      to: vocab.PUBLIC_COLLECTION,
      cc: actor.id,
    });
    documents.delete(noteId.href);
    gone.add(noteId.href);
    const result = await deliver(ctx, actor, del, body);
    return [200, { delete: del.id.href, ...result }];
  },
  "GET /control/inbox": async () => [200, inbox],
  "GET /control/sent": async () => [200, sent],
  "GET /control/lookup": async (ctx, _body, query) => {
    const uri = query.get("uri");
    if (!uri) throw new BadRequest("the query needs uri");
    const object = await ctx.lookupObject(uri, {
      documentLoader: await ctx.getDocumentLoader({ identifier: IDENTIFIER }),
    });
    if (object == null) return [404, { error: `Fedify found no object at ${uri}` }];
    return [200, await object.toJsonLd({ format: "compact" })];
  },
};

class BadRequest extends Error {}

function requireString(body, key) {
  const value = body?.[key];
  if (typeof value !== "string" || value === "") {
    throw new BadRequest(`the body needs "${key}" as a non-empty string`);
  }
  return value;
}

function requireUrl(body, key) {
  const value = requireString(body, key);
  try {
    return new URL(value);
  } catch {
    throw new BadRequest(`"${key}" is not a URL: ${value}`);
  }
}

/** A fresh id for something this peer makes, served at that URL. */
function newId(ctx, kind) {
  return new URL(`/${kind}s/${randomUUID()}`, ctx.canonicalOrigin);
}

async function remember(object) {
  documents.set(object.id.href, await object.toJsonLd({ format: "compact" }));
}

function actorHandle(actor) {
  const name = actor.preferredUsername?.toString();
  return name ? `@${name}@${actor.id.host}` : actor.id.href;
}

/** A handle (`ana@127.0.0.1:1234`) or an actor id, looked up through Fedify. */
async function lookupActor(ctx, handleOrId) {
  const documentLoader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
  const object = await ctx.lookupObject(handleOrId, { documentLoader });
  if (object == null) throw new BadRequest(`Fedify found no actor for ${handleOrId}`);
  if (!vocab.isActor(object)) {
    throw new BadRequest(`${handleOrId} is a ${object.constructor.name}, not an actor`);
  }
  if (object.id == null || object.inboxId == null) {
    throw new BadRequest(`the actor ${handleOrId} has no id or no inbox`);
  }
  return object;
}

/**
 * Sends `activity` to `actor` now and reports the status of the last request that
 * reached its inbox (`null` when none did) and Fedify's error, if any.
 */
async function deliver(ctx, actor, activity, body) {
  const sharedInbox = body?.sharedInbox === true;
  const inboxUrl = (sharedInbox ? actor.endpoints?.sharedInbox : null) ?? actor.inboxId;
  await remember(activity);
  const mark = sent.length;
  let error = null;
  try {
    await ctx.sendActivity({ identifier: IDENTIFIER }, actor, activity, {
      immediate: true,
      preferSharedInbox: sharedInbox,
    });
  } catch (caught) {
    error = String(caught?.message ?? caught);
    process.stderr.write(`peer: sending ${activity.id.href} failed: ${error}\n`);
  }
  const attempts = sent
    .slice(mark)
    .filter((entry) => entry.url === inboxUrl.href && !entry.refused && entry.status != null);
  const status = attempts.length ? attempts[attempts.length - 1].status : null;
  return error == null ? { status } : { status, error };
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest("the body is too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sendJson(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json" });
  res.end(text);
}

async function handle(req, res) {
  const base = `http://${req.headers.host ?? `127.0.0.1:${server.address().port}`}`;
  const url = new URL(req.url ?? "/", base);
  const bytes = await readBody(req);

  const route = control[`${req.method} ${url.pathname}`];
  if (route != null) {
    const ctx = federation.createContext(new URL(base), undefined);
    let body = null;
    if (bytes.length > 0) {
      try {
        body = JSON.parse(bytes.toString("utf8"));
      } catch {
        return sendJson(res, 400, { error: "the body is not JSON" });
      }
    }
    try {
      const [status, value] = await route(ctx, body, url.searchParams);
      return sendJson(res, status, value);
    } catch (error) {
      const status = error instanceof BadRequest ? 400 : 502;
      process.stderr.write(`peer: ${req.method} ${url.pathname} failed: ${error?.stack ?? error}\n`);
      return sendJson(res, status, { error: String(error?.message ?? error) });
    }
  }

  // The peer's own activities and notes, by id.
  const document = req.method === "GET" ? documents.get(url.href) : undefined;
  if (document != null) {
    res.writeHead(200, { "content-type": "application/activity+json" });
    return res.end(JSON.stringify(document));
  }
  if (req.method === "GET" && gone.has(url.href)) {
    res.writeHead(410, { "content-type": "text/plain" });
    return res.end("Gone\n");
  }

  let parsed = null;
  try {
    parsed = bytes.length > 0 ? JSON.parse(bytes.toString("utf8")) : null;
  } catch {
    parsed = null;
  }
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? bytes : undefined,
  });
  const response = await federation.fetch(request, {
    contextData: { body: parsed, path: url.pathname },
    onNotFound: () => new Response("Not found\n", { status: 404 }),
    onNotAcceptable: () => new Response("Not acceptable\n", { status: 406 }),
  });
  const responseHeaders = {};
  response.headers.forEach((value, name) => {
    responseHeaders[name] = value;
  });
  res.writeHead(response.status, responseHeaders);
  res.end(Buffer.from(await response.arrayBuffer()));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    process.stderr.write(`peer: ${req.method} ${req.url} failed: ${error?.stack ?? error}\n`);
    if (!res.headersSent) {
      const status = error instanceof BadRequest ? 400 : 500;
      sendJson(res, status, { error: String(error?.message ?? error) });
    } else {
      res.destroy();
    }
  });
});

process.on("unhandledRejection", (error) => {
  process.stderr.write(`peer: unhandled rejection: ${error?.stack ?? error}\n`);
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`);
});

// The harness kills the process; closing stdin (the harness went away) ends it too.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
