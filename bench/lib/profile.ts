/** A CPU profile of this process's main thread, for the benches that run the relay in process. */
import fs from 'node:fs'
import { Session } from 'node:inspector'
import path from 'node:path'

/** Starts the profiler when `dir` is set; the returned function stops it and writes DIR/NAME.cpuprofile. */
export async function startCpuProfile(dir: string, name: string): Promise<() => Promise<void>> {
  if (!dir) return async () => {}
  const session = new Session()
  session.connect()
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))))
  await post('Profiler.enable')
  await post('Profiler.start')
  return async () => {
    const { profile } = await post('Profiler.stop')
    session.disconnect()
    fs.mkdirSync(dir, { recursive: true })
    const file = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`)
    fs.writeFileSync(file, JSON.stringify(profile))
    console.log(`  (CPU profile of the main thread: ${file})`)
  }
}
