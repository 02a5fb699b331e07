/** Routes: which source feeds which catalog resource, and how its files are checked. */

export const SCHEMA_PRESETS = ['graph-v1', 'entra-portal', 'legacy-2025'] as const;
export type SchemaPreset = (typeof SCHEMA_PRESETS)[number];

/** How a route treats bad rows: `strict` rejects the file on any row issue; `tolerant` drops bad rows up to a limit. */
export type RowPolicy = { mode: 'strict' } | { mode: 'tolerant'; maxRejectedRows?: number; maxRejectedRatio?: number };

/** One source's settings: where its files come from and which review resource they feed. */
export interface Route {
  /** The source name: the folder under `inbox/` and the custom data provided resource's display name. */
  source: string;
  catalogId: string;
  resourceId: string;
  schema: SchemaPreset;
  /** Export header → schema column, e.g. `{"Employee Object ID": "principalId"}`. */
  headerAliases: Record<string, string>;
  delimiter: ',' | ';' | '\t' | 'auto';
  policy: RowPolicy;
  /** Reject a file whose rows or distinct principals fall by more than this share against the last accepted file. */
  shrinkGuardRatio: number;
  /** A file larger than this is rejected from its properties alone, without reading it. */
  maxFileBytes: number;
}

/** The route whose source folder a blob name sits in (`inbox/{source}/…`), matched as the folder is written. */
export function routeForSource(routes: readonly Route[], source: string): Route | undefined {
  const wanted = source.normalize('NFC');
  return routes.find((r) => r.source.normalize('NFC') === wanted);
}
