-- Fewer pages written per order (flash wear), measured with
-- scripts/bench-peers.py's order lives: a placement and each stage move is
-- its own fsync'd commit, and each commit writes every page it changed.

-- Order events without AUTOINCREMENT: each event wrote the sqlite_sequence
-- page too. Ids still only grow: the store takes each event's id (and
-- each payment's change number) above every event and every change of the
-- order's shop, and retention keeps the newest event.
CREATE TABLE order_events_new (
    id            INTEGER PRIMARY KEY,
    order_id      INTEGER NOT NULL REFERENCES orders(id),
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    actor_role    TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id),
    reason        TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
INSERT INTO order_events_new (id, order_id, from_status, to_status, actor_role, actor_user_id,
                              reason, created_at)
    SELECT id, order_id, from_status, to_status, actor_role, actor_user_id, reason, created_at
    FROM order_events ORDER BY id;
-- Dropping the table drops its index and its trigger (made again below).
DROP TABLE order_events;
ALTER TABLE order_events_new RENAME TO order_events;
CREATE INDEX order_events_order ON order_events(order_id);
DELETE FROM sqlite_sequence WHERE name = 'order_events';

-- The open orders' partial indexes keyed on a column that changes only when
-- an order finishes (or reopens), not on its status: an index whose clause
-- reads `status` was rewritten (two pages) at every stage move. NULL while
-- the order is open; the triggers below keep it, whoever changes the
-- status. Queries repeat `finished_at IS NULL` word for word.
ALTER TABLE orders ADD COLUMN finished_at INTEGER;
UPDATE orders SET finished_at = updated_at WHERE status IN ('completed', 'cancelled');
DROP INDEX orders_open_code;
DROP INDEX orders_open_from;
CREATE INDEX orders_open_code ON orders(shop_id, pickup_code) WHERE finished_at IS NULL;
CREATE INDEX orders_open_from ON orders(placed_from) WHERE finished_at IS NULL;
CREATE TRIGGER orders_finish AFTER UPDATE OF status ON orders
WHEN (new.status IN ('completed', 'cancelled')) <> (old.status IN ('completed', 'cancelled'))
BEGIN
    UPDATE orders SET finished_at = CASE WHEN new.status IN ('completed', 'cancelled')
                                         THEN new.updated_at END
    WHERE id = new.id;
END;
CREATE TRIGGER orders_finished_at_birth AFTER INSERT ON orders
WHEN new.status IN ('completed', 'cancelled')
BEGIN
    UPDATE orders SET finished_at = new.updated_at WHERE id = new.id;
END;

-- No query needs these any more: reports over the whole venue probe each
-- shop's orders_shop_created, retention too, and every query of open
-- orders by stage repeats the open clause of orders_open_code. Each wrote
-- a page per order, orders_status two per stage move.
DROP INDEX orders_created;
DROP INDEX orders_status;

-- As in 016: the rollups follow each order that finishes (or reopens).
CREATE TRIGGER report_order_finished AFTER INSERT ON order_events
WHEN new.to_status IN ('completed', 'cancelled') OR new.from_status IN ('completed', 'cancelled')
BEGIN
    INSERT INTO report_quarters (shop_id, quarter, completed, cancelled, revenue_cents,
                                 prep_orders, prep_ms)
    SELECT shop_id, quarter, sign * (kind = 'completed'), sign * (kind = 'cancelled'),
           sign * (kind = 'completed') * total_cents, sign * (took IS NOT NULL),
           sign * coalesce(took, 0)
    FROM (SELECT o.shop_id, o.created_at / 900000 AS quarter, o.total_cents,
                 (SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id
                    AND e.to_status = 'ready' AND e.id < new.id) - o.created_at AS took,
                 CASE WHEN new.to_status IN ('completed', 'cancelled') THEN 1 ELSE -1 END AS sign,
                 CASE WHEN new.to_status IN ('completed', 'cancelled') THEN new.to_status
                      ELSE new.from_status END AS kind
          FROM orders o WHERE o.id = new.order_id)
    WHERE true
    ON CONFLICT (shop_id, quarter) DO UPDATE SET
        completed = completed + excluded.completed,
        cancelled = cancelled + excluded.cancelled,
        revenue_cents = revenue_cents + excluded.revenue_cents,
        prep_orders = prep_orders + excluded.prep_orders,
        prep_ms = prep_ms + excluded.prep_ms;

    INSERT INTO report_prep (shop_id, quarter, minute, orders)
    SELECT shop_id, quarter, min(max(took, 0) / 60000, 1440),
           CASE WHEN new.to_status IN ('completed', 'cancelled') THEN 1 ELSE -1 END
    FROM (SELECT o.shop_id, o.created_at / 900000 AS quarter,
                 (SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id
                    AND e.to_status = 'ready' AND e.id < new.id) - o.created_at AS took
          FROM orders o WHERE o.id = new.order_id)
    WHERE took IS NOT NULL
    ON CONFLICT (shop_id, quarter, minute) DO UPDATE SET orders = orders + excluded.orders;

    INSERT INTO report_items (shop_id, quarter, name, options, qty, revenue_cents)
    SELECT o.shop_id, o.created_at / 900000, oi.name,
           coalesce((SELECT group_concat(x.label, ', ') FROM
               (SELECT group_name || ': ' || name AS label FROM order_line_options
                WHERE line_id = oi.id ORDER BY group_name, name) x), '') AS opts,
           sum(oi.qty) * (CASE WHEN new.to_status = 'completed' THEN 1 ELSE -1 END),
           sum(oi.line_total_cents) * (CASE WHEN new.to_status = 'completed' THEN 1 ELSE -1 END)
    FROM orders o JOIN order_items oi ON oi.order_id = o.id
    WHERE o.id = new.order_id
      AND (new.to_status = 'completed' OR new.from_status = 'completed')
    GROUP BY oi.name, opts
    ON CONFLICT (shop_id, quarter, name, options) DO UPDATE SET
        qty = qty + excluded.qty,
        revenue_cents = revenue_cents + excluded.revenue_cents;
END;
