-- What a checkout's promo code took off an order (total_cents is what is
-- left, so reports' revenue is net of it) and which code it was.
ALTER TABLE orders ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN promo_code TEXT NOT NULL DEFAULT '';
-- The table an order was placed at, and its name then: not a foreign key,
-- so deleting a table later leaves its orders (and tickets) as they were.
ALTER TABLE orders ADD COLUMN table_id INTEGER;
ALTER TABLE orders ADD COLUMN table_name TEXT NOT NULL DEFAULT '';
