/**
 * @module api/router
 * A router for one resource: an OpenAPIHono whose failed request validations answer 400
 * `invalid-request` problems. app.ts mounts each resource's router.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context.js';
import { invalidRequest } from './errors.js';

export const newRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: invalidRequest });
