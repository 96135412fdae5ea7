import path from 'node:path'

/**
 * How to start a worker thread on `<dir>/<base>`: the compiled `.js` when the caller runs
 * compiled, else the `.ts` source through tsx (vitest, tsx), which a worker cannot load alone.
 * Pass the caller's `__filename` and `__dirname`.
 */
export function threadEntry(callerFile: string, dir: string, base: string): { filename: string; eval: boolean } {
  if (!callerFile.endsWith('.ts')) return { filename: path.join(dir, `${base}.js`), eval: false }
  const tsx = require.resolve('tsx/cjs')
  return { filename: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(path.join(dir, `${base}.ts`))})`, eval: true }
}
