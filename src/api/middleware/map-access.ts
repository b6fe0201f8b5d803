/**
 * @module api/middleware/map-access
 * Map reads: a signed link (accounts/signed-urls: its tenant), so maps work in `<img>`
 * tags, or else an API key with the explain scope (its tenant, rate limited). Either way
 * the map is looked up under that tenant only (`mapTenant`).
 */
import type { MiddlewareHandler } from 'hono';
import { every } from 'hono/combine';
import { checkSignedUrl } from '../../accounts/signed-urls.js';
import { ProblemError } from '../../problems/problem.js';
import { urlSigningSecret } from '../../worker/vars.js';
import type { AppEnv } from '../context.js';
import { apiKey } from './api-key.js';

const keyedAccess = every(...apiKey('explain', null), (async (c, next) => {
  c.set('mapTenant', c.get('caller')!.tenantId);
  await next();
}) satisfies MiddlewareHandler<AppEnv>);

export const mapAccess: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = new URL(c.req.url);
  if (!url.searchParams.has('signature')) return keyedAccess(c, next);
  const check = await checkSignedUrl(urlSigningSecret(c.env), url, Math.floor(Date.now() / 1000));
  if (!check.ok) throw new ProblemError('forbidden', `${check.reason}: ask /v1/explain for fresh links, or send an API key`);
  c.set('mapTenant', check.tenant);
  await next();
};
