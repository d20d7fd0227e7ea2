import { describe, expect, it } from 'vitest'
import { canonicalJson } from '@clinic-mesh/contracts'

// Expected strings were produced by the implementations this one replaced (ledger, records and security each had a
// copy; 200,000 seeded random values gave the same output, or a throw, in all three). Signatures and hashes already
// made depend on these exact bytes: a change here is a change of wire format, not a refactor.
const VECTORS: readonly [string, unknown, string][] = [
  [
    'undefined members dropped',
    { b: 1, a: undefined, c: { d: undefined, e: null } },
    '{"b":1,"c":{"e":null}}',
  ],
  ['arrays keep order', [3, 1, 2, 'x', null, [true, false], {}], '[3,1,2,"x",null,[true,false],{}]'],
  ['nested', { z: { y: { x: [{ b: 2, a: 1 }] } }, a: [] }, '{"a":[],"z":{"y":{"x":[{"a":1,"b":2}]}}}'],
  [
    'key order by UTF-16 code unit, not locale or code point',
    { b: 1, B: 2, a: 3, é: 4, '\u{1F600}': 5, '\uFFFF': 6, '10': 7, '2': 8, '': 9 },
    '{"":9,"10":7,"2":8,"B":2,"a":3,"b":1,"é":4,"\u{1F600}":5,"\uFFFF":6}',
  ],
  [
    'numbers as JSON.stringify writes them',
    [0, -0, 1.5, -1e-7, 1e21, 2 ** 53, 5e-324],
    '[0,0,1.5,-1e-7,1e+21,9007199254740992,5e-324]',
  ],
  [
    'strings escaped as JSON.stringify',
    ['a"b', 'line\nbreak', '\u0000', 'é', '\u2028', '\uD800'],
    '["a\\"b","line\\nbreak","\\u0000","é","\u2028","\\ud800"]',
  ],
  ['no toJSON', { at: new Date(0) }, '{"at":{}}'],
]

describe('canonicalJson', () => {
  for (const [name, input, expected] of VECTORS) {
    it(name, () => expect(canonicalJson(input)).toBe(expected))
  }

  it('is independent of insertion order', () => {
    expect(canonicalJson({ a: 1, b: [{ c: 1, d: 2 }] })).toBe(canonicalJson({ b: [{ d: 2, c: 1 }], a: 1 }))
  })

  it('refuses non-finite numbers and values JSON cannot hold, with a named error', () => {
    for (const [bad, reason] of [
      [Number.NaN, 'bad-number'],
      [Number.POSITIVE_INFINITY, 'bad-number'],
      [{ a: [Number.NEGATIVE_INFINITY] }, 'bad-number'],
      [10n, 'bad-value'],
      [[undefined], 'bad-value'],
      [{ f: () => 1 }, 'bad-value'],
      [Symbol('s'), 'bad-value'],
    ] as const) {
      let err: unknown
      try {
        canonicalJson(bad)
      } catch (e) {
        err = e
      }
      expect(err).toMatchObject({ name: 'CanonicalJsonError', reason })
    }
  })
})
