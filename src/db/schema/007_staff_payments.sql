-- Pauses and payments at pickup.
-- A paused shop takes no orders until this UTC instant (NULL: not paused).
ALTER TABLE shops ADD COLUMN paused_until INTEGER;
-- The payment methods a shop takes at its counter, comma-separated.
ALTER TABLE shops ADD COLUMN payment_methods TEXT NOT NULL DEFAULT 'cash,card,upi';

-- Every payment and refund of an order, one row each, never changed: the
-- rows are the order's money events. Refunds carry no method or tip.
CREATE TABLE order_payments (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders(id),
    kind         TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    method       TEXT NOT NULL DEFAULT '',
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    tip_cents    INTEGER NOT NULL DEFAULT 0 CHECK (tip_cents >= 0),
    reason       TEXT NOT NULL DEFAULT '',
    user_id      INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX order_payments_order ON order_payments(order_id);
