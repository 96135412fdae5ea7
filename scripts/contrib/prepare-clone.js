// Makes a clone of segmentio/action-destinations installable from the npm registry this project
// reaches: @aws-sdk/client-kinesis pinned to a published version (their pin is not on it) and
// @bufbuild/buf (a code generator whose platform binaries are not needed here) left out.
// Safe to run again.
const fs = require('fs')
const path = require('path')

const clone = process.argv[2]
const file = path.join(clone, 'packages/destination-actions/package.json')
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
const changes = []
const KINESIS = '@aws-sdk/client-kinesis'
const KINESIS_VERSION = process.env.CONTRIB_KINESIS_VERSION || '3.970.0'
if (pkg.dependencies && pkg.dependencies[KINESIS] && pkg.dependencies[KINESIS] !== KINESIS_VERSION) {
  changes.push(`${KINESIS} ${pkg.dependencies[KINESIS]} -> ${KINESIS_VERSION}`)
  pkg.dependencies[KINESIS] = KINESIS_VERSION
}
if (pkg.devDependencies && pkg.devDependencies['@bufbuild/buf']) {
  changes.push(`@bufbuild/buf ${pkg.devDependencies['@bufbuild/buf']} dropped`)
  delete pkg.devDependencies['@bufbuild/buf']
}
if (changes.length > 0) {
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
  console.log(`packages/destination-actions/package.json: ${changes.join('; ')}`)
}
