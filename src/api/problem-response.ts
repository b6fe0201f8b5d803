/**
 * @module api/problem-response
 * A problem (problems/problem) as an HTTP answer: `application/problem+json` with the
 * kind's status, this request's path as `instance` and its request id.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PROBLEMS, Problem, type ProblemKind, problemBody } from '../problems/problem.js';

export function problem(
  c: Context,
  kind: ProblemKind,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const requestId = c.get('requestId' as never) as string | undefined;
  const body = problemBody(kind, detail, extra, requestId, new URL(c.req.url).pathname);
  return c.body(JSON.stringify(body), PROBLEMS[kind].status as ContentfulStatusCode, {
    'content-type': 'application/problem+json',
    ...headers,
  });
}

/** The OpenAPI responses of a route's problems, by status. */
export const problemResponses = (codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [code, { description: `Problem (${code})`, content: { 'application/problem+json': { schema: Problem } } }]),
  );
