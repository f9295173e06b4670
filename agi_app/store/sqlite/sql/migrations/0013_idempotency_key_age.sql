-- 13: idempotency keys expire (api_idempotency_hours): each keyed request purges the
-- expired ones, found by age

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
