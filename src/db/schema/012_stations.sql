-- Kitchen stations: where a shop's items are made, which items go where,
-- and each station's "done" on an order.

-- A removed station is only marked: its past marks keep their figures.
CREATE TABLE stations (
    id       INTEGER PRIMARY KEY,
    shop_id  INTEGER NOT NULL REFERENCES shops(id),
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    deleted  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX stations_shop_name ON stations(shop_id, name) WHERE deleted = 0;

-- An item's station; an item without a row goes to no station (the keeper).
CREATE TABLE station_items (
    item_id    INTEGER PRIMARY KEY REFERENCES menu_items(id),
    station_id INTEGER NOT NULL REFERENCES stations(id)
);
CREATE INDEX station_items_station ON station_items(station_id);

-- A station has made its items of an order (undo deletes the row).
CREATE TABLE order_stations (
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    station_id INTEGER NOT NULL REFERENCES stations(id),
    -- How many items it made, counted when it marked them done.
    items      INTEGER NOT NULL,
    user_id    INTEGER REFERENCES users(id),
    done_at    INTEGER NOT NULL,
    PRIMARY KEY (order_id, station_id)
) WITHOUT ROWID;
CREATE INDEX order_stations_done ON order_stations(station_id, done_at);

-- Whatever deletes an order (retention) takes its marks with it first.
CREATE TRIGGER order_stations_go_with_their_order BEFORE DELETE ON orders
BEGIN
    DELETE FROM order_stations WHERE order_id = old.id;
END;
