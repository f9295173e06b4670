-- 6: rate limits count recent requests per caller number and per callback number

CREATE INDEX requests_by_caller ON requests (caller_number, requested_at);
CREATE INDEX requests_by_callback ON requests (callback_number, requested_at);
