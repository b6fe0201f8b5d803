/**
 * @module api/routes/usage
 * `GET /v1/usage?from=&to=&granularity=&key=`: the tenant's metered usage from the D1
 * ledger, per period, key and operation, with its balance from its Durable Object. A key
 * without the admin scope sees only its own usage; an admin key sees every key's, or one.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { accountOf } from '../../accounts/account.js';
import { bind, GRANULARITIES, type Granularity, usageSummary } from '../../accounts/db.js';
import { PRICES } from '../../accounts/prices.js';
import { ProblemError } from '../../problems/problem.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { problemResponses } from '../problem-response.js';
import { newRouter } from '../router.js';

const DateParam = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/, 'a date (2026-11-01) or an ISO 8601 time')
  .refine((s) => Number.isFinite(Date.parse(s)), 'not a valid date');

const UsageRow = z.object({
  period: z.string().openapi({ example: '2026-11-30' }),
  keyId: z.string(),
  operation: z.string().openapi({ example: 'explain' }),
  calls: z.number().int(),
  units: z.number().int(),
});

export const Usage = z
  .object({
    tenant: z.string(),
    from: z.string(),
    to: z.string(),
    granularity: z.enum(Object.keys(GRANULARITIES) as [Granularity, ...Granularity[]]),
    rows: z.array(UsageRow),
    total: z.object({ calls: z.number().int(), units: z.number().int() }),
    balance: z.object({ granted: z.number(), spent: z.number(), held: z.number(), available: z.number() }),
    prices: z.record(z.string(), z.number()).openapi({ description: 'Units per operation (docs/billing.md)' }),
  })
  .openapi('Usage');

export const usageRoute = createRoute({
  method: 'get',
  path: '/v1/usage',
  summary: "The tenant's metered usage and balance",
  security: bearerAuth,
  middleware: apiKey(null, null),
  request: {
    query: z.object({
      from: DateParam.optional().openapi({ description: 'Inclusive; default: the first day of this month (UTC)' }),
      to: DateParam.optional().openapi({ description: 'Exclusive; default: now' }),
      granularity: z.enum(Object.keys(GRANULARITIES) as [Granularity, ...Granularity[]]).default('day'),
      key: z
        .string()
        .regex(/^[0-9a-f]{16}$/)
        .optional()
        .openapi({ description: 'One key id (admin keys; others see only their own)' }),
    }),
  },
  responses: {
    200: { description: 'Usage', content: { 'application/json': { schema: Usage } } },
    ...problemResponses([400, 401, 403, 429]),
  },
});

export const usageRouter = newRouter().openapi(usageRoute, async (c) => {
  const caller = c.get('caller')!;
  const query = c.req.valid('query');
  const now = new Date();
  const from = query.from ? Date.parse(query.from) : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const to = query.to ? Date.parse(query.to) : now.getTime() + 1;
  if (to <= from) throw new ProblemError('invalid-request', '`to` must be after `from`');
  const admin = caller.scopes.includes('admin');
  if (!admin && query.key && query.key !== caller.keyId)
    throw new ProblemError('forbidden', "only an admin key can read another key's usage", { required: 'admin' });
  const keyId = admin ? query.key : caller.keyId;
  // The balance first: it waits for the tenant's last settled calls to reach the ledger.
  const balance = await accountOf(c.env, caller.tenantId).balance(caller.tenantId);
  const { results } = await bind(c.env.DB, usageSummary(caller.tenantId, from, to, query.granularity, keyId)).all<{
    period: string;
    key_id: string;
    operation: string;
    calls: number;
    units: number;
  }>();
  const rows = results.map((r) => ({ period: r.period, keyId: r.key_id, operation: r.operation, calls: r.calls, units: r.units }));
  return c.json(
    {
      tenant: caller.tenantId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      granularity: query.granularity,
      rows,
      total: { calls: rows.reduce((s, r) => s + r.calls, 0), units: rows.reduce((s, r) => s + r.units, 0) },
      balance,
      prices: { ...PRICES },
    },
    200,
  );
});
