/**
 * Every migration, in order. Add a new file `NNN_name.ts` and one line here; never edit a
 * migration that has shipped. Each runs in a transaction on both dialects.
 */
import type { Migration } from 'kysely';
import * as core from './001_core.js';
import * as metering from './002_metering.js';
import * as billing from './003_billing.js';
import * as marketplace from './004_marketplace.js';
import * as licences from './005_licences.js';
import * as portal from './006_portal.js';
import * as payments from './007_payments.js';
import * as billingCycle from './008_billing_cycle.js';
import * as apiManners from './009_api_manners.js';
import * as apigw from './010_apigw.js';
import * as namespaces from './011_namespaces.js';
import * as invoiceReissue from './012_invoice_reissue.js';
import * as apigwResources from './013_apigw_resources.js';
import * as webhookSecrets from './014_webhook_secrets.js';
import * as usageEventsScope from './015_usage_events_scope.js';
import * as meterClientTokens from './016_meter_client_tokens.js';
import * as catalogChanges from './017_catalog_changes.js';
import * as keySubscriptions from './018_key_subscriptions.js';

export const migrations: Record<string, Migration> = {
  '001_core': core,
  '002_metering': metering,
  '003_billing': billing,
  '004_marketplace': marketplace,
  '005_licences': licences,
  '006_portal': portal,
  '007_payments': payments,
  '008_billing_cycle': billingCycle,
  '009_api_manners': apiManners,
  '010_apigw': apigw,
  '011_namespaces': namespaces,
  '012_invoice_reissue': invoiceReissue,
  '013_apigw_resources': apigwResources,
  '014_webhook_secrets': webhookSecrets,
  '015_usage_events_scope': usageEventsScope,
  '016_meter_client_tokens': meterClientTokens,
  '017_catalog_changes': catalogChanges,
  '018_key_subscriptions': keySubscriptions,
};
