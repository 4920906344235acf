// Preloaded into a CLI subprocess (node --import): writes the process's peak resident set size,
// in kilobytes (process.resourceUsage().maxRSS), to the file TLS_SESSIONS_RSS_FILE names at exit.
import { writeFileSync } from 'node:fs';

const file = process.env.TLS_SESSIONS_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
