-- Real menus: categories with an order, items with tags, allergens, a
-- photo, preparation minutes, an optional stock count and time window;
-- option groups shared between a shop's items; shop-level ingredient
-- counts several items draw on, with their waste; and what each order took
-- from stock, so cancelling gives back exactly that.

CREATE TABLE categories (
    id       INTEGER PRIMARY KEY,
    shop_id  INTEGER NOT NULL REFERENCES shops(id),
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX categories_shop ON categories(shop_id, position);

-- The free-text categories items had become rows, in the order their
-- first item had.
INSERT INTO categories (shop_id, name, position)
    SELECT shop_id, MIN(category), MIN(position) FROM menu_items
    WHERE category != '' AND deleted = 0
    GROUP BY shop_id, category COLLATE NOCASE;

ALTER TABLE menu_items ADD COLUMN category_id INTEGER REFERENCES categories(id);
UPDATE menu_items SET category_id = (
    SELECT c.id FROM categories c
    WHERE c.shop_id = menu_items.shop_id AND c.name = menu_items.category COLLATE NOCASE
) WHERE category != '';
-- The old text column stays, unread: SQLite's DROP COLUMN runs
-- SQLite's own integrity check, which the router build omits
-- (openwrt/sqlite-options).

-- Tags and allergens are bit sets over fixed lists (ordering::menu), so a
-- filter is one AND per row.
ALTER TABLE menu_items ADD COLUMN tags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE menu_items ADD COLUMN allergens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE menu_items ADD COLUMN prep_minutes INTEGER NOT NULL DEFAULT 5;
-- NULL: not counted. Sold out at 0. Never below 0 (the stock updates
-- say so), but no CHECK: adding a column with one runs SQLite's integrity check,
-- which the router build omits.
ALTER TABLE menu_items ADD COLUMN stock INTEGER;
ALTER TABLE menu_items ADD COLUMN low_stock INTEGER NOT NULL DEFAULT 0;
-- Minutes after local midnight; NULL: always. `until` below `from` runs
-- past midnight.
ALTER TABLE menu_items ADD COLUMN window_from INTEGER;
ALTER TABLE menu_items ADD COLUMN window_until INTEGER;
-- The photo's file name beside the database ('' for none) and its size,
-- which counts against the venue's photo quota.
ALTER TABLE menu_items ADD COLUMN photo TEXT NOT NULL DEFAULT '';
ALTER TABLE menu_items ADD COLUMN photo_bytes INTEGER NOT NULL DEFAULT 0;
-- Lower-cased name and description: customers' search compares against it.
ALTER TABLE menu_items ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE menu_items SET search_text = lower(name || ' ' || description);

CREATE TABLE option_groups (
    id          INTEGER PRIMARY KEY,
    shop_id     INTEGER NOT NULL REFERENCES shops(id),
    name        TEXT NOT NULL,
    min_choices INTEGER NOT NULL CHECK (min_choices >= 0),
    max_choices INTEGER NOT NULL CHECK (max_choices >= 1 AND max_choices >= min_choices),
    -- Deleted groups stay: order lines keep their own snapshots, but a
    -- cart made before the deletion must be refused, not mispriced.
    deleted     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX option_groups_shop ON option_groups(shop_id);

CREATE TABLE options (
    id                INTEGER PRIMARY KEY,
    group_id          INTEGER NOT NULL REFERENCES option_groups(id),
    name              TEXT NOT NULL,
    price_delta_cents INTEGER NOT NULL,
    available         INTEGER NOT NULL DEFAULT 1,
    position          INTEGER NOT NULL DEFAULT 0,
    deleted           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX options_group ON options(group_id, position);

CREATE TABLE item_option_groups (
    item_id  INTEGER NOT NULL REFERENCES menu_items(id),
    group_id INTEGER NOT NULL REFERENCES option_groups(id),
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, group_id)
) WITHOUT ROWID;
CREATE INDEX item_option_groups_group ON item_option_groups(group_id);

-- What was chosen on an order line, as it was named and priced then.
CREATE TABLE order_line_options (
    line_id           INTEGER NOT NULL REFERENCES order_items(id),
    option_id         INTEGER NOT NULL REFERENCES options(id),
    group_name        TEXT NOT NULL,
    name              TEXT NOT NULL,
    price_delta_cents INTEGER NOT NULL
);
CREATE INDEX order_line_options_line ON order_line_options(line_id);
ALTER TABLE order_items ADD COLUMN note TEXT NOT NULL DEFAULT '';

CREATE TABLE ingredients (
    id        INTEGER PRIMARY KEY,
    shop_id   INTEGER NOT NULL REFERENCES shops(id),
    name      TEXT NOT NULL,
    stock     INTEGER NOT NULL CHECK (stock >= 0),
    low_stock INTEGER NOT NULL DEFAULT 0,
    deleted   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ingredients_shop ON ingredients(shop_id);

-- How many units of an ingredient one of the item uses.
CREATE TABLE item_ingredients (
    item_id       INTEGER NOT NULL REFERENCES menu_items(id),
    ingredient_id INTEGER NOT NULL REFERENCES ingredients(id),
    qty           INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (item_id, ingredient_id)
) WITHOUT ROWID;

CREATE TABLE waste (
    id            INTEGER PRIMARY KEY,
    shop_id       INTEGER NOT NULL REFERENCES shops(id),
    ingredient_id INTEGER NOT NULL REFERENCES ingredients(id),
    qty           INTEGER NOT NULL CHECK (qty > 0),
    reason        TEXT NOT NULL,
    user_id       INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX waste_shop ON waste(shop_id, created_at);

-- Units an order took from an item's or an ingredient's count: given back
-- when it is cancelled before preparation, whatever the recipe is by then.
CREATE TABLE order_stock (
    order_id      INTEGER NOT NULL REFERENCES orders(id),
    item_id       INTEGER REFERENCES menu_items(id),
    ingredient_id INTEGER REFERENCES ingredients(id),
    qty           INTEGER NOT NULL CHECK (qty > 0),
    CHECK ((item_id IS NULL) != (ingredient_id IS NULL))
);
CREATE INDEX order_stock_order ON order_stock(order_id);
