// The test projects: one per package. vitest 4 no longer reads this file by itself, so
// vitest.config.ts imports the list from here; keep adding packages here.
export const projects = [
  'packages/core',
  'packages/image',
  'packages/codec',
  'packages/codec-jpeg',
  'packages/store',
  'packages/dataset',
  'packages/convert',
  'packages/cli',
  'tools',
];

export default projects;
