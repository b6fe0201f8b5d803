/**
 * @module jobs/webhooks
 * Outbound deliveries per the Standard Webhooks spec, signed with the `standardwebhooks`
 * package: headers `webhook-id` (the same on every retry), `webhook-timestamp` (unix
 * seconds of this attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>`, one per active secret, space-separated, so a receiver that knows
 * either secret accepts it during a rotation). One attempt is one POST with a 15 s timeout
 * and no redirects; its outcome says whether to retry and when.
 */
import { Webhook } from 'standardwebhooks';

/** Delays before each retry (the first attempt is immediate): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000] as const;
export const DELIVERY_TIMEOUT_MS = 15_000;
/** A Retry-After longer than this is capped (the schedule's longest wait). */
const MAX_RETRY_AFTER_MS = 36_000_000;

export type DeliveryOutcome =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'gone'; status: 410 }
  | { outcome: 'retry'; status: number | null; error?: string; retryAfterMs?: number };

/** A new signing secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

/** The `webhook-signature` value for a message under every active secret. */
export function signature(secrets: readonly string[], id: string, timestamp: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, timestamp, body)).join(' ');
}

/** Retry-After (seconds or an HTTP date) in ms, capped; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : undefined;
}

/** How long to wait before retry `n` (0-based): the schedule ±10 % jitter, or the receiver's Retry-After when later. */
export function retryDelayMs(n: number, retryAfter: number | undefined, random = Math.random): number {
  const base = RETRY_SCHEDULE_MS[Math.min(n, RETRY_SCHEDULE_MS.length - 1)]!;
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.max(jittered, retryAfter ?? 0);
}

/** One signed POST of `body` to `url`. */
export async function deliver(
  url: string,
  message: { id: string; body: string },
  secrets: readonly string[],
  fetcher: typeof fetch = fetch,
): Promise<DeliveryOutcome> {
  const now = new Date();
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'xfv-edge-webhooks/1',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signature(secrets, message.id, now, message.body),
  };
  let res: Response;
  try {
    res = await fetcher(url, {
      method: 'POST',
      headers,
      body: message.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
  } catch (e) {
    const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return { outcome: 'retry', status: null, error: timeout ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : String(e) };
  }
  await res.body?.cancel();
  if (res.status >= 200 && res.status < 300) return { outcome: 'delivered', status: res.status };
  if (res.status === 410) return { outcome: 'gone', status: 410 };
  return { outcome: 'retry', status: res.status, retryAfterMs: retryAfterMs(res.headers.get('retry-after'), now.getTime()) };
}
