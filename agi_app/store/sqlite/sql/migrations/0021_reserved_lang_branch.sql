-- Placeholder on the lang branch only: version 21 belongs to a parallel branch's
-- migration. Delete this file when merging (the real 0021_*.sql replaces it).

SELECT 1;
