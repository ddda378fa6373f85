-- Wi-Fi clients of the captive portal, one row per device: its current IP,
-- its MAC where the ARP table knew it, and its acceptance of the portal.
-- A row found by MAC follows the device to a new IP. Times are UTC ms.

CREATE TABLE clients (
    id          INTEGER PRIMARY KEY,
    ip          TEXT UNIQUE,
    mac         TEXT,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    accepted_at INTEGER,
    expires_at  INTEGER
);
CREATE INDEX clients_mac ON clients(mac);
CREATE INDEX clients_expires ON clients(expires_at);
