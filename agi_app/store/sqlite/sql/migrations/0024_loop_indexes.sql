-- 24: the periodic loops' partial indexes (issue 31): the requests with hours of their own
-- (the calling rules' sweep) and those whose turn is watched (customer first, or waiting for
-- the preferred agent), so that each loop reads its few rows without visiting every waiting
-- one. Each condition is repeated word for word in its query (sql/queries.sql).

CREATE INDEX requests_with_customer_hours ON requests (state) WHERE customer_hours != '';
CREATE INDEX requests_awaiting_turn ON requests (state)
    WHERE mode = 'customer_first' OR (preferred_agent != '' AND affinity = '');
