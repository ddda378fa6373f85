-- The owner's day: an audit log of admin and money actions, and indexes
-- for reports by day and for retention.

-- Append-only: nothing in the server updates or deletes a row.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    -- Who: the staff account (NULL for the command line) and its name then.
    user_id    INTEGER REFERENCES users(id),
    actor      TEXT NOT NULL,
    -- From where: the client address, or 'cli'.
    address    TEXT NOT NULL,
    action     TEXT NOT NULL,
    shop_id    INTEGER,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_action ON audit_log(action, id);
CREATE INDEX audit_log_shop ON audit_log(shop_id, id);

CREATE INDEX orders_shop_created ON orders(shop_id, created_at);
CREATE INDEX orders_created ON orders(created_at);
CREATE INDEX clients_last_seen ON clients(last_seen);
