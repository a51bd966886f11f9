-- pgvector: drizzle-kit does not emit extensions. IF NOT EXISTS because the legacy and unified schemas may
-- share one database (the embedded example), and each must also stand alone.
CREATE EXTENSION IF NOT EXISTS vector;
