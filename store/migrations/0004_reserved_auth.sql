-- Number 0004 was reserved for an auth migration that turned out not to be
-- needed (refresh tokens fit the tables of 0001). Migrations must be
-- contiguous, so this one does nothing.
SELECT 1;
