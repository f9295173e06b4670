-- 3: one active callback per (number, queue). A store written before it may hold two:
-- the one requested first keeps its place, the others end as repeats of it (Cancelled,
-- with a "merged" event naming the one kept, which gets the usual "repeated" event).

CREATE TEMP TABLE merged AS
    SELECT r.id AS id, (
        SELECT k.id FROM requests k
        WHERE k.callback_number = r.callback_number AND k.queue = r.queue
            AND k.state != 'done'
        ORDER BY k.requested_at, k.rowid LIMIT 1
    ) AS kept, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') AS at
    FROM requests r WHERE r.state != 'done';
DELETE FROM temp.merged WHERE id = kept;
INSERT INTO request_events (request_id, at, event, state, detail)
    SELECT m.kept, m.at, 'repeated', k.state,
        json_object('channel', r.channel, 'dialed_number', r.dialed_number,
                    'merged', r.id, 'by', 'schema upgrade 3')
    FROM temp.merged m JOIN requests r ON r.id = m.id JOIN requests k ON k.id = m.kept
    ORDER BY r.requested_at, r.rowid;
INSERT INTO request_events (request_id, at, event, state, detail)
    SELECT m.id, m.at, 'merged', 'done',
        json_object('into', m.kept, 'reason',
                    'a second active request for the same number and queue',
                    'by', 'schema upgrade 3')
    FROM temp.merged m;
UPDATE requests SET state = 'done', call_outcome = 'Cancelled',
        updated_at = (SELECT at FROM temp.merged m WHERE m.id = requests.id)
    WHERE id IN (SELECT id FROM temp.merged);
DROP TABLE temp.merged;
CREATE UNIQUE INDEX requests_one_active ON requests (callback_number, queue)
    WHERE state != 'done';
