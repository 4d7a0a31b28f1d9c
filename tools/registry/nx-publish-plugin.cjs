// Adds the `nx-release-publish` target that `nx release publish` runs, to every public package.
// Nx infers that target only when @nx/js is installed; this workspace does not install it.
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

module.exports = {
  name: 'imgstore-release-publish',
  createNodes: [
    'packages/*/package.json',
    (files, _options, context) =>
      files.flatMap((file) => {
        let json;
        try {
          json = JSON.parse(readFileSync(join(context.workspaceRoot, file), 'utf8'));
        } catch {
          return []; // A package.json being edited mid-write: the package plugin reports it.
        }
        if (json.private) return [];
        const root = dirname(file);
        const target = {
          executor: 'nx:run-commands',
          // Dependencies are published first, as @nx/js does.
          dependsOn: ['^nx-release-publish'],
          options: { command: `node tools/registry/npm-publish.mjs ${root}`, cwd: '{workspaceRoot}' },
        };
        return [[file, { projects: { [root]: { targets: { 'nx-release-publish': target } } } }]];
      }),
  ],
};
