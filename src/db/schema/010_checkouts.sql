-- One cart across shops becomes a checkout: one order per shop, placed in
-- one transaction. Carts themselves live in memory (editing one must not
-- wear flash); only what was ordered is stored.
CREATE TABLE checkouts (
    id                  INTEGER PRIMARY KEY,
    client_ref          TEXT NOT NULL UNIQUE,
    customer_token_hash TEXT NOT NULL,
    request_hash        TEXT NOT NULL,
    created_at          INTEGER NOT NULL
);

ALTER TABLE orders ADD COLUMN checkout_id INTEGER REFERENCES checkouts(id);
-- The start of the 15-minute pickup slot asked for (UTC ms); NULL: as soon
-- as possible.
ALTER TABLE orders ADD COLUMN pickup_at INTEGER;
-- A scheduled order reaches the kitchen board at this instant (its slot
-- less its preparation minutes); 0 once it is there.
ALTER TABLE orders ADD COLUMN release_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_checkout ON orders(checkout_id) WHERE checkout_id IS NOT NULL;
CREATE INDEX orders_release ON orders(release_at) WHERE release_at > 0;
CREATE INDEX orders_slot ON orders(shop_id, pickup_at) WHERE pickup_at IS NOT NULL;

-- Pickup slots: the shop's hours (minutes after local midnight; NULL: no
-- hours, any slot today) and at most slot_cap orders per slot (0: no cap).
ALTER TABLE shops ADD COLUMN opens_minute INTEGER;
ALTER TABLE shops ADD COLUMN closes_minute INTEGER;
ALTER TABLE shops ADD COLUMN slot_cap INTEGER NOT NULL DEFAULT 0;
