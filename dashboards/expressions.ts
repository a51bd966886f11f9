// Every PromQL expression the dashboards and the alert rules contain, for the tests that run them against a
// real Prometheus: the panels' targets, the annotations, the variables' label_values() queries (as the
// PromQL that lists the same values), and for each alert the parts that must return series while the
// system runs: the left-hand side of each comparison, and what absent() looks for.
import { parse } from 'yaml'

export interface Expression {
  /** Where it comes from, for a failure's message. */
  where: string
  expr: string
}

interface Target { expr?: string }
interface PanelLike { title?: string, targets?: Target[], panels?: PanelLike[] }
interface DashboardLike {
  title?: string
  panels?: PanelLike[]
  annotations?: { list?: Array<{ name?: string, expr?: string }> }
  templating?: { list?: Array<{ name?: string, query?: unknown }> }
}

export function dashboardExpressions (file: string, d: DashboardLike): Expression[] {
  const found: Expression[] = []
  const visit = (panels: PanelLike[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const [i, t] of (p.targets ?? []).entries()) {
        if (typeof t.expr === 'string') found.push({ where: `${file}: panel "${p.title ?? ''}" target ${i + 1}`, expr: t.expr })
      }
      visit(p.panels)
    }
  }
  visit(d.panels)
  for (const a of d.annotations?.list ?? []) {
    if (typeof a.expr === 'string' && a.expr !== '') found.push({ where: `${file}: annotation "${a.name ?? ''}"`, expr: a.expr })
  }
  for (const v of d.templating?.list ?? []) {
    const m = typeof v.query === 'string' ? /^label_values\((.+),\s*(\w+)\)$/.exec(v.query) : null
    if (m !== null) found.push({ where: `${file}: variable $${v.name ?? ''}`, expr: `group by (${m[2]}) (${m[1]})` })
  }
  return found
}

export interface AlertExpression {
  alert: string
  expr: string
  /** What must return series for the alert to be able to fire: comparisons' left-hand sides, absent()'s argument. */
  operands: string[]
}

export function alertExpressions (rulesYaml: string): AlertExpression[] {
  const rules = parse(rulesYaml) as { groups: Array<{ rules: Array<{ alert?: string, expr: string }> }> }
  return rules.groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined).map((r) => ({
    alert: r.alert!,
    expr: r.expr.trim(),
    operands: [...new Set(operandsOf(r.expr))]
  })))
}

/** Grafana's variables replaced by the given values; fails on any left over. */
export function substitute (expr: string, values: Record<string, string>): string {
  const out = expr.replace(/\$(\w+)/g, (all, name: string) => values[name] ?? all)
  const left = /\$\w+/.exec(out)
  if (left !== null) throw new Error(`no value for ${left[0]} in: ${expr}`)
  return out
}

// Binary operators by precedence, lowest first, as PromQL parses them.
const SET_OR = ['or']
const SET_AND = ['and', 'unless']
const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<']

/**
 * The operands that must have series: an `or`, `and` or `unless` is split into its sides, a comparison gives
 * its left-hand side, absent(x) gives x; an expression with none of these gives nothing (it is its own).
 */
export function operandsOf (expr: string): string[] {
  const e = unwrap(expr.trim())
  for (const ops of [SET_OR, SET_AND]) {
    const parts = splitTopLevel(e, ops)
    // Each side must have series for the whole to: a side without a comparison is itself an operand.
    if (parts.length > 1) {
      return parts.flatMap((p) => {
        const side = stripModifiers(p)
        const inner = operandsOf(side)
        return inner.length > 0 ? inner : [side]
      })
    }
  }
  const sides = splitTopLevel(e, COMPARISONS)
  if (sides.length > 1) return [sides[0]!.trim()]
  const open = e.indexOf('(')
  if (/^absent\s*\($/.test(e.slice(0, open + 1)) && closingOf(e, open) === e.length - 1) return [e.slice(open + 1, -1).trim()]
  return []
}

/** Drops the vector matching and `bool` modifiers an operand starts with once its operator is split off. */
function stripModifiers (s: string): string {
  let out = s.trim()
  for (;;) {
    const m = /^(bool\b|(?:on|ignoring|group_left|group_right)\s*(?:\([^)]*\))?)\s*/.exec(out)
    if (m === null || m[0] === '') return out
    out = out.slice(m[0].length)
  }
}

/** The expression without parentheses that enclose all of it. */
function unwrap (s: string): string {
  let e = s
  while (e.startsWith('(') && closingOf(e, 0) === e.length - 1) e = e.slice(1, -1).trim()
  return e
}

function closingOf (s: string, open: number): number {
  let depth = 0
  for (let i = open; i < s.length; i++) {
    const c = s[i]!
    if (c === '"' || c === "'" || c === '`') { i = endOfString(s, i); continue }
    if (c === '(' || c === '{' || c === '[') depth++
    else if (c === ')' || c === '}' || c === ']') {
      depth--
      if (depth === 0) return i
    }
  }
  return -1
}

function endOfString (s: string, start: number): number {
  const quote = s[start]
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\' && quote !== '`') i++
    else if (s[i] === quote) return i
  }
  return s.length
}

/** Splits at the operators found outside parentheses, braces, brackets and strings. */
function splitTopLevel (s: string, ops: string[]): string[] {
  const parts: string[] = []
  let depth = 0
  let from = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '"' || c === "'" || c === '`') { i = endOfString(s, i); continue }
    if (c === '(' || c === '{' || c === '[') { depth++; continue }
    if (c === ')' || c === '}' || c === ']') { depth--; continue }
    if (depth !== 0) continue
    const op = ops.find((o) => s.startsWith(o, i) && isOperatorAt(s, i, o))
    if (op === undefined) continue
    parts.push(s.slice(from, i))
    i += op.length - 1
    from = i + 1
  }
  parts.push(s.slice(from))
  return parts.length > 1 ? parts.map((p) => p.trim()) : [s]
}

function isOperatorAt (s: string, i: number, op: string): boolean {
  if (/^\w+$/.test(op)) {
    // A keyword: not part of a longer name (such as a metric called "order" or a label "andromeda").
    return !/[\w:]/.test(s[i - 1] ?? ' ') && !/[\w:]/.test(s[i + op.length] ?? ' ')
  }
  // `>` and `<` are not the first half of `>=` or `<=`, nor `=` of `=~` (inside braces anyway).
  if ((op === '>' || op === '<') && s[i + 1] === '=') return false
  return true
}
