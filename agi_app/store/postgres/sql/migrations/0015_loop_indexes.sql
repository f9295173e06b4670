-- 15: the periodic loops' partial indexes (SQLite's 24, issue 31): the requests with hours
-- of their own (the calling rules' sweep) and those whose turn is watched (customer first,
-- or waiting for the preferred agent)

CREATE INDEX requests_with_customer_hours ON requests (state) WHERE customer_hours <> '';
CREATE INDEX requests_awaiting_turn ON requests (state)
    WHERE mode = 'customer_first' OR (preferred_agent <> '' AND affinity = '');
