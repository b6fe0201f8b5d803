/**
 * @module accounts/meter-events
 * Usage ledger entries as billing meter events in Stripe's shape (POST /v1/billing/meter_events):
 * one event per ledger entry, with the ledger id as `identifier` so a re-export never bills
 * twice, the tenant's billing customer (or its id) as `stripe_customer_id`, and units as value.
 */
import type { LedgerEntry } from './db.js';

export interface MeterEvent {
  event_name: string;
  identifier: string;
  timestamp: number;
  payload: { stripe_customer_id: string; value: string };
}

export const METER_EVENT_NAME = 'xfv_units';

export function meterEvents(
  entries: readonly LedgerEntry[],
  customerOf: (tenantId: string) => string,
  eventName = METER_EVENT_NAME,
): MeterEvent[] {
  return entries.map((e) => ({
    event_name: eventName,
    identifier: e.id,
    timestamp: Math.floor(e.at / 1000),
    payload: { stripe_customer_id: customerOf(e.tenantId), value: String(e.units) },
  }));
}
