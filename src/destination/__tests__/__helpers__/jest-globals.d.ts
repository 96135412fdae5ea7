// describe/it/expect are globals under both runners of these tests: jest (Segment's
// action-destinations) and vitest with `globals: true` (csb-relay). Their types come from
// @types/jest, so the tests type-check against the API both runners share.
/// <reference types="jest" />
