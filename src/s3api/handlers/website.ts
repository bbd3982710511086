/**
 * PutBucketWebsite / GetBucketWebsite / DeleteBucketWebsite and the WebsiteConfiguration XML
 * (API_PutBucketWebsite.html, API_WebsiteConfiguration.html). Validation is storage's.
 */
import { validateWebsiteConfig, type BucketInfo, type RoutingRule, type WebsiteConfig } from '#storage';
import { readSmallBody } from '../body.js';
import type { S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, text, type XmlNode, type XmlValue } from '../xml.js';

function isElement(v: XmlValue | undefined): v is XmlNode {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * An element that must hold children: absent is undefined; empty (`<X/>`) is `{}`, so the
 * validator can say what is missing; repeated or text-only is a schema failure.
 */
function section(node: XmlValue, name: string): XmlNode | undefined {
  const raw = (node as XmlNode)[name];
  if (raw === undefined) return undefined;
  if (raw === '') return {};
  if (!isElement(raw)) throw new S3Error('MalformedXML');
  return raw;
}

/** A text child that the schema requires. */
function required(node: XmlNode, name: string): string {
  const v = text(node, name);
  if (v === undefined) throw new S3Error('MalformedXML');
  return v;
}

function protocolOf(node: XmlNode): 'http' | 'https' | undefined {
  // Any other value is refused by validateWebsiteConfig with AWS's message.
  return text(node, 'Protocol') as 'http' | 'https' | undefined;
}

function ruleFromXml(r: XmlValue): RoutingRule {
  if (!isElement(r)) throw new S3Error('MalformedXML');
  const redirect = section(r, 'Redirect');
  if (redirect === undefined) throw new S3Error('MalformedXML');
  const condition = section(r, 'Condition');
  const rule: RoutingRule = {
    redirect: {
      protocol: protocolOf(redirect),
      hostName: text(redirect, 'HostName'),
      replaceKeyPrefixWith: text(redirect, 'ReplaceKeyPrefixWith'),
      replaceKeyWith: text(redirect, 'ReplaceKeyWith'),
      httpRedirectCode: text(redirect, 'HttpRedirectCode'),
    },
  };
  if (condition !== undefined) {
    rule.condition = {
      keyPrefixEquals: text(condition, 'KeyPrefixEquals'),
      httpErrorCodeReturnedEquals: text(condition, 'HttpErrorCodeReturnedEquals'),
    };
  }
  return prune(rule);
}

/** Drops undefined fields so stored and returned configurations hold only what was sent. */
function prune<T extends object>(o: T): T {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) delete (o as Record<string, unknown>)[k];
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) prune(v as object);
  }
  return o;
}

export function websiteFromXml(body: string): WebsiteConfig {
  const doc = child(parseXml(body), 'WebsiteConfiguration');
  if (doc === '') return validateWebsiteConfig({});
  if (!isElement(doc)) throw new S3Error('MalformedXML');
  const cfg: WebsiteConfig = {};
  const index = section(doc, 'IndexDocument');
  if (index !== undefined) cfg.indexDocument = { suffix: required(index, 'Suffix') };
  const error = section(doc, 'ErrorDocument');
  if (error !== undefined) cfg.errorDocument = { key: required(error, 'Key') };
  const all = section(doc, 'RedirectAllRequestsTo');
  if (all !== undefined)
    cfg.redirectAllRequestsTo = prune({ hostName: required(all, 'HostName'), protocol: protocolOf(all) });
  const rules = section(doc, 'RoutingRules');
  if (rules !== undefined) cfg.routingRules = children(rules, 'RoutingRule').map(ruleFromXml);
  return validateWebsiteConfig(cfg);
}

export function websiteToXml(cfg: WebsiteConfig): XmlNode {
  const out: XmlNode = {};
  if (cfg.redirectAllRequestsTo) {
    out.RedirectAllRequestsTo = {
      HostName: cfg.redirectAllRequestsTo.hostName,
      Protocol: cfg.redirectAllRequestsTo.protocol,
    };
  }
  if (cfg.indexDocument) out.IndexDocument = { Suffix: cfg.indexDocument.suffix };
  if (cfg.errorDocument) out.ErrorDocument = { Key: cfg.errorDocument.key };
  if (cfg.routingRules) {
    out.RoutingRules = {
      RoutingRule: cfg.routingRules.map((r) => ({
        Condition:
          r.condition === undefined
            ? undefined
            : {
                KeyPrefixEquals: r.condition.keyPrefixEquals,
                HttpErrorCodeReturnedEquals: r.condition.httpErrorCodeReturnedEquals,
              },
        Redirect: {
          Protocol: r.redirect.protocol,
          HostName: r.redirect.hostName,
          ReplaceKeyPrefixWith: r.redirect.replaceKeyPrefixWith,
          ReplaceKeyWith: r.redirect.replaceKeyWith,
          HttpRedirectCode: r.redirect.httpRedirectCode,
        },
      })),
    };
  }
  return out;
}

export async function putBucketWebsite(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = await readSmallBody(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  ctx.deps.storage.setBucketWebsite(bucket.name, websiteFromXml(body.toString('utf8')));
  sendEmpty(ctx, 200);
}

export function getBucketWebsite(ctx: S3Context, bucket: BucketInfo): void {
  if (!bucket.website) throw new S3Error('NoSuchWebsiteConfiguration', undefined, { BucketName: bucket.name });
  sendXml(ctx, 'WebsiteConfiguration', websiteToXml(bucket.website));
}

/** s3cmd ws-delete insists on 204 (S3.website_delete). */
export function deleteBucketWebsite(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.setBucketWebsite(bucket.name, null);
  sendEmpty(ctx, 204);
}
