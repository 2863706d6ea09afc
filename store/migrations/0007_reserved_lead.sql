-- Placeholder on the reports2 branch only: number 0007 is reserved for the
-- lead's inbox migration, and migrations must be contiguous. When merging,
-- keep the lead's 0007 and delete this file.
SELECT 1;
