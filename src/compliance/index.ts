// AML/CFT compliance (issue 12): the CB's signed rule set (rules.ts) and the pure evaluation of an
// event against it (evaluate.ts). The FI's tables, alerts and log live in src/ledger/fi/.

export {
  DEFAULT_RULES, KIND_PARAMS, RISK_LEVELS, RULES_BYTES_MAX, RULES_MAX, RULE_KINDS, RULE_MODES, RulesCodecError, SEVERITIES,
  checkRules, decodeRules, encodeRules, ruleProblem, signRules, verifyRules,
  type RiskLevel, type Rule, type RuleKind, type RuleMode, type RuleSet, type RulesCodecCode, type Severity, type VerifiedRules,
} from './rules.ts';
export {
  AFTER_THE_FACT, DAY_MS, EVENT_KINDS, evaluate, type CustomerContext, type Decision, type DeviceFacts, type Evaluation, type EventKind, type PastEvent,
  type ProposedEvent, type RuleHit,
} from './evaluate.ts';
export { AGGREGATE_KINDS, aggregateLookbackMs, evaluateFi, type FiFacts } from './aggregate.ts';
export { matchName, normaliseName, riskRank, type SecondaryCheck, type SecondaryOutcome, type WatchlistEntry, type WatchlistMatch } from './watchlist_match.ts';
export { COUNTRY_MISMATCH_DISCOUNT, DOB_SAME_YEAR_DISCOUNT, matchIdentity, type ScreenedIdentity } from './watchlist_secondary.ts';
export {
  SECONDARY_FIELDS, WATCHLIST_ALIASES_MAX, WATCHLIST_BYTES_MAX, WATCHLIST_CSV_HEADER, WATCHLIST_ENTRIES_MAX, WATCHLIST_NAME_MAX, WatchlistParseError, parseWatchlist, readSecondary, utcDateMs,
  type SecondaryField, type WatchlistEntryInput, type WatchlistFormat, type WatchlistParseCode,
} from './watchlist_parse.ts';
