// The flat config lives in a dotfile so that the top level stays as the project layout prescribes;
// `npm run lint` passes it with -c.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', '.switchyard/**', '.tap/**'] })
]
