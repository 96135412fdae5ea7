import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { METADATA_FILE, metadataOf, metadataText } from '../../scripts/generate-metadata'
import destination from '../../src/destination'

describe('src/destination/metadata.json', () => {
  it('is exactly what `npm run generate-metadata` writes for the definition (regenerated in memory)', () => {
    expect(fs.existsSync(METADATA_FILE)).toBe(true)
    const stale = fs.readFileSync(METADATA_FILE, 'utf8') !== metadataText(destination)
    if (stale) throw new Error('src/destination/metadata.json is out of date: run `npm run generate-metadata`')
  })

  it('goes stale when the definition changes (a field made optional)', () => {
    const changed = {
      ...destination,
      actions: {
        ...destination.actions,
        identifyUser: {
          ...destination.actions.identifyUser,
          fields: {
            ...destination.actions.identifyUser.fields,
            user_id: { ...destination.actions.identifyUser.fields.user_id, required: false }
          }
        }
      }
    }
    expect(metadataText(changed)).not.toBe(fs.readFileSync(METADATA_FILE, 'utf8'))
  })

  it('describes settings, actions, required ids and presets the way Segment reads them', () => {
    const metadata = metadataOf(destination) as any
    expect(Object.keys(metadata)).toStrictEqual([
      'slug',
      'name',
      'mode',
      'description',
      'authentication',
      'audienceConfig',
      'actions',
      'presets'
    ])
    expect(metadata.slug).toBe('actions-customersuccessbox')
    expect(Object.keys(metadata.authentication.fields)).toStrictEqual(Object.keys(destination.authentication?.fields ?? {}))
    expect(metadata.authentication.fields.apiKey).toMatchObject({ type: 'password', required: true, default: null })
    expect(metadata.actions.identifyUser.fields.account_id).toMatchObject({ required: true, format: null, hidden: null })
    expect(metadata.actions.trackPage.fields.properties).toMatchObject({ required: false, properties: null })
    expect(metadata.presets.map((p: { partnerAction: string }) => p.partnerAction)).toStrictEqual(
      Object.keys(destination.actions)
    )
  })
})
