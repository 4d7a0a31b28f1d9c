import { describe, expect, it } from 'vitest';
import {
  ImgstoreError,
  InvalidOptionError,
  StoreDamagedError,
  describeValue,
  expectKnownKeys,
  expectOneOf,
  expectPositiveInteger,
  invalidOption,
} from '@imgstore/core';

describe('invalidOption', () => {
  it('states expected, option, received value and type', () => {
    const error = invalidOption('batchSize', 'positive integer', 0);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toBeInstanceOf(ImgstoreError);
    expect(error.code).toBe('ERR_IMGSTORE_INVALID_OPTION');
    expect(error.option).toBe('batchSize');
    expect(error.message).toBe('Expected positive integer for batchSize but received 0 of type number');
  });

  it('quotes strings and names null and arrays', () => {
    expect(invalidOption('fit', 'x', 'cove').message).toBe('Expected x for fit but received "cove" of type string');
    expect(invalidOption('a', 'x', null).message).toBe('Expected x for a but received null of type null');
    expect(invalidOption('a', 'x', [1, 2]).message).toBe('Expected x for a but received [1,2] of type array');
  });
});

describe('expect helpers', () => {
  it('accepts valid values and returns them', () => {
    expect(expectPositiveInteger('n', 3)).toBe(3);
    expect(expectOneOf('fit', 'cover', ['cover', 'fill'])).toBe('cover');
  });

  it.each([0, -1, 1.5, '3', NaN, undefined])('rejects %s as a positive integer', (value) => {
    expect(() => expectPositiveInteger('resize.width', value)).toThrow(/^Expected positive integer for resize\.width/);
  });

  it('lists allowed values for enums', () => {
    expect(() => expectOneOf('fit', 'cove', ['cover', 'fill'])).toThrow(
      'Expected one of "cover", "fill" for fit but received "cove" of type string',
    );
  });

  it('names an unknown option (typo) and lists the known ones', () => {
    expect(() => expectKnownKeys('', { batchSize: 1, shufle: true }, ['batchSize', 'shuffle'])).toThrow(
      'Unknown option shufle; known options: batchSize, shuffle',
    );
  });

  it('describes long values shortened', () => {
    expect(describeValue({ a: 'x'.repeat(200) }).length).toBeLessThanOrEqual(80);
  });
});

describe('errors', () => {
  it('keeps code, facts and cause', () => {
    const cause = new Error('bad crc');
    const error = new StoreDamagedError('s.lmdb', 7, 'record 7 damaged', { cause });
    expect(error.name).toBe('StoreDamagedError');
    expect(error.code).toBe('ERR_IMGSTORE_STORE_DAMAGED');
    expect(error.index).toBe(7);
    expect(error.path).toBe('s.lmdb');
    expect(error.cause).toBe(cause);
  });
});
