// The catalogue's calendar. It is fixed, not relative to the clock, so that a seed always gives the same
// catalogue: three years of listings up to the default seed's date.

export const DAY_MS = 86_400_000
export const CATALOGUE_END = Date.UTC(2024, 4, 1)
export const CATALOGUE_START = Date.UTC(2021, 4, 1)
