// The one rule that decides a conflict, the same in both directions so both sides converge: the later
// updated_at wins; on equal timestamps the greater checksum of the mapped fields wins, which is arbitrary
// but stable, and the same whichever side computes it. A delete is a version stamped with its time.

export interface Version {
  /** Milliseconds since the epoch: updated_at for a row, deleted_at for a tombstone. */
  at: number
  /** rowChecksum of the mapped fields; '' for a deletion. */
  checksum: string
}

export type Resolution =
  | 'apply' // the incoming version is newer: write it
  | 'same' // identical: nothing to do
  | 'keep_target' // the target is newer: keep it (its own change travels the other way)

export function resolve (incoming: Version, target: Version | null): Resolution {
  if (target === null) return 'apply'
  if (incoming.at === target.at && incoming.checksum === target.checksum) return 'same'
  if (incoming.at > target.at) return 'apply'
  if (incoming.at < target.at) return 'keep_target'
  return incoming.checksum > target.checksum ? 'apply' : 'keep_target'
}
