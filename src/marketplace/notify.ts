/**
 * Marketplace side: lifecycle notifications to a provider that fulfils a product itself,
 * in AWS Marketplace's SNS HTTP shape (`Type: Notification`, `Message` = a JSON string
 * with `action`, `customer-identifier`, `product-code`, plus `customer-aws-account-id` and
 * `license-arn`). Real SNS signs with X.509 certificates fetched from AWS; Tollgate instead
 * signs the POST with SigV4 (service `aws-marketplace`) using the provider's own
 * marketplace credentials, which both sides already hold, so the receiver verifies
 * without any extra secret. Delivery: up to 4 attempts with 0.25/1/4 s pauses; a failure
 * is logged and returned, never thrown (the transition itself has committed).
 */
import { randomUUID } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import type { Clock, Logger } from '../shared/index.js';
import { SIGNING_SERVICE } from './aws/sigv4.js';
import type { CredentialService } from './credentials.js';

export type LifecycleAction =
  | 'subscribe-success'
  | 'subscribe-fail'
  | 'unsubscribe-pending'
  | 'unsubscribe-success'
  | 'entitlement-updated';

export interface NotificationTarget {
  url: string;
  providerId: string;
  productCode: string;
  customerIdentifier: string;
  customerAWSAccountId: string;
  licenseArn: string;
}

export interface Notifier {
  send(target: NotificationTarget, action: LifecycleAction, extra?: Record<string, string>): Promise<boolean>;
}

export function createNotifier(deps: {
  credentials: CredentialService;
  clock: Clock;
  log: Logger;
  /** Pauses between attempts (tests shorten them). */
  backoffMs?: number[];
}): Notifier {
  const pauses = deps.backoffMs ?? [250, 1000, 4000];
  return {
    async send(target, action, extra = {}) {
      const creds = await deps.credentials.latestFor(target.providerId);
      if (!creds) {
        deps.log.warn(
          { providerId: target.providerId },
          'no marketplace credentials to sign a notification with',
        );
        return false;
      }
      const messageId = randomUUID();
      const topic = `arn:aws:sns:us-east-1:000000000000:aws-mp-subscription-notification-${target.productCode}`;
      const body = JSON.stringify({
        Type: 'Notification',
        MessageId: messageId,
        TopicArn: topic,
        Message: JSON.stringify({
          action,
          'customer-identifier': target.customerIdentifier,
          'customer-aws-account-id': target.customerAWSAccountId,
          'license-arn': target.licenseArn,
          'product-code': target.productCode,
          ...extra,
        }),
        Timestamp: new Date(deps.clock.now()).toISOString(),
        SignatureVersion: 'tollgate-sigv4',
      });
      const u = new URL(target.url);
      const signer = new SignatureV4({
        service: SIGNING_SERVICE,
        region: 'us-east-1',
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
        sha256: Hash.bind(null, 'sha256'),
        applyChecksum: false,
      });
      for (let attempt = 0; ; attempt++) {
        try {
          const signed = await signer.sign(
            {
              method: 'POST',
              protocol: u.protocol,
              hostname: u.hostname,
              ...(u.port ? { port: Number(u.port) } : {}),
              path: u.pathname,
              query: Object.fromEntries(u.searchParams),
              headers: {
                host: u.host,
                'content-type': 'text/plain; charset=UTF-8',
                'x-amz-sns-message-type': 'Notification',
                'x-amz-sns-message-id': messageId,
                'x-amz-sns-topic-arn': topic,
              },
              body,
            },
            { signingDate: new Date(deps.clock.now()) },
          );
          const res = await request(target.url, {
            method: 'POST',
            headers: signed.headers as Record<string, string>,
            body,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          await res.body.dump();
          if (res.statusCode < 300) return true;
          if (res.statusCode < 500 && res.statusCode !== 429) {
            deps.log.warn({ status: res.statusCode, action, url: target.url }, 'notification refused');
            return false;
          }
        } catch (err) {
          deps.log.warn({ err, action, url: target.url, attempt }, 'notification delivery failed');
        }
        const pause = pauses[attempt];
        if (pause === undefined) return false;
        await new Promise((r) => setTimeout(r, pause));
      }
    },
  };
}
