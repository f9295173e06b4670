-- 4: idempotency keys expire (SQLite's 13): each keyed request purges expired ones by age

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
