import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './drizzle/unified/schema.ts',
  out: './drizzle/unified/migrations',
  schemaFilter: ['unified'],
  migrations: { schema: 'drizzle', table: '__unified_migrations' }
})
