-- Placeholder holding number 0002 for the sync branch's migration, so this
-- branch's 0003 applies on its own. At merge, delete this file (sync's
-- 0002 takes the number); the migration loader fails loudly if both exist.
SELECT 1;
