-- Tables of the venue, each with a QR code: `code` names the table in its
-- link and never changes; `secret` travels beside it and is replaced when
-- the owner reprints, so a guessed or old link joins no one's cart.
CREATE TABLE venue_tables (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    area TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- A shop's promo codes. `kind` is 'percent' (value 1-100) or 'fixed'
-- (value in minor units); times are UTC ms, NULL for no bound. `used`
-- only grows, by one per checkout that claimed the code.
CREATE TABLE promo_codes (
    id INTEGER PRIMARY KEY,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    value INTEGER NOT NULL,
    min_subtotal_cents INTEGER NOT NULL DEFAULT 0,
    starts_at INTEGER,
    ends_at INTEGER,
    use_limit INTEGER,
    used INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (shop_id, code)
);

-- What a shop announces to customers, for a time; it may name some items.
CREATE TABLE promotions (
    id INTEGER PRIMARY KEY,
    shop_id INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    starts_at INTEGER,
    ends_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX promotions_shop ON promotions(shop_id);

CREATE TABLE promotion_items (
    promotion_id INTEGER NOT NULL REFERENCES promotions(id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES menu_items(id) ON DELETE CASCADE,
    PRIMARY KEY (promotion_id, item_id)
) WITHOUT ROWID;
