import { InvalidOptionError } from './errors.js';

/** Renders a received value for an error message: strings quoted, everything else as JSON or String. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return value.name ? `function ${value.name}` : 'function';
  if (value === undefined || typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

/** The one error factory for bad options: `Expected <what> for <option> but received <value> of type <type>`. */
export function invalidOption(option: string, expected: string, value: unknown): InvalidOptionError {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return new InvalidOptionError(
    option,
    `Expected ${expected} for ${option} but received ${describeValue(value)} of type ${type}`,
  );
}

export function expectPositiveInteger(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidOption(option, 'positive integer', value);
  }
  return value;
}

export function expectNonNegativeInteger(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidOption(option, 'non-negative integer', value);
  }
  return value;
}

export function expectBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidOption(option, 'boolean', value);
  return value;
}

export function expectOneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidOption(option, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value);
  }
  return value as T;
}

export function expectNonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidOption(option, 'non-empty string', value);
  return value;
}

/** Rejects keys a caller passed that the function does not know, naming the first one. */
export function expectKnownKeys(option: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(
        option ? `${option}.${key}` : key,
        `Unknown option ${option ? `${option}.` : ''}${key}; known options: ${known.join(', ')}`,
      );
    }
  }
}
