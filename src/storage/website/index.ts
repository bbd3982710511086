export type { RoutingRule, WebsiteConfig } from './config.js';
export {
  WEBSITE_REDIRECT_CODES,
  DEFAULT_INDEX_SUFFIX,
  DEFAULT_WEBSITE_CONFIG,
  MAX_ROUTING_RULES,
  WEBSITE_SERVE_CODES,
  indexSuffixOf,
  validateWebsiteConfig,
} from './config.js';
export type { RuleOutcome } from './resolve.js';
export { applyRoutingRules, candidateKeys, encodeWebsitePath, pathToKey, redirectAll } from './resolve.js';
