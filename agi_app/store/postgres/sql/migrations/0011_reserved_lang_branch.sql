-- Placeholder on the lang branch only: version 11 belongs to a parallel branch's
-- migration. Delete this file when merging (the real 0011_*.sql replaces it).

SELECT 1;
