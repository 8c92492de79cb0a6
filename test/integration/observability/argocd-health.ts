// Runs docs/argocd/health-mailsync.lua the way Argo CD does: the object as the global `obj`, the
// script's return value as the verdict, in Lua 5.1 (gopher-lua's dialect) with only the base and
// table libraries (Argo CD's default sandbox: no string library, not even as string methods).

import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../../dev/control-plane.js';

export const HEALTH_SCRIPT = path.join(REPO_ROOT, 'docs/argocd/health-mailsync.lua');
export const LUA = process.env.LUA ?? 'lua5.1';

export interface ArgoHealth {
  status: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
  message: string;
}

/**
 * A Lua string literal. Lua strings are 8-bit clean, so UTF-8 passes through as it is; control
 * characters become 3-digit decimal escapes (a shorter one would swallow a following digit).
 */
function luaString(s: string): string {
  return `"${s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    if (c === '\\' || c === '"') return `\\${c}`;
    return `\\${c.charCodeAt(0).toString().padStart(3, '0')}`;
  })}"`;
}

/**
 * The value as a Lua table constructor, as Argo CD's decodeValue builds it from the unstructured
 * object: maps become tables keyed by string, arrays 1-based sequences, null becomes nil.
 */
export function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot pass ${v} to Lua`);
    return String(v);
  }
  if (typeof v === 'string') return luaString(v);
  if (Array.isArray(v))
    return `{${v
      .filter((x) => x !== null && x !== undefined)
      .map(toLua)
      .join(',')}}`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== null && x !== undefined)
      .map(([k, x]) => `[${luaString(k)}]=${toLua(x)}`)
      .join(',')}}`;
  }
  throw new Error(`cannot pass a ${typeof v} to Lua`);
}

const BASE_FUNCTIONS = [
  'assert',
  'error',
  'ipairs',
  'next',
  'pairs',
  'pcall',
  'print',
  'rawequal',
  'rawget',
  'rawset',
  'select',
  'getmetatable',
  'setmetatable',
  'tonumber',
  'tostring',
  'type',
  'unpack',
  'xpcall',
];

function program(obj: object, script: string): string {
  return `
local obj = ${toLua(obj)}
local env = { obj = obj, table = table }
for _, name in ipairs({${BASE_FUNCTIONS.map((f) => `"${f}"`).join(',')}}) do env[name] = _G[name] end
env._G = env
local chunk, err
if setfenv then
  chunk, err = loadfile(${luaString(script)})
  if chunk then setfenv(chunk, env) end
else
  chunk, err = loadfile(${luaString(script)}, "t", env)
end
if not chunk then io.stderr:write("load: " .. tostring(err)) os.exit(2) end
local strings = getmetatable("")
local methods = strings.__index
strings.__index = nil
local ok, hs = pcall(chunk)
strings.__index = methods
if not ok then io.stderr:write("error: " .. tostring(hs)) os.exit(3) end
if type(hs) ~= "table" then io.stderr:write("the script returned a " .. type(hs) .. ", not a table") os.exit(4) end
io.write(tostring(hs.status), "\\n", tostring(hs.message))
`;
}

const VALID = new Set(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown']);

/** The verdict of the health script for one object (a plain JSON object as the API server returns it). */
export function argoHealth(obj: object, script = HEALTH_SCRIPT): Promise<ArgoHealth> {
  return new Promise((resolve, reject) => {
    const child = execFile(LUA, ['-'], { timeout: 5000 }, (err, stdout, stderr) => {
      if (err) {
        const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (${LUA} is not installed: run hack/ensure-lua.sh)` : '';
        return reject(new Error(`${LUA} failed${hint}: ${stderr || err.message}`));
      }
      const i = stdout.indexOf('\n');
      const status = stdout.slice(0, i);
      // Argo CD turns a status it does not know into Unknown; fail loudly instead.
      if (!VALID.has(status)) return reject(new Error(`the script returned an invalid health status "${status}"`));
      resolve({ status: status as ArgoHealth['status'], message: stdout.slice(i + 1) });
    });
    child.stdin!.end(program(obj, script));
  });
}
