import { describe, expect, it } from 'vitest';
import { exportPath, isInside } from '../src/export-path.js';

describe('exportPath and isInside', () => {
  it('keep every record name inside the export folder, under its class folder', () => {
    expect(exportPath('cat/001.jpg', 'cat', '.png')).toBe('cat/001.png');
    expect(exportPath('001.jpg', 'cat', '.png')).toBe('cat/001.png');
    expect(exportPath('../../../x.jpg', null, '.png')).toBe('x.png');
    expect(exportPath('a\\b\\..\\c.jpeg', null, '.jpg')).toBe('a/b/c.jpg');
    expect(exportPath('', null, '.png')).toBe('record.png');
    expect(exportPath('..', '..', '.png')).toBe('unnamed-class/record.png');
    expect(isInside('/out', 'a/b.png')).toBe(true);
    expect(isInside('/out', '../b.png')).toBe(false);
    expect(isInside('/out', '/etc/passwd')).toBe(false);
  });
});
