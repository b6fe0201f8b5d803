/**
 * @module accounts/keys
 * API keys: `xfv_<env>_<id>_<secret>`, with a 16-hex id (shown in listings) and a 64-hex
 * secret (256 random bits). Only the SHA-256 of the whole key is stored; a presented key
 * is hashed and compared with the stored hash in constant time. Web Crypto only, so the
 * same code runs in the Worker and in the Node CLI.
 */
import { sha256Hex } from '../sha256.js';

export const SCOPES = ['verify', 'explain', 'jobs', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const KEY_ENVS = ['local', 'test', 'live'] as const;
export type KeyEnv = (typeof KEY_ENVS)[number];

const KEY_FORMAT = /^xfv_(local|test|live)_([0-9a-f]{16})_([0-9a-f]{64})$/;
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

export interface ParsedKey {
  env: KeyEnv;
  id: string;
}

/** The env and id of a well-formed key, or undefined. */
export function parseKey(key: string): ParsedKey | undefined {
  const m = KEY_FORMAT.exec(key);
  return m ? { env: m[1] as KeyEnv, id: m[2]! } : undefined;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const randomHex = (bytes: number) => hex(crypto.getRandomValues(new Uint8Array(bytes)));

/** What is stored for a key: its hash. */
export const hashKey = (key: string) => sha256Hex(key);

/** A new key and the parts stored for it. */
export async function generateKey(env: KeyEnv): Promise<{ key: string; id: string; hash: string }> {
  const id = randomHex(8);
  const key = `xfv_${env}_${id}_${randomHex(32)}`;
  return { key, id, hash: await hashKey(key) };
}

/** Constant-time equality of two hex digests of equal length (false when lengths differ). */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function parseScopes(text: string): Scope[] {
  const scopes = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`unknown scope ${unknown.join(', ')}: scopes are ${SCOPES.join(', ')}`);
  return [...new Set(scopes)] as Scope[];
}
