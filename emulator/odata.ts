/**
 * A small OData query parser and evaluator: just the subset the upload-session, resource and access-review endpoints
 * document ($filter with `eq ne gt ge lt le` joined by `and`, $orderby, $top, $skip, $select, $count, and $expand of
 * `files` with nested $filter/$orderby/$top). Anything outside it is a 400, as a strict Graph would answer, so that
 * a client relying on an unsupported query learns about it here rather than in production.
 */
import { GraphHttpError } from './http';

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

/** A literal in a $filter: string (quoted), number, date-time (unquoted ISO 8601), boolean or null. */
export type Literal = { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'date'; value: number; text: string } | { kind: 'boolean'; value: boolean } | { kind: 'null' };

export interface Comparison {
  property: string;
  operator: ComparisonOperator;
  literal: Literal;
}

/** A conjunction of comparisons (`a eq 'x' and b gt 3`). */
export type Filter = Comparison[];

export interface OrderBy {
  property: string;
  descending: boolean;
}

/** Options inside `$expand=files(...)`. */
export interface ExpandOptions {
  filter?: Filter;
  orderBy?: OrderBy[];
  top?: number;
}

export interface ParsedQuery {
  filter?: Filter;
  orderBy?: OrderBy[];
  top?: number;
  skip?: number;
  select?: string[];
  count?: boolean;
  expand: Map<string, ExpandOptions>;
}

/** How a property can be filtered and sorted. `string-ci` compares strings case-insensitively. */
export interface PropertySpec {
  type: 'string' | 'string-ci' | 'number' | 'date';
  operators: ComparisonOperator[];
  orderable?: boolean;
}

/** What one endpoint accepts. */
export interface QuerySpec {
  options: ReadonlyArray<'$filter' | '$orderby' | '$top' | '$skip' | '$select' | '$count' | '$expand'>;
  properties?: Record<string, PropertySpec>;
  /** Expandable navigation properties and the spec of their items. */
  expand?: Record<string, Record<string, PropertySpec>>;
}

function bad(message: string): GraphHttpError {
  return new GraphHttpError(400, 'BadRequest', message);
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

type Token = { type: 'word'; text: string } | { type: 'literal'; literal: Literal };

function tokenizeFilter(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (ch === ' ') {
      i++;
      continue;
    }
    if (ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw bad('Syntax error: unterminated string literal in $filter.');
        const c = text[i] ?? '';
        if (c === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      tokens.push({ type: 'literal', literal: { kind: 'string', value } });
      continue;
    }
    const match = /^[^ ']+/.exec(text.slice(i));
    const word = match?.[0] ?? '';
    i += word.length;
    if (/^-?\d+(\.\d+)?$/.test(word)) tokens.push({ type: 'literal', literal: { kind: 'number', value: Number(word) } });
    else if (ISO_DATE.test(word) && !Number.isNaN(Date.parse(word))) tokens.push({ type: 'literal', literal: { kind: 'date', value: Date.parse(word), text: word } });
    else if (word === 'true' || word === 'false') tokens.push({ type: 'literal', literal: { kind: 'boolean', value: word === 'true' } });
    else if (word === 'null') tokens.push({ type: 'literal', literal: { kind: 'null' } });
    else tokens.push({ type: 'word', text: word });
  }
  return tokens;
}

const OPERATORS: readonly string[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];

/** Parses `$filter`; validates each comparison against `properties`. */
export function parseFilter(text: string, properties: Record<string, PropertySpec>): Filter {
  const tokens = tokenizeFilter(text);
  const filter: Filter = [];
  let i = 0;
  for (;;) {
    const property = tokens[i];
    const operator = tokens[i + 1];
    const value = tokens[i + 2];
    if (property?.type !== 'word' || operator?.type !== 'word' || value?.type !== 'literal') {
      throw bad(`Invalid filter clause: the query '${text}' is not supported.`);
    }
    const spec = properties[property.text];
    if (!spec) throw bad(`Invalid filter clause: could not find a property named '${property.text}'.`);
    if (!OPERATORS.includes(operator.text) || !spec.operators.includes(operator.text as ComparisonOperator)) {
      throw bad(`Invalid filter clause: operator '${operator.text}' is not supported for property '${property.text}'.`);
    }
    const literal = coerce(value.literal, spec, property.text);
    filter.push({ property: property.text, operator: operator.text as ComparisonOperator, literal });
    i += 3;
    if (i === tokens.length) return filter;
    const joiner = tokens[i];
    if (joiner?.type !== 'word' || joiner.text !== 'and' || i + 1 === tokens.length) throw bad(`Invalid filter clause: only 'and' may join comparisons.`);
    i++;
  }
}

function coerce(literal: Literal, spec: PropertySpec, property: string): Literal {
  const ok =
    (spec.type === 'string' || spec.type === 'string-ci'
      ? literal.kind === 'string'
      : spec.type === 'number'
        ? literal.kind === 'number'
        : literal.kind === 'date' || (literal.kind === 'string' && !Number.isNaN(Date.parse(literal.value)))) || literal.kind === 'null';
  if (!ok) throw bad(`Invalid filter clause: a literal of the wrong type is compared with '${property}'.`);
  if (spec.type === 'date' && literal.kind === 'string') return { kind: 'date', value: Date.parse(literal.value), text: literal.value };
  return literal;
}

/** Parses `$orderby` (`name`, `size desc`, `a asc,b desc`). */
export function parseOrderBy(text: string, properties: Record<string, PropertySpec>): OrderBy[] {
  return splitTopLevel(text, ',').map((item) => {
    const parts = item.trim().split(/ +/);
    const property = parts[0] ?? '';
    const direction = parts[1];
    if (parts.length > 2 || (direction !== undefined && direction !== 'asc' && direction !== 'desc')) throw bad(`Invalid $orderby '${text}'.`);
    if (!properties[property]?.orderable) throw bad(`Order by '${property}' is not supported.`);
    return { property, descending: direction === 'desc' };
  });
}

function parseNonNegativeInteger(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw bad(`Invalid value '${text}' for query option ${name}.`);
  return Number(text);
}

/** Splits on `separator` outside parentheses and quotes. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    if (depth < 0) throw bad(`Unbalanced parentheses in '${text}'.`);
    if (!quoted && depth === 0 && ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (depth !== 0 || quoted) throw bad(`Unbalanced parentheses or quotes in '${text}'.`);
  parts.push(current);
  return parts;
}

function parseExpand(text: string, expandable: Record<string, Record<string, PropertySpec>>): Map<string, ExpandOptions> {
  const result = new Map<string, ExpandOptions>();
  for (const raw of splitTopLevel(text, ',')) {
    const item = raw.trim();
    const match = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(item);
    const name = match?.[1];
    const itemSpec = name === undefined ? undefined : expandable[name];
    if (!match || name === undefined || !itemSpec) throw bad(`Could not find a navigation property named '${item}' to expand.`);
    const options: ExpandOptions = {};
    const inner = match[2];
    if (inner !== undefined && inner.trim() !== '') {
      for (const option of splitTopLevel(inner, ';')) {
        const eq = option.indexOf('=');
        const key = option.slice(0, eq).trim();
        const value = option.slice(eq + 1).trim();
        if (eq < 0) throw bad(`Invalid nested query option '${option}'.`);
        if (key === '$filter') options.filter = parseFilter(value, itemSpec);
        else if (key === '$orderby') options.orderBy = parseOrderBy(value, itemSpec);
        else if (key === '$top') options.top = parseNonNegativeInteger(key, value);
        else throw bad(`Query option '${key}' is not supported inside $expand.`);
      }
    }
    result.set(name, options);
  }
  return result;
}

/**
 * Parses and validates the query string of one request. Unknown `$` options, options the endpoint does not take,
 * repeated options and malformed values all give 400. Parameters without `$` are ignored, as Graph ignores them.
 */
export function parseQuery(search: URLSearchParams, spec: QuerySpec): ParsedQuery {
  const parsed: ParsedQuery = { expand: new Map() };
  const seen = new Set<string>();
  for (const [rawKey, value] of search) {
    // OData also accepts the options without the `$` prefix; Graph's v1.0 does for most of them.
    const key = rawKey.startsWith('$') ? rawKey : `$${rawKey}`;
    if (!rawKey.startsWith('$') && !['filter', 'orderby', 'top', 'skip', 'select', 'count', 'expand'].includes(rawKey)) continue;
    if (seen.has(key)) throw bad(`Query option '${key}' was specified more than once.`);
    seen.add(key);
    if (!(spec.options as readonly string[]).includes(key)) throw bad(`Query option '${key}' is not supported on this resource.`);
    switch (key) {
      case '$filter':
        parsed.filter = parseFilter(value, spec.properties ?? {});
        break;
      case '$orderby':
        parsed.orderBy = parseOrderBy(value, spec.properties ?? {});
        break;
      case '$top':
        parsed.top = parseNonNegativeInteger(key, value);
        break;
      case '$skip':
        parsed.skip = parseNonNegativeInteger(key, value);
        break;
      case '$select':
        parsed.select = value.split(',').map((s) => s.trim());
        if (parsed.select.some((s) => !/^[A-Za-z@.]+$/.test(s))) throw bad(`Invalid $select '${value}'.`);
        break;
      case '$count':
        if (value !== 'true' && value !== 'false') throw bad(`Invalid $count '${value}'.`);
        parsed.count = value === 'true';
        break;
      case '$expand':
        parsed.expand = parseExpand(value, spec.expand ?? {});
        break;
      default:
        throw bad(`Unknown query option '${key}'.`);
    }
  }
  return parsed;
}

/** Reads a property for comparison: strings, numbers and ISO dates (as epoch ms). */
export type Getter<T> = (item: T, property: string) => string | number | null | undefined;

function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function literalValue(literal: Literal, spec: PropertySpec): string | number | null {
  switch (literal.kind) {
    case 'string':
      return spec.type === 'string-ci' ? literal.value.toLowerCase() : literal.value;
    case 'number':
    case 'date':
      return literal.value;
    case 'boolean':
      return String(literal.value);
    case 'null':
      return null;
  }
}

function normalise(value: string | number | null | undefined, spec: PropertySpec): string | number | null {
  if (value === undefined || value === null) return null;
  if (spec.type === 'date') return typeof value === 'number' ? value : Date.parse(value);
  if (spec.type === 'string-ci') return String(value).toLowerCase();
  return value;
}

/** Keeps the items for which every comparison holds. */
export function applyFilter<T>(items: T[], filter: Filter | undefined, properties: Record<string, PropertySpec>, get: Getter<T>): T[] {
  if (!filter) return items;
  return items.filter((item) =>
    filter.every((c) => {
      const spec = properties[c.property];
      if (!spec) return false;
      const left = normalise(get(item, c.property), spec);
      const right = literalValue(c.literal, spec);
      if (left === null || right === null) return c.operator === 'eq' ? left === right : c.operator === 'ne' ? left !== right : false;
      const order = compareValues(left, right);
      switch (c.operator) {
        case 'eq':
          return order === 0;
        case 'ne':
          return order !== 0;
        case 'gt':
          return order > 0;
        case 'ge':
          return order >= 0;
        case 'lt':
          return order < 0;
        case 'le':
          return order <= 0;
      }
    }),
  );
}

/** Sorts a copy by the $orderby keys (stable). */
export function applyOrderBy<T>(items: T[], orderBy: OrderBy[] | undefined, properties: Record<string, PropertySpec>, get: Getter<T>): T[] {
  if (!orderBy || orderBy.length === 0) return items;
  return [...items].sort((x, y) => {
    for (const key of orderBy) {
      const spec = properties[key.property];
      if (!spec) continue;
      const a = normalise(get(x, key.property), spec);
      const b = normalise(get(y, key.property), spec);
      const order = a === null || b === null ? (a === null ? (b === null ? 0 : -1) : 1) : compareValues(a, b);
      if (order !== 0) return key.descending ? -order : order;
    }
    return 0;
  });
}

/** Projects an entity to the $select properties (keeping `id` and OData annotations, as Graph does). */
export function applySelect(entity: Record<string, unknown>, select: string[] | undefined): Record<string, unknown> {
  if (!select) return entity;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entity)) {
    if (key === 'id' || key.startsWith('@odata.') || select.includes(key)) kept[key] = value;
  }
  return kept;
}
