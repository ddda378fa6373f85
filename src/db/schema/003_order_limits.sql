-- Hardening of placement: a replayed client_ref must match the original
-- request (request_hash), open orders are limited per client address
-- (placed_from), and per-shop checks of open orders must not scan history.

ALTER TABLE orders ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN placed_from TEXT NOT NULL DEFAULT '';

-- Open orders only: stays small however long the history grows. Queries
-- repeat this WHERE clause word for word so SQLite can use the indexes.
CREATE INDEX orders_open_code ON orders(shop_id, pickup_code)
    WHERE status IN ('placed', 'accepted', 'preparing', 'ready');
CREATE INDEX orders_open_from ON orders(placed_from)
    WHERE status IN ('placed', 'accepted', 'preparing', 'ready');
