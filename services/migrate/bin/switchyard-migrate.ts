#!/usr/bin/env node
// The switchyard-migrate command: the only file of the job that touches process.
import { runMigrate } from '../cli/main.ts'

const stop = new AbortController()
process.once('SIGTERM', () => stop.abort())
process.once('SIGINT', () => stop.abort())
process.exitCode = await runMigrate(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: stop.signal })
