-- Placeholder so this branch's migrations are contiguous: the real migration
-- with this number comes from another branch. DELETE this file when merging.
SELECT 1;
