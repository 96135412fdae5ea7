// Registers a destination folder in action-destinations' cloud manifest
// (packages/destination-actions/src/destinations/index.ts): adds
// `register('<metadata id>', './<folder>')` after the last register line, once.
const fs = require('fs')

const [file, id, folder] = process.argv.slice(2)
const text = fs.readFileSync(file, 'utf8')
const line = `register('${id}', '${folder}')`
if (text.includes(`'${folder}')`)) process.exit(0)
const lines = text.split('\n')
let last = -1
lines.forEach((l, i) => {
  if (/^register\('/.test(l)) last = i
})
if (last < 0) {
  console.error(`no register(...) line in ${file}`)
  process.exit(1)
}
lines.splice(last + 1, 0, line)
fs.writeFileSync(file, lines.join('\n'))
console.log(`registered ${folder} as ${id}`)
