export type { CorsRule } from './rules.js';
export {
  CORS_METHODS,
  CORS_VARY,
  MAX_CORS_ID_LENGTH,
  MAX_CORS_RULES,
  corsResponseHeaders,
  matchCorsRule,
  parseCorsRequestHeaders,
  validateCorsRules,
} from './rules.js';
