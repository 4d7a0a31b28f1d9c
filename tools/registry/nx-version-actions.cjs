// Version actions for npm packages (package.json), for `nx release version`.
// Nx's own implementation lives in @nx/js, which this workspace does not install; this is the part of it
// we use: read and write "version", and rewrite internal dependency ranges that a new version falls outside.
'use strict';
const { join } = require('node:path');
const { VersionActions } = require('nx/release');
// semver as nx itself resolves it (a dependency of nx, not of this workspace).
const semver = require(require.resolve('semver', { paths: [require.resolve('nx/package.json')] }));

const readJson = (tree, path) => JSON.parse(tree.read(path, 'utf-8'));
const writeJson = (tree, path, json) => tree.write(path, `${JSON.stringify(json, null, 2)}\n`);

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

class NpmVersionActions extends VersionActions {
  validManifestFilenames = ['package.json'];

  #manifest() {
    return join(this.projectGraphNode.data.root, 'package.json');
  }

  async readCurrentVersionFromSourceManifest(tree) {
    const manifestPath = this.#manifest();
    const json = readJson(tree, manifestPath);
    if (typeof json.version !== 'string') throw new Error(`${manifestPath} has no "version"`);
    return { currentVersion: json.version, manifestPath };
  }

  async readCurrentVersionFromRegistry(tree, metadata) {
    const { name } = readJson(tree, this.#manifest());
    const registry = typeof metadata?.registry === 'string' ? metadata.registry : undefined;
    const tag = typeof metadata?.tag === 'string' ? metadata.tag : 'latest';
    const { execFileSync } = require('node:child_process');
    let currentVersion = null;
    try {
      const args = ['view', `${name}@${tag}`, 'version', ...(registry ? ['--registry', registry] : [])];
      currentVersion = execFileSync('npm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
    } catch {
      // Never published: nx falls back to its fallbackCurrentVersionResolver.
    }
    return { currentVersion, logText: `registry=${registry ?? 'npm config'} tag=${tag}` };
  }

  async readCurrentVersionOfDependency(tree, projectGraph, dependencyProjectName) {
    const json = readJson(tree, this.#manifest());
    const name = projectGraph.nodes[dependencyProjectName]?.data.metadata?.js?.packageName ?? dependencyProjectName;
    for (const field of DEPENDENCY_FIELDS) {
      if (json[field]?.[name]) return { currentVersion: json[field][name], dependencyCollection: field };
    }
    return { currentVersion: null, dependencyCollection: null };
  }

  async updateProjectVersion(tree, newVersion) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const json = readJson(tree, manifestPath);
      json.version = newVersion;
      writeJson(tree, manifestPath, json);
      logs.push(`New version ${newVersion} written to ${manifestPath}`);
    }
    return logs;
  }

  async updateProjectDependencies(tree, projectGraph, dependenciesToUpdate) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const json = readJson(tree, manifestPath);
      let changed = 0;
      for (const [project, version] of Object.entries(dependenciesToUpdate)) {
        const name = projectGraph.nodes[project]?.data.metadata?.js?.packageName ?? project;
        for (const field of DEPENDENCY_FIELDS) {
          const range = json[field]?.[name];
          if (!range || range.startsWith('file:')) continue;
          // nx passes the version with the dependent's prefix already applied (versionPrefix "auto").
          // A range that already admits it stays as written (preserveMatchingDependencyRanges).
          const preserve = this.finalConfigForProject.preserveMatchingDependencyRanges !== false;
          const isRange = !semver.valid(range) && semver.validRange(range);
          if (preserve && isRange && semver.satisfies(version.replace(/^[~^=]/, ''), range)) continue;
          json[field][name] = version;
          changed++;
        }
      }
      if (changed) {
        writeJson(tree, manifestPath, json);
        logs.push(`Updated ${changed} internal ${changed === 1 ? 'dependency' : 'dependencies'} in ${manifestPath}`);
      }
    }
    return logs;
  }
}

module.exports = NpmVersionActions;
module.exports.default = NpmVersionActions;
