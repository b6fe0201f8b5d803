/**
 * @module api/middleware/api-key
 * The middleware of a route that takes an API key, in the order they must run: the key
 * (authenticate), its scope (requireScope), then the tenant's account (meter), which also
 * awaits the key's D1 check. A route declares these with its OpenAPI `security`; the
 * workers test "every secured operation" holds the two together.
 */
import type { MiddlewareHandler } from 'hono';
import type { Scope } from '../../accounts/keys.js';
import type { Operation } from '../../accounts/prices.js';
import type { AppEnv } from '../context.js';
import { authenticate } from './authenticate.js';
import { meter } from './meter.js';
import { requireScope } from './require-scope.js';

/** `scope`: the scope the key needs (null: any); `operation`: what the call is billed as (null: rate limited only). */
export const apiKey = (scope: Scope | null, operation: Operation | null): MiddlewareHandler<AppEnv>[] => [
  authenticate,
  ...(scope ? [requireScope(scope)] : []),
  meter(operation),
];

/** The OpenAPI security requirement of those routes. */
export const bearerAuth = [{ bearerAuth: [] }];
