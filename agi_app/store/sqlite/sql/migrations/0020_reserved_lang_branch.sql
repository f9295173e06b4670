-- Placeholder on the lang branch only: version 20 belongs to a parallel branch's
-- migration. Delete this file when merging (the real 0020_*.sql replaces it).

SELECT 1;
