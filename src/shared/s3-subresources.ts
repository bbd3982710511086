/**
 * Every query parameter S3 uses to name an operation: the "?x" of the request lines in
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html.
 * Case-sensitive, as S3's sub-resources are. The gateway sends any request naming one to the S3
 * API; the S3 router refuses one it has no operation for, instead of serving the plain operation
 * of the method (a DELETE /b?replication is not a DeleteBucket).
 */
export const S3_OPERATION_SUBRESOURCES = [
  'abac',
  'accelerate',
  'acl',
  'analytics',
  'annotation',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metadataAnnotationTable',
  'metadataConfiguration',
  'metadataInventoryTable',
  'metadataJournalTable',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'renameObject',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'uploads',
  'versioning',
  'versions',
  'website',
] as const;
