-- 5: the "requested" event written by the database in the same statement as the request

CREATE TRIGGER requests_requested AFTER INSERT ON requests BEGIN
    INSERT INTO request_events (request_id, at, event, state, detail)
    VALUES (NEW.id, NEW.requested_at, 'requested', NEW.state, '{}');
END;
