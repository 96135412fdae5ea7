/** A configuration the relay cannot start with; its message names the setting and the fix (exit 2). */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
