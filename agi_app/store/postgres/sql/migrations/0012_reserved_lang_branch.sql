-- Placeholder on the lang branch only: version 12 belongs to a parallel branch's
-- migration. Delete this file when merging (the real 0012_*.sql replaces it).

SELECT 1;
