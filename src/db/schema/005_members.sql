-- Shop membership: who works at which shop, as its keeper (who runs it and
-- its menu) or as staff (who works its order board). Every existing shop's
-- registrant becomes its keeper, so every account keeps working.

CREATE TABLE shop_members (
    shop_id    INTEGER NOT NULL REFERENCES shops(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    role       TEXT NOT NULL CHECK (role IN ('keeper', 'staff')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, user_id)
) WITHOUT ROWID;
CREATE INDEX shop_members_user ON shop_members(user_id);

INSERT INTO shop_members (shop_id, user_id, role, created_at)
    SELECT id, owner_user_id, 'keeper', created_at FROM shops;
