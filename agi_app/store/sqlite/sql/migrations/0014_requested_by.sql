-- 14: who asked: the API credential of a request (its "requested" event names it too)

ALTER TABLE requests ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
DROP TRIGGER requests_requested;
CREATE TRIGGER requests_requested AFTER INSERT ON requests BEGIN
    INSERT INTO request_events (request_id, at, event, state, detail)
    VALUES (NEW.id, NEW.requested_at, 'requested', NEW.state,
            CASE WHEN NEW.requested_by = '' THEN '{}'
                 ELSE json_object('credential', NEW.requested_by) END);
END;
