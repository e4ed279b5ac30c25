// Callback data: short, versioned, validated strings (Telegram allows 1–64 bytes). Every
// press is checked against the server-side state it was sent for (nonce, tag, chat), so a stale,
// replayed or forged press changes nothing.
export type CallbackData =
  /** Questionnaire action bound to a conversation nonce and a machine tag. */
  | { kind: "q"; nonce: number; tag: string; action: "a"; option: number }
  | { kind: "q"; nonce: number; tag: string; action: "b" | "s" | "p" | "r" }
  /** Consent or assent answer bound to the consent conversation's nonce. */
  | { kind: "consent"; nonce: number; which: "consent" | "assent"; agree: boolean }
  | { kind: "withdraw"; confirm: boolean }
  | { kind: "lang"; locale: string }
  /** Facilitator/researcher flows register their own prefixes through this escape hatch. */
  | { kind: "x"; feature: string; parts: string[] };

/**
 * A consent or assent button as sent before consent ran on the conversation runtime: bound to the
 * text version, not to a nonce. Still read, so a family shown such a prompt before an upgrade can
 * answer it (src/telegram/conversation/enrolment.ts); never sent any more.
 */
export interface LegacyConsentData {
  kind: "consent";
  nonce?: undefined;
  which: "consent" | "assent";
  agree: boolean;
  version: string;
}

export type DecodedCallback = CallbackData | LegacyConsentData;

const V = "1";

export function encodeCallback(d: CallbackData): string {
  let s: string;
  switch (d.kind) {
    case "q":
      s = `${V}q:${d.nonce}:${d.tag}:${d.action}${d.action === "a" ? `:${d.option}` : ""}`;
      break;
    case "consent":
      s = `${V}c:${d.nonce}:${d.which === "consent" ? "c" : "a"}:${d.agree ? "y" : "n"}`;
      break;
    case "withdraw":
      s = `${V}w:${d.confirm ? "y" : "n"}`;
      break;
    case "lang":
      s = `${V}l:${d.locale}`;
      break;
    case "x":
      s = `${V}x:${d.feature}:${d.parts.join(":")}`;
      break;
  }
  if (Buffer.byteLength(s, "utf8") > 64)
    throw new Error(`callback data over 64 bytes: ${s.length}`);
  return s;
}

const SAFE = /^[A-Za-z0-9_.-]{1,40}$/;

export function decodeCallback(raw: string | undefined): DecodedCallback | null {
  if (!raw || raw.length > 64 || !raw.startsWith(V)) return null;
  const body = raw.slice(V.length);
  const [head, ...rest] = body.split(":");
  switch (head) {
    case "q": {
      const [nonce, tag, action, option] = rest;
      if (!nonce || !/^\d{1,9}$/.test(nonce) || !tag || !/^[a-z0-9]{4,8}$/.test(tag)) return null;
      if (action === "a") {
        if (rest.length !== 4 || !option || !/^\d{1,2}$/.test(option)) return null;
        return { kind: "q", nonce: Number(nonce), tag, action: "a", option: Number(option) };
      }
      if (
        rest.length === 3 &&
        (action === "b" || action === "s" || action === "p" || action === "r")
      )
        return { kind: "q", nonce: Number(nonce), tag, action };
      return null;
    }
    case "c": {
      // "c:<nonce>:<c|a>:<y|n>", or the legacy "c:<c|a>:<y|n>:<version>".
      const legacy = rest[0] === "c" || rest[0] === "a";
      const [which, yn] = legacy ? rest : rest.slice(1);
      const bound = legacy ? rest[2] : rest[0];
      if (
        rest.length !== 3 ||
        (which !== "c" && which !== "a") ||
        (yn !== "y" && yn !== "n") ||
        !bound ||
        !(legacy ? SAFE.test(bound) : /^\d{1,9}$/.test(bound))
      )
        return null;
      const answer = { which: which === "c" ? "consent" : "assent", agree: yn === "y" } as const;
      return legacy
        ? { kind: "consent", ...answer, version: bound }
        : { kind: "consent", nonce: Number(bound), ...answer };
    }
    case "w":
      if (rest.length !== 1 || (rest[0] !== "y" && rest[0] !== "n")) return null;
      return { kind: "withdraw", confirm: rest[0] === "y" };
    case "l":
      if (rest.length !== 1 || !/^[a-z]{2}$/.test(rest[0] ?? "")) return null;
      return { kind: "lang", locale: rest[0]! };
    case "x": {
      const [feature, ...parts] = rest;
      if (
        !feature ||
        !/^[a-z]{1,12}$/.test(feature) ||
        parts.some((p) => !/^[A-Za-z0-9_.-]{0,40}$/.test(p))
      )
        return null;
      return { kind: "x", feature, parts };
    }
    default:
      return null;
  }
}
