#!/usr/bin/env node
// The `switchyard` command. The only file besides serve.ts that touches process.
import { runCli } from '../cli/main.ts'
import { runServe } from './serve.ts'

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  serve: (argv) => runServe(argv, process.env, process.stdout, process.stderr)
})
