/**
 * @module api/middleware/require-scope
 * The authenticated key (middleware/authenticate) must carry a scope: 403 `forbidden`
 * naming the scope otherwise.
 */
import type { MiddlewareHandler } from 'hono';
import type { Scope } from '../../accounts/keys.js';
import { ProblemError } from '../../problems/problem.js';
import type { AppEnv } from '../context.js';

export const requireScope =
  (scope: Scope): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const caller = c.get('caller');
    if (!caller) throw new Error('requireScope runs after authenticate');
    if (!caller.scopes.includes(scope)) {
      throw new ProblemError('forbidden', `API key ${caller.keyId} lacks the "${scope}" scope this route needs`, {
        required: scope,
        scopes: caller.scopes,
      });
    }
    await next();
  };
