/**
 * Which objects a lifecycle rule applies to (userguide/intro-lifecycle-filters.html): a key
 * prefix, tags (each must be on the object with exactly that value; more tags on the object do
 * not matter), object size bounds (exclusive), or all of them together (And).
 */
import type { LifecycleRule, LifecycleTag } from './config.js';

/** What a filter looks at. */
export interface LifecycleSubject {
  key: string;
  size: number;
  tags?: readonly LifecycleTag[];
}

/** A rule's filter flattened: every field that is set must hold. */
interface Conditions {
  prefix: string;
  tags: readonly LifecycleTag[];
  greaterThan?: number;
  lessThan?: number;
}

function conditionsOf(rule: LifecycleRule): Conditions {
  if (rule.prefix !== undefined) return { prefix: rule.prefix, tags: [] };
  const f = rule.filter ?? {};
  if (f.and)
    return {
      prefix: f.and.prefix ?? '',
      tags: f.and.tags,
      greaterThan: f.and.objectSizeGreaterThan,
      lessThan: f.and.objectSizeLessThan,
    };
  return {
    prefix: f.prefix ?? '',
    tags: f.tag ? [f.tag] : [],
    greaterThan: f.objectSizeGreaterThan,
    lessThan: f.objectSizeLessThan,
  };
}

/** The key prefix a rule is limited to ('' for the whole bucket): the key range a scan needs to walk. */
export function rulePrefix(rule: LifecycleRule): string {
  return conditionsOf(rule).prefix;
}

export function ruleMatches(rule: LifecycleRule, o: LifecycleSubject): boolean {
  const c = conditionsOf(rule);
  if (!o.key.startsWith(c.prefix)) return false;
  if (c.greaterThan !== undefined && !(o.size > c.greaterThan)) return false;
  if (c.lessThan !== undefined && !(o.size < c.lessThan)) return false;
  const tags = o.tags ?? [];
  return c.tags.every((want) => tags.some((t) => t.key === want.key && t.value === want.value));
}

/**
 * The fewest key prefixes whose ranges cover every object the given rules can match: a prefix
 * that another one in the list starts with is dropped ('' covers everything).
 */
export function scanPrefixes(rules: readonly LifecycleRule[]): string[] {
  const sorted = [...new Set(rules.map(rulePrefix))].sort();
  const out: string[] = [];
  for (const p of sorted) if (!out.some((q) => p.startsWith(q))) out.push(p);
  return out;
}
