import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * A safe relative path for a stored record name: `/` and `\` both separate folders; empty, `.` and `..`
 * segments, drive letters, NUL and control characters are dropped or replaced, so whatever a store
 * holds (it may come from someone else), the file lands inside the export folder. The extension is
 * replaced by `extension`. Labeled records go under their class folder, ImageFolder style.
 */
export function exportPath(name: string, labelName: string | null, extension: string): string {
  let segments = name
    .split(/[\\/]+/)
    .map((segment) => segment.replace(/[\u0000-\u001f\u007f]/g, '_').replace(/^[A-Za-z]:$/, '').replace(/:/g, '_').trim())
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..');
  const folder = labelName === null ? null : labelName.replace(/[\\/\u0000-\u001f\u007f:]/g, '_').replace(/^\.+$/, '') || 'unnamed-class';
  if (folder !== null && segments[0] === folder) segments = segments.slice(1);
  const file = segments.pop() ?? '';
  const base = file.slice(0, file.length - extname(file).length) || 'record';
  return [...(folder === null ? [] : [folder]), ...segments, `${base}${extension}`].join('/');
}

/** True when `path` (relative to `root`) resolves inside `root`: the last guard before writing. */
export function isInside(root: string, path: string): boolean {
  const target = resolve(root, path);
  const rel = relative(resolve(root), target);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
