/**
 * CSV schema presets: the column sets Graph has asked for over time (graph-contract.md §8).
 *
 * A preset names its columns in the order the canonical file writes them, says what each column must hold, which
 * columns make a row's identity (for duplicate detection) and which column names the principal. Header names in an
 * export match a preset's names ignoring case and surrounding spaces.
 */
import type { SchemaPreset } from '../routes';

export type { SchemaPreset };

/**
 * What a column holds, which decides its checks and its normalisation:
 * - `guid`: one object id, 8-4-4-4-12 hex; surrounding spaces are trimmed and the letters lowercased.
 * - `principalType`: one of the preset's principal types (case-insensitive); written in the preset's spelling.
 * - `guidList`: zero or more object ids separated by `,` or `;`; written trimmed, lowercased, de-duplicated and
 *   joined by `,` (the field is then RFC 4180-quoted because it holds commas).
 * - `text`: free text, written exactly as read (only its quoting may change).
 */
export type ColumnKind = 'guid' | 'principalType' | 'guidList' | 'text';

export interface ColumnSpec {
  /** The column's name as the canonical file writes it. */
  readonly name: string;
  readonly kind: ColumnKind;
  /** The cell must not be empty (after trimming). Every column must be present in the header either way. */
  readonly required: boolean;
  /** Free text that may span lines (CR and LF inside a quoted cell are kept). Ids and types never may. */
  readonly multiline?: boolean;
}

export interface SchemaDefinition {
  readonly name: SchemaPreset;
  readonly columns: readonly ColumnSpec[];
  /** The column that names the principal (counted for the shrink guard's distinct principals). */
  readonly principalColumn: string;
  /** Columns whose values together identify a row; two rows with the same values are duplicates. */
  readonly keyColumns: readonly string[];
  /**
   * Principal types the preset accepts (compared ignoring case) and the spelling written to the canonical file.
   * Graph's examples write `user`; the Entra how-to says the type is always `EntraIdUser`: each preset accepts both
   * and writes its own source's spelling.
   */
  readonly principalTypes?: { readonly canonical: string; readonly accepted: readonly string[] };
}

const text = (name: string, required = false, multiline = true): ColumnSpec => ({ name, kind: 'text', required, multiline });

const GRAPH_V1_COLUMNS: readonly ColumnSpec[] = [
  { name: 'principalId', kind: 'guid', required: true },
  { name: 'principalType', kind: 'principalType', required: true },
  text('permissionId', true, false),
  text('permissionName', true),
  text('permissionDescription'),
  text('permissionType'),
];

/** The presets by name. */
export const SCHEMAS: Readonly<Record<SchemaPreset, SchemaDefinition>> = {
  'graph-v1': {
    name: 'graph-v1',
    columns: GRAPH_V1_COLUMNS,
    principalColumn: 'principalId',
    keyColumns: ['principalId', 'permissionId'],
    principalTypes: { canonical: 'user', accepted: ['user', 'EntraIdUser'] },
  },
  'entra-portal': {
    name: 'entra-portal',
    columns: [
      ...GRAPH_V1_COLUMNS,
      text('ScopeId', true, false),
      text('ScopeDisplayName'),
      { name: 'EntitlementOwners_Users', kind: 'guidList', required: false },
      { name: 'EntitlementOwners_Groups', kind: 'guidList', required: false },
      text('CustomData'),
    ],
    principalColumn: 'principalId',
    keyColumns: ['principalId', 'permissionId', 'ScopeId'],
    principalTypes: { canonical: 'EntraIdUser', accepted: ['EntraIdUser', 'user'] },
  },
  'legacy-2025': {
    name: 'legacy-2025',
    columns: [
      { name: 'PrincipalAADId', kind: 'guid', required: true },
      text('ResourceId', true, false),
      text('ResourceName'),
      text('ResourceDescription'),
      text('ResourceType'),
      text('PermissionId', true, false),
      text('PermissionName', true),
      text('PermissionDescription'),
      text('PermissionType'),
      { name: 'ResourceOwners', kind: 'guidList', required: false },
    ],
    principalColumn: 'PrincipalAADId',
    keyColumns: ['PrincipalAADId', 'ResourceId', 'PermissionId'],
  },
};

/** The preset for a name; throws on an unknown name (a programming or configuration error, not a bad file). */
export function schemaFor(name: SchemaPreset): SchemaDefinition {
  const schema = (SCHEMAS as Record<string, SchemaDefinition | undefined>)[name];
  if (!schema) throw new RangeError(`Unknown CSV schema preset: ${String(name)}`);
  return schema;
}

/** How header names are compared: case-insensitive, surrounding spaces ignored. */
export function headerKey(name: string): string {
  return name.trim().toLowerCase();
}
