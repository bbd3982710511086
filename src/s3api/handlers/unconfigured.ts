import type { S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { sendXml } from '../respond.js';
import type { OperationName } from '../router.js';

/**
 * Bucket configurations Cellar does not keep. Reading them answers exactly as AWS does for a
 * bucket where they were never set, which is what `s3cmd info` and SDK clients probe for.
 */
export function getUnconfigured(ctx: S3Context, op: OperationName): void {
  switch (op) {
    case 'GetBucketEncryption':
      throw new S3Error('ServerSideEncryptionConfigurationNotFoundError');
    case 'GetBucketReplication':
      throw new S3Error('ReplicationConfigurationNotFoundError');
    case 'GetBucketRequestPayment':
      return sendXml(ctx, 'RequestPaymentConfiguration', { Payer: 'BucketOwner' });
    case 'GetBucketLogging':
      return sendXml(ctx, 'BucketLoggingStatus', {});
    case 'GetBucketNotificationConfiguration':
      return sendXml(ctx, 'NotificationConfiguration', {});
    case 'GetBucketAccelerateConfiguration':
      return sendXml(ctx, 'AccelerateConfiguration', {});
    default:
      throw new S3Error('NotImplemented');
  }
}
