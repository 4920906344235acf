// Puts the peers the tests use at the versions the running Node line takes, on top of `npm ci`,
// without saving: package.json's devDependencies are the current majors, which need Node 22+
// (better-sqlite3 13 crashes on Node 20, undici 8 does not load there), so Node 20 gets the
// previous majors and every later line the locked ones (ioredis: the locked one everywhere, so a
// run against another major is undone by the next plain run). Specs on the command line
// (`better-sqlite3@12`, `ioredis@5`) are installed as given, to run the suite against another
// major on any line. A native addon is built against the running node's own headers
// (npm_config_nodedir, else <prefix>/include/node), and rebuilt when it does not load here (a
// build for another line). Switching lines back and forth is cheap: only what differs changes.
//
//   node scripts/line-peers.mjs [name@version ...]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const PREVIOUS_MAJORS = { 'better-sqlite3': '^12.11.1', undici: '^7.30.2' };
const lineMajor = Number(process.versions.node.split('.')[0]);
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const majorOf = (version) => Number(/(\d+)/.exec(version ?? '')?.[1] ?? Number.NaN);
const installed = (name) => {
  const path = join('node_modules', name, 'package.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')).version : undefined;
};

const extra = process.argv.slice(2);
const named = new Set(extra.map((spec) => spec.replace(/(.)@.*$/, '$1')));
const specs = [...extra];
for (const name of ['better-sqlite3', 'undici', 'ioredis']) {
  if (named.has(name)) continue;
  const wanted = (lineMajor < 22 ? PREVIOUS_MAJORS[name] : undefined) ?? lock.packages[`node_modules/${name}`]?.version;
  if (wanted !== undefined && majorOf(installed(name)) !== majorOf(wanted)) specs.push(`${name}@${wanted}`);
}

const prefix = dirname(dirname(process.execPath));
const env = { ...process.env };
if (env.npm_config_nodedir === undefined && existsSync(join(prefix, 'include', 'node', 'node.h'))) {
  env.npm_config_nodedir = prefix;
}
// npm and the install scripts it runs (prebuild-install, node-gyp) run on this node, so that what
// they fetch or build targets this line.
env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
const npm = (args) => {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund'], { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (specs.length > 0) {
  console.log(`Node ${process.versions.node}: npm install --no-save ${specs.join(' ')}`);
  npm(['install', '--no-save', ...specs]);
}
// better-sqlite3 before 13 is built for one Node ABI: rebuild it when this line cannot load it.
// (13 is a Node-API prebuild for every line, except Node 20 where opening a database crashes.)
if (majorOf(installed('better-sqlite3')) < 13) {
  const probe = "new (require('better-sqlite3'))(':memory:').close()";
  if (spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status !== 0) {
    console.log(`Node ${process.versions.node}: npm rebuild better-sqlite3`);
    npm(['rebuild', 'better-sqlite3']);
  }
}
console.log(
  `Node ${process.versions.node}: better-sqlite3 ${installed('better-sqlite3')}, undici ${installed('undici')}, ioredis ${installed('ioredis')}`,
);
