-- Core schema: venue settings, accounts, shops, menus, orders.
-- Times are UTC milliseconds since the Unix epoch; money is integer cents.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'shopkeeper')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE shops (
    id            INTEGER PRIMARY KEY,
    owner_user_id INTEGER NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'suspended')),
    open          INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);
CREATE INDEX shops_owner ON shops(owner_user_id);

CREATE TABLE menu_items (
    id          INTEGER PRIMARY KEY,
    shop_id     INTEGER NOT NULL REFERENCES shops(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    available   INTEGER NOT NULL DEFAULT 1,
    position    INTEGER NOT NULL DEFAULT 0,
    -- Deleted items stay so that order history can still point at them.
    deleted     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX menu_items_shop ON menu_items(shop_id, deleted, position);

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    shop_id             INTEGER NOT NULL REFERENCES shops(id),
    client_ref          TEXT NOT NULL UNIQUE,
    customer_token_hash TEXT NOT NULL,
    customer_name       TEXT NOT NULL,
    note                TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL CHECK (status IN
                          ('placed', 'accepted', 'preparing', 'ready', 'completed', 'cancelled')),
    version             INTEGER NOT NULL,
    -- Id of the order's latest event: orders a shop's changes for long-poll.
    change_seq          INTEGER NOT NULL DEFAULT 0,
    pickup_code         TEXT NOT NULL,
    total_cents         INTEGER NOT NULL CHECK (total_cents >= 0),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX orders_shop_change ON orders(shop_id, change_seq);
CREATE INDEX orders_shop_status ON orders(shop_id, status);
CREATE INDEX orders_customer ON orders(customer_token_hash);

CREATE TABLE order_items (
    id               INTEGER PRIMARY KEY,
    order_id         INTEGER NOT NULL REFERENCES orders(id),
    item_id          INTEGER NOT NULL REFERENCES menu_items(id),
    -- Snapshots: a later menu edit must not rewrite what was ordered.
    name             TEXT NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    qty              INTEGER NOT NULL CHECK (qty > 0),
    line_total_cents INTEGER NOT NULL
);
CREATE INDEX order_items_order ON order_items(order_id);

CREATE TABLE order_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id      INTEGER NOT NULL REFERENCES orders(id),
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    actor_role    TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id),
    reason        TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id);
