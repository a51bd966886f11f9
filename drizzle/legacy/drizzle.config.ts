import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './drizzle/legacy/schema.ts',
  out: './drizzle/legacy/migrations',
  schemaFilter: ['legacy'],
  migrations: { schema: 'drizzle', table: '__legacy_migrations' }
})
