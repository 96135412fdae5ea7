// Placeholder until this command lands; replaced by its implementation.
export async function run(_argv: string[]): Promise<number> {
  console.error('csb-relay status: not implemented yet')
  return 1
}
