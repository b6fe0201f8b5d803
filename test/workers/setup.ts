// Runs before each workers test file: the D1 accounts schema (migrations/), applied as
// `npm start` applies it with wrangler.
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
