// Case e: nginx as a reverse proxy with an upstream keep-alive pool, one process (no master), from a config
// generated in a temporary prefix directory, so that nothing of the system's nginx setup is used.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { freePort } from '../helpers/servers.ts'
import { join } from 'node:path'
import { startChild, type Child } from './children.ts'

/** nginx's version, or null when nginx is not installed. */
export function nginxVersion (): string | null {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' })
  if (r.error !== undefined) return null
  return `${r.stderr}${r.stdout}`.trim().replace(/^nginx version: /, '')
}

// keepalive_requests is raised on both sides because the Node servers compared with it never close a
// keep-alive connection after a number of requests (nginx's default is 1000).
export function nginxConfig (dir: string, port: number, upstream: URL): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  upstream backend {
    server ${upstream.host};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
}

export async function startNginx (dir: string, upstream: string, core: number | null): Promise<Child> {
  mkdirSync(join(dir, 'tmp'), { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxConfig(dir, port, new URL(upstream)))
  const child = await startChild('nginx', 'nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
    core,
    ready: { port }
  })
  return { ...child, info: { url: `http://127.0.0.1:${port}` } }
}
