// Installs, without saving, the peer versions the running Node line needs for the tests, on top
// of `npm ci`. package.json's devDependencies are the current majors, which need Node 22+:
// better-sqlite3 13 crashes on Node 20 and undici 8 does not load there, so Node 20 gets the
// previous majors. Extra specs on the command line (`better-sqlite3@12`, `ioredis@5`) are
// installed too, to run the suite against the other major on any line. A native addon is
// built against the running node's own headers (<prefix>/include/node), never downloaded ones.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const PREVIOUS_MAJORS = { 'better-sqlite3': '^12.11.1', undici: '^7.30.2' };
const major = Number(process.versions.node.split('.')[0]);
const extra = process.argv.slice(2);
const named = new Set(extra.map((spec) => spec.replace(/(.)@.*$/, '$1')));
const specs = [
  ...(major < 22 ? Object.entries(PREVIOUS_MAJORS).filter(([name]) => !named.has(name)).map(([n, v]) => `${n}@${v}`) : []),
  ...extra,
];
if (specs.length === 0) {
  console.log(`Node ${process.versions.node}: package.json's peer versions apply`);
  process.exit(0);
}
const prefix = dirname(dirname(process.execPath));
const env = { ...process.env };
if (existsSync(join(prefix, 'include', 'node', 'node.h'))) env.npm_config_nodedir = prefix;
console.log(`Node ${process.versions.node}: npm install --no-save ${specs.join(' ')}`);
// npm and the install scripts it runs (prebuild-install, node-gyp) run on this node, so that what
// they fetch or build targets this line.
env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', ...specs], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
