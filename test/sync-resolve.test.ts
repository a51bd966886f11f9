// The conflict rule: last writer by updated_at, a stable tie-break, and the same answer from either side.
import t from 'tap'
import { resolve, type Version } from '../services/sync/resolve.ts'

t.test('the later write wins, ties go to the greater checksum, from either side', async (t) => {
  const a: Version = { at: 1000, checksum: 'aa' }
  const b: Version = { at: 2000, checksum: 'bb' }
  t.equal(resolve(b, a), 'apply')
  t.equal(resolve(a, b), 'keep_target')
  t.equal(resolve(a, null), 'apply', 'a row the target has never seen')
  t.equal(resolve(a, { ...a }), 'same')
  const x: Version = { at: 5000, checksum: '7f' }
  const y: Version = { at: 5000, checksum: '80' }
  t.equal(resolve(y, x), 'apply')
  t.equal(resolve(x, y), 'keep_target')
  // Convergence: whatever order two sides see two versions in, both end on the same winner.
  for (const [p, q] of [[a, b], [b, a], [x, y], [y, x]] as Array<[Version, Version]>) {
    const onP = resolve(q, p) === 'apply' ? q : p
    const onQ = resolve(p, q) === 'apply' ? p : q
    t.same(onP, onQ, `both sides keep ${JSON.stringify(onP)}`)
  }
  t.equal(resolve({ at: 3000, checksum: '' }, b), 'apply', 'a later delete wins over an earlier update')
  t.equal(resolve({ at: 1500, checksum: '' }, b), 'keep_target', 'an update after a delete keeps the row')
})
